#include "server/inference_service.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "glog/logging.h"
#include "server/infer_codec.h"
#include "server/triton_config.h"

namespace ember::server {
namespace {

constexpr char kPlatform[] = "ember_burn";

grpc::Status Draining() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, "server is shutting down");
}

void FillDuration(const DurationStat& from, inference::StatisticDuration* to) {
  to->set_count(from.count);
  to->set_ns(from.ns);
}

void FillTensorMetadata(const model::TensorSpec& spec,
                        inference::ModelMetadataResponse::TensorMetadata* out) {
  out->set_name(spec.name);
  out->set_datatype(std::string(model::DataTypeName(spec.type)));
  for (int64_t dim : spec.shape) out->add_shape(dim);
}

uint64_t Nanos(absl::Duration d) {
  return static_cast<uint64_t>(absl::ToInt64Nanoseconds(d));
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

InferenceService::InferenceService(Options options, ModelManager* manager,
                                   InferenceScheduler* scheduler,
                                   RepositoryWatcher* watcher,
                                   RequestGate* gate,
                                   const auth::AuthPolicy* auth)
    : options_(std::move(options)),
      manager_(manager),
      scheduler_(scheduler),
      watcher_(watcher),
      gate_(gate),
      auth_(auth) {}

grpc::Status InferenceService::Allowed(const grpc::ServerContext* context,
                                       auth::Permission permission) const {
  if (auth_ == nullptr) return grpc::Status::OK;
  return auth_->Check(*context, permission);
}

grpc::Status InferenceService::ServerLive(grpc::ServerContext*,
                                          const inference::ServerLiveRequest*,
                                          inference::ServerLiveResponse* out) {
  out->set_live(true);
  return grpc::Status::OK;
}

grpc::Status InferenceService::ServerReady(
    grpc::ServerContext*, const inference::ServerReadyRequest*,
    inference::ServerReadyResponse* out) {
  out->set_ready(!gate_->draining());
  return grpc::Status::OK;
}

grpc::Status InferenceService::ModelReady(
    grpc::ServerContext* context, const inference::ModelReadyRequest* request,
    inference::ModelReadyResponse* out) {
  if (grpc::Status allowed = Allowed(context, auth::Permission::kInfer);
      !allowed.ok()) {
    return allowed;
  }
  absl::StatusOr<std::shared_ptr<const ServableVersion>> servable =
      manager_->Acquire(request->name(), request->version());
  if (absl::IsNotFound(servable.status()) ||
      absl::IsInvalidArgument(servable.status())) {
    return ToGrpcStatus(servable.status());
  }
  out->set_ready(servable.ok() && !gate_->draining());
  return grpc::Status::OK;
}

grpc::Status InferenceService::ServerMetadata(
    grpc::ServerContext*, const inference::ServerMetadataRequest*,
    inference::ServerMetadataResponse* out) {
  out->set_name(options_.server_name);
  out->set_version(options_.server_version);
  out->add_extensions("model_repository");
  out->add_extensions("statistics");
  out->add_extensions("binary_tensor_data");
  out->add_extensions("model_configuration");
  return grpc::Status::OK;
}

grpc::Status InferenceService::ModelMetadata(
    grpc::ServerContext* context,
    const inference::ModelMetadataRequest* request,
    inference::ModelMetadataResponse* out) {
  std::shared_ptr<const ServableVersion> servable;
  if (grpc::Status found = AcquireAllowed(*context, request->name(),
                                          request->version(), &servable);
      !found.ok()) {
    return found;
  }
  out->set_name(request->name());
  out->set_platform(kPlatform);
  for (const auto& v : manager_->ReadyVersions(request->name())) {
    out->add_versions(absl::StrCat(v->version));
  }
  for (const auto& spec : servable->model->inputs()) {
    FillTensorMetadata(spec, out->add_inputs());
  }
  for (const auto& spec : servable->model->outputs()) {
    FillTensorMetadata(spec, out->add_outputs());
  }
  return grpc::Status::OK;
}

grpc::Status InferenceService::ModelInfer(
    grpc::ServerContext* context, const inference::ModelInferRequest* request,
    inference::ModelInferResponse* response) {
  if (grpc::Status allowed = Allowed(context, auth::Permission::kInfer);
      !allowed.ok()) {
    return allowed;
  }
  RequestGate::Pass pass(gate_);
  if (!pass.entered()) return Draining();
  absl::Status status = Infer(*request, response);
  if (!status.ok()) {
    VLOG(1) << "ModelInfer " << request->model_name() << " version \""
            << request->model_version() << "\" failed: " << status;
  }
  return ToGrpcStatus(status);
}

grpc::Status InferenceService::ModelStreamInfer(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<inference::ModelStreamInferResponse,
                             inference::ModelInferRequest>* stream) {
  if (grpc::Status allowed = Allowed(context, auth::Permission::kInfer);
      !allowed.ok()) {
    return allowed;
  }
  inference::ModelInferRequest request;
  while (stream->Read(&request)) {
    // Each request passes the gate on its own, so an open stream never
    // holds up a drain; once draining, the stream ends with UNAVAILABLE.
    RequestGate::Pass pass(gate_);
    if (!pass.entered()) return Draining();
    inference::ModelStreamInferResponse response;
    absl::Status status = Infer(request, response.mutable_infer_response());
    if (!status.ok()) {
      VLOG(1) << "ModelStreamInfer " << request.model_name() << " version \""
              << request.model_version() << "\" failed: " << status;
      response.clear_infer_response();
      response.set_error_message(std::string(status.message()));
    }
    if (!stream->Write(response)) break;  // the client went away
  }
  return grpc::Status::OK;
}

grpc::Status InferenceService::ModelConfig(
    grpc::ServerContext* context, const inference::ModelConfigRequest* request,
    inference::ModelConfigResponse* response) {
  std::shared_ptr<const ServableVersion> servable;
  if (grpc::Status found = AcquireAllowed(*context, request->name(),
                                          request->version(), &servable);
      !found.ok()) {
    return found;
  }
  // The version's own config, with the policy in force now (a policy
  // change keeps loaded versions as they are).
  config::ModelConfig config = servable->config;
  absl::StatusOr<config::ModelConfig> current =
      manager_->CurrentConfig(request->name());
  if (current.ok()) {
    *config.mutable_version_policy() = current->version_policy();
  }
  *response->mutable_config() =
      ToTritonConfig(request->name(), config, *servable->model);
  return grpc::Status::OK;
}

grpc::Status InferenceService::AcquireAllowed(
    const grpc::ServerContext& context, const std::string& name,
    const std::string& version,
    std::shared_ptr<const ServableVersion>* servable) const {
  if (grpc::Status allowed = Allowed(&context, auth::Permission::kInfer);
      !allowed.ok()) {
    return allowed;
  }
  absl::StatusOr<std::shared_ptr<const ServableVersion>> acquired =
      manager_->Acquire(name, version);
  if (!acquired.ok()) return ToGrpcStatus(acquired.status());
  *servable = *std::move(acquired);
  return grpc::Status::OK;
}

absl::Status InferenceService::Infer(
    const inference::ModelInferRequest& request,
    inference::ModelInferResponse* response) {
  const absl::Time start = absl::Now();
  absl::StatusOr<std::shared_ptr<const ServableVersion>> acquired =
      manager_->Acquire(request.model_name(), request.model_version());
  if (!acquired.ok()) return acquired.status();
  std::shared_ptr<const ServableVersion> servable = *std::move(acquired);
  const model::Model& model = *servable->model;
  auto fail = [&](absl::Status status) {
    servable->stats->RecordFailure(Nanos(absl::Now() - start), absl::Now());
    return status;
  };

  absl::Status outputs_ok = CheckRequestedOutputs(request, model.outputs());
  if (!outputs_ok.ok()) return fail(outputs_ok);
  absl::StatusOr<DecodedInputs> inputs =
      DecodeInputs(request, model.inputs(), servable->config.max_batch_size());
  if (!inputs.ok()) return fail(inputs.status());
  const absl::Time decoded = absl::Now();

  absl::Notification finished;
  InferenceResult result;
  InferenceTask task;
  task.servable = servable;
  task.inputs = std::move(inputs->tensors);
  task.done = [&](InferenceResult r) {
    result = std::move(r);
    finished.Notify();
  };
  absl::Status submitted = scheduler_->Submit(std::move(task));
  if (!submitted.ok()) return fail(submitted);
  finished.WaitForNotification();
  if (!result.outputs.ok()) return fail(result.outputs.status());

  const absl::Time encode_start = absl::Now();
  response->set_model_name(request.model_name());
  response->set_model_version(absl::StrCat(servable->version));
  response->set_id(request.id());
  absl::Status encoded =
      EncodeOutputs(request, model.outputs(), *result.outputs, response);
  if (!encoded.ok()) return fail(encoded);

  const absl::Time end = absl::Now();
  RequestTimings timings;
  timings.queue_ns = Nanos(result.queue_time);
  timings.input_ns = Nanos(decoded - start);
  timings.infer_ns = Nanos(result.infer_time);
  timings.output_ns = Nanos(end - encode_start);
  timings.total_ns = Nanos(end - start);
  servable->stats->RecordSuccess(static_cast<uint64_t>(inputs->batch_size),
                                 timings, end);
  return absl::OkStatus();
}

grpc::Status InferenceService::ModelStatistics(
    grpc::ServerContext* context,
    const inference::ModelStatisticsRequest* request,
    inference::ModelStatisticsResponse* out) {
  if (grpc::Status allowed = Allowed(context, auth::Permission::kInfer);
      !allowed.ok()) {
    return allowed;
  }
  std::vector<VersionStatsEntry> entries =
      manager_->StatsIndex(request->name());
  if (!request->name().empty() && entries.empty()) {
    return ToGrpcStatus(manager_->Acquire(request->name(), "").status());
  }
  if (!request->version().empty()) {
    int64_t version = 0;
    if (!absl::SimpleAtoi(request->version(), &version)) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("model version \"", request->version(),
                                       "\" is not a positive integer"));
    }
    std::vector<VersionStatsEntry> one;
    for (VersionStatsEntry& e : entries) {
      if (e.version == version) one.push_back(std::move(e));
    }
    if (one.empty()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          absl::StrCat("model \"", request->name(),
                                       "\" has no version ", version));
    }
    entries = std::move(one);
  }
  for (const VersionStatsEntry& v : entries) {
    const VersionStats::Snapshot s = v.stats->Get();
    inference::ModelStatistics* stats = out->add_model_stats();
    stats->set_name(v.model);
    stats->set_version(absl::StrCat(v.version));
    stats->set_last_inference(s.last_inference_ms);
    stats->set_inference_count(s.inference_count);
    stats->set_execution_count(s.execution_count);
    inference::InferStatistics* infer = stats->mutable_inference_stats();
    FillDuration(s.success, infer->mutable_success());
    FillDuration(s.fail, infer->mutable_fail());
    FillDuration(s.queue, infer->mutable_queue());
    FillDuration(s.compute_input, infer->mutable_compute_input());
    FillDuration(s.compute_infer, infer->mutable_compute_infer());
    FillDuration(s.compute_output, infer->mutable_compute_output());
    for (const auto& [batch, d] : s.batch_infer) {
      inference::InferBatchStatistics* b = stats->add_batch_stats();
      b->set_batch_size(batch);
      FillDuration(d, b->mutable_compute_infer());
    }
    if (v.memory_bytes > 0) {
      inference::MemoryUsage* memory = stats->add_memory_usage();
      memory->set_type("CPU");
      memory->set_id(0);
      memory->set_byte_size(static_cast<uint64_t>(v.memory_bytes));
    }
    FillDuration(s.load_success, stats->mutable_load_success());
    FillDuration(s.load_fail, stats->mutable_load_fail());
    stats->set_last_load_error(s.last_load_error);
  }
  return grpc::Status::OK;
}

grpc::Status InferenceService::RepositoryIndex(
    grpc::ServerContext* context,
    const inference::RepositoryIndexRequest* request,
    inference::RepositoryIndexResponse* out) {
  if (grpc::Status allowed = Allowed(context, auth::Permission::kInfer);
      !allowed.ok()) {
    return allowed;
  }
  for (const VersionStatus& status : manager_->Index()) {
    if (request->ready() && status.state != VersionState::kReady) continue;
    auto* entry = out->add_models();
    entry->set_name(status.model);
    if (status.version > 0) entry->set_version(absl::StrCat(status.version));
    entry->set_state(VersionStateName(status.state));
    entry->set_reason(status.reason);
  }
  return grpc::Status::OK;
}

grpc::Status InferenceService::RepositoryModelLoad(
    grpc::ServerContext* context,
    const inference::RepositoryModelLoadRequest* request,
    inference::RepositoryModelLoadResponse*) {
  if (grpc::Status allowed = Allowed(context, auth::Permission::kWrite);
      !allowed.ok()) {
    return allowed;
  }
  RequestGate::Pass pass(gate_);
  if (!pass.entered()) return Draining();
  for (const auto& [key, value] : request->parameters()) {
    if (key == "config" || absl::StartsWith(key, "file:")) {
      return grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          absl::StrCat("load parameter \"", key,
                       "\" is not supported: emberd loads what the model "
                       "repository holds; write the files there"));
    }
  }
  if (watcher_ == nullptr) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "no model repository is being watched");
  }
  LOG(INFO) << "model " << request->model_name() << ": load requested";
  manager_->AllowModel(request->model_name());
  const absl::Time deadline = absl::Now() + options_.load_timeout;
  while (true) {
    absl::Status scanned = watcher_->RescanNow();
    if (!scanned.ok()) return ToGrpcStatus(scanned);
    absl::Status settled = manager_->AwaitModelSettled(request->model_name(),
                                                       deadline - absl::Now());
    // Files still being written are not loaded yet: look again once they
    // had time to settle.
    if (settled.ok() || !watcher_->incomplete_pending() ||
        absl::Now() + watcher_->settle_time() >= deadline) {
      return ToGrpcStatus(settled);
    }
    absl::SleepFor(watcher_->settle_time());
  }
}

grpc::Status InferenceService::RepositoryModelUnload(
    grpc::ServerContext* context,
    const inference::RepositoryModelUnloadRequest* request,
    inference::RepositoryModelUnloadResponse*) {
  if (grpc::Status allowed = Allowed(context, auth::Permission::kWrite);
      !allowed.ok()) {
    return allowed;
  }
  RequestGate::Pass pass(gate_);
  if (!pass.entered()) return Draining();
  LOG(INFO) << "model " << request->model_name() << ": unload requested";
  return ToGrpcStatus(manager_->DisallowModel(request->model_name()));
}

}  // namespace ember::server
