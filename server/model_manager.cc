#include "server/model_manager.h"

#include <algorithm>
#include <atomic>
#include <set>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "glog/logging.h"
#include "google/protobuf/util/message_differencer.h"
#include "server/version_policy.h"

namespace ember::server {

// One version number of one model.
struct ModelManager::Slot {
  int64_t version = 0;
  VersionState state = VersionState::kUnavailable;
  std::string reason;

  // The instance serving now, and what it was built from.
  std::shared_ptr<const ServableVersion> serving;
  FileInfo serving_info;
  uint64_t serving_config_gen = 0;

  // The load in flight (load_id 0: none) and what it reads.
  uint64_t load_id = 0;
  FileInfo loading_info;
  uint64_t loading_config_gen = 0;

  // The last failed load; the same record under the same config is not
  // retried.
  bool failed = false;
  FileInfo failed_info;
  uint64_t failed_config_gen = 0;

  // The instance taken out of service, until its last request ends.
  std::weak_ptr<const ServableVersion> retiring;

  std::shared_ptr<VersionStats> stats = std::make_shared<VersionStats>();
  bool in_repository = false;  // seen in the latest Apply
};

struct ModelManager::ModelState {
  std::string name;
  std::string config_path;
  std::optional<config::ModelConfig> config;
  std::string config_text;           // text of `config`
  bool config_rejected = false;      // rejected_config_text is set
  std::string rejected_config_text;  // last text that failed to parse
  uint64_t config_gen = 0;
  std::string reason;  // model-level problem (scan, config)
  // Versions the policy selects from the latest look, and that look.
  std::set<int64_t> wanted;
  std::optional<ModelFiles> last_files;
  bool in_repository = false;
  bool disallowed = false;
  std::map<int64_t, Slot> slots;
};

struct ModelManager::ServingMap {
  struct Entry {
    std::map<int64_t, std::shared_ptr<const ServableVersion>> ready;
    // Versions known but not serving, with why.
    std::map<int64_t, std::pair<VersionState, std::string>> other;
    std::string reason;  // model-level problem
  };
  std::map<std::string, Entry, std::less<>> models;
};

struct ModelManager::LoadJob {
  std::string model;
  int64_t version = 0;
  uint64_t load_id = 0;
  config::ModelConfig config;
  std::string config_path;
  std::string record_path;
  FileInfo info;
  // With unload-first: the instance that must be released before loading.
  std::weak_ptr<const ServableVersion> wait_for;
};

namespace {

// Whether two configs build the same model from the same record: they
// differ at most in which versions are served (version_policy) and in the
// order of a swap (unload_first).
bool SameBuild(const config::ModelConfig& a, const config::ModelConfig& b) {
  config::ModelConfig x = a, y = b;
  for (config::ModelConfig* c : {&x, &y}) {
    c->clear_version_policy();
    c->clear_unload_first();
  }
  return google::protobuf::util::MessageDifferencer::Equals(x, y);
}

std::string VersionLabel(absl::string_view model, int64_t version) {
  return absl::StrCat("model ", model, " version ", version);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ModelManager>> ModelManager::Create(
    Options options) {
  if (!options.loader) {
    return absl::InvalidArgumentError("ModelManager needs a loader");
  }
  if (!options.config_parser) {
    return absl::InvalidArgumentError("ModelManager needs a config parser");
  }
  return std::unique_ptr<ModelManager>(new ModelManager(std::move(options)));
}

ModelManager::ModelManager(Options options)
    : options_(std::move(options)),
      serving_(std::make_shared<const ServingMap>()),
      load_pool_(std::make_unique<ThreadPool>("load", options_.load_threads)) {}

ModelManager::~ModelManager() {
  {
    absl::MutexLock lock(&mu_);
    shutting_down_ = true;
  }
  load_pool_.reset();  // waits for loads in progress; queued ones return
  Garbage garbage;
  {
    absl::MutexLock lock(&mu_);
    models_.clear();
    garbage.swap(garbage_);
  }
  std::atomic_store(&serving_, std::shared_ptr<const ServingMap>());
}

void ModelManager::Apply(const RepositorySnapshot& snapshot) {
  Garbage garbage;
  {
    absl::MutexLock lock(&mu_);
    if (!repository_error_.ok()) {
      LOG(INFO) << "model repository " << snapshot.root << " readable again";
      repository_error_ = absl::OkStatus();
    }
    for (auto& [name, model] : models_) model->in_repository = false;
    for (const auto& [name, files] : snapshot.models) ApplyModel(files);
    for (auto& [name, model] : models_) {
      if (model->in_repository) continue;
      for (auto& [version, slot] : model->slots) {
        slot.in_repository = false;
        Retire(*model, slot, "model removed from the repository");
      }
    }
    CollectIdle();
    PublishLocked();
    garbage.swap(garbage_);
  }
  AfterChange(std::move(garbage));
}

void ModelManager::ReportRepositoryError(const absl::Status& error) {
  {
    absl::MutexLock lock(&mu_);
    if (repository_error_ == error) return;
    repository_error_ = error;
    ++generation_;
  }
  LOG(ERROR) << error.message() << "; keeping every model as it is";
  AfterChange({});
}

void ModelManager::ApplyModel(const ModelFiles& files) {
  std::unique_ptr<ModelState>& entry = models_[files.name];
  if (entry == nullptr) {
    entry = std::make_unique<ModelState>();
    entry->name = files.name;
    LOG(INFO) << "model " << files.name << ": found in the repository";
  }
  ModelState& model = *entry;
  const bool newly_unusable =
      !files.unusable_records.empty() &&
      (!model.last_files.has_value() ||
       files.unusable_records != model.last_files->unusable_records);
  if (newly_unusable) {
    LOG(WARNING) << "model " << files.name << ": "
                 << absl::StrJoin(files.unusable_records, "; ");
  }
  model.last_files = files;
  model.in_repository = true;
  model.config_path = files.config_path;
  for (auto& [version, slot] : model.slots) {
    slot.in_repository = files.versions.count(version) > 0;
  }

  if (!files.status.ok()) {
    // Keep what is serving: a model that cannot be read now is not a model
    // that was removed.
    const std::string reason =
        absl::StrCat("cannot read model directory: ", files.status.message());
    if (model.reason != reason) {
      LOG(ERROR) << "model " << model.name << ": " << reason;
      model.reason = reason;
    }
    for (auto& [version, slot] : model.slots) slot.in_repository = true;
    return;
  }
  if (!files.config_complete) {
    for (auto& [version, slot] : model.slots) slot.in_repository = true;
    return;  // config.pbtxt is being written; look again later
  }
  if (!UpdateConfig(model, files)) {
    // Without a usable config nothing new loads, but a version whose
    // directory is gone still leaves service.
    for (auto& [version, slot] : model.slots) {
      if (!slot.in_repository) {
        Retire(model, slot, "version removed from the repository");
      }
    }
    return;
  }
  if (model.disallowed) return;

  // Candidates: complete records, plus versions whose record is being
  // rewritten (they keep serving what they have).
  std::map<int64_t, const VersionFiles*> candidates;
  std::set<int64_t> available;
  for (const auto& [version, vf] : files.versions) {
    auto slot = model.slots.find(version);
    const bool busy =
        slot != model.slots.end() &&
        (slot->second.serving != nullptr || slot->second.load_id != 0);
    // A version whose current record already failed (and that serves
    // nothing) does not count: latest-N falls back to older versions.
    const bool failed_here =
        slot != model.slots.end() && slot->second.serving == nullptr &&
        slot->second.failed &&
        slot->second.failed_info.SameContent(vf.record_info) &&
        slot->second.failed_config_gen == model.config_gen;
    if (vf.complete && !failed_here) {
      candidates[version] = &vf;
      available.insert(version);
    } else if (busy) {
      available.insert(version);
    }
  }
  const std::set<int64_t> wanted =
      SelectVersions(model.config->version_policy(), available);

  for (int64_t version : wanted) {
    auto it = candidates.find(version);
    if (it == candidates.end()) continue;  // busy and being rewritten
    EnsureLoaded(model, version, it->second->record_path,
                 it->second->record_info);
  }
  model.wanted = wanted;
  RetireUnwanted(model);
}

void ModelManager::RetireUnwanted(ModelState& model) {
  // Availability first: versions the policy no longer wants keep serving
  // until every wanted version serves (a failed replacement therefore
  // leaves the old version in service).
  bool wanted_serving = true;
  for (int64_t version : model.wanted) {
    auto it = model.slots.find(version);
    wanted_serving = wanted_serving && it != model.slots.end() &&
                     it->second.serving != nullptr;
  }
  const bool unload_first =
      options_.unload_first ||
      (model.config.has_value() && model.config->unload_first());
  for (auto& [version, slot] : model.slots) {
    if (model.wanted.count(version) > 0) continue;
    if (!slot.in_repository) {
      Retire(model, slot, "version removed from the repository");
    } else if (wanted_serving || unload_first || slot.serving == nullptr) {
      Retire(model, slot,
             absl::StrCat("not selected by version policy ",
                          DescribePolicy(model.config->version_policy())));
    } else if (slot.state == VersionState::kReady) {
      slot.reason =
          "kept serving until the versions the policy selects "
          "are ready";
    }
  }
}

bool ModelManager::UpdateConfig(ModelState& model, const ModelFiles& files) {
  if (model.config.has_value() && files.config_text == model.config_text) {
    if (!model.reason.empty()) {
      LOG(INFO) << "model " << model.name << ": problem cleared";
    }
    model.reason.clear();
    return true;
  }
  if (model.config_rejected &&
      files.config_text == model.rejected_config_text) {
    return false;  // already reported; the model stays as it is
  }
  absl::StatusOr<config::ModelConfig> parsed =
      options_.config_parser(files.config_text, files.config_path);
  if (parsed.ok() && !parsed->name().empty() && parsed->name() != model.name) {
    parsed = absl::InvalidArgumentError(absl::StrCat(
        files.config_path, ": name \"", parsed->name(),
        "\" differs from the model directory \"", model.name, "\""));
  }
  if (!parsed.ok()) {
    model.config_rejected = true;
    model.rejected_config_text = files.config_text;
    model.reason = absl::StrCat("invalid config: ", parsed.status().message());
    if (model.config.has_value()) {
      absl::StrAppend(&model.reason, "; still serving with the previous one");
    }
    LOG(ERROR) << "model " << model.name << ": " << model.reason;
    return false;
  }
  const bool first = !model.config.has_value();
  // A change of the version policy or of unload_first alone keeps every
  // loaded version: rebuilding them would cost a load each (and, with
  // unload_first, an outage) for nothing.
  const bool rebuild = first || !SameBuild(*model.config, *parsed);
  model.config = *std::move(parsed);
  model.config_text = files.config_text;
  model.config_rejected = false;
  model.rejected_config_text.clear();
  model.reason.clear();
  if (rebuild) ++model.config_gen;
  LOG(INFO) << "model " << model.name << ": config "
            << (first     ? "read"
                : rebuild ? "changed, rebuilding its versions"
                          : "changed, loaded versions kept")
            << " (version policy "
            << DescribePolicy(model.config->version_policy()) << ")";
  return true;
}

void ModelManager::EnsureLoaded(ModelState& model, int64_t version,
                                const std::string& record_path,
                                const FileInfo& info) {
  Slot& slot = model.slots[version];
  slot.version = version;
  slot.in_repository = true;
  const uint64_t gen = model.config_gen;
  const bool serving_matches = slot.serving != nullptr &&
                               slot.serving_info.SameContent(info) &&
                               slot.serving_config_gen == gen;
  if (slot.load_id != 0 && slot.loading_info.SameContent(info) &&
      slot.loading_config_gen == gen) {
    return;  // already loading exactly this
  }
  if (serving_matches) {
    if (slot.load_id != 0) {
      // The record went back to what is serving: drop the newer load.
      slot.load_id = 0;
      slot.state = VersionState::kReady;
      slot.reason.clear();
    }
    return;
  }
  if (slot.failed && slot.failed_info.SameContent(info) &&
      slot.failed_config_gen == gen) {
    return;  // this exact record already failed; wait for a change
  }
  StartLoad(model, slot, record_path, info);
}

void ModelManager::StartLoad(ModelState& model, Slot& slot,
                             const std::string& record_path,
                             const FileInfo& info) {
  LoadJob job;
  job.model = model.name;
  job.version = slot.version;
  job.load_id = ++next_load_id_;
  job.config = *model.config;
  job.config_path = model.config_path;
  job.record_path = record_path;
  job.info = info;

  slot.load_id = job.load_id;
  slot.loading_info = info;
  slot.loading_config_gen = model.config_gen;
  slot.failed = false;

  const bool unload_first = options_.unload_first || job.config.unload_first();
  if (slot.serving != nullptr && unload_first) {
    LOG(INFO) << VersionLabel(model.name, slot.version)
              << ": unloading first (unload_first) before loading "
              << record_path;
    job.wait_for = slot.serving;
    slot.retiring = slot.serving;
    garbage_.push_back(std::move(slot.serving));
    slot.serving = nullptr;
  }
  if (slot.serving != nullptr) {
    slot.state = VersionState::kReady;
    slot.reason = absl::StrCat("loading ", record_path,
                               "; the previous record serves until then");
  } else {
    slot.state = VersionState::kLoading;
    slot.reason.clear();
  }
  LOG(INFO) << VersionLabel(model.name, slot.version) << ": loading "
            << record_path;
  load_pool_->Schedule([this, job = std::move(job)] { RunLoad(job); });
}

void ModelManager::Retire(ModelState& model, Slot& slot,
                          const std::string& why) {
  if (slot.load_id != 0) {
    LOG(INFO) << VersionLabel(model.name, slot.version) << ": load cancelled ("
              << why << ")";
    slot.load_id = 0;
  }
  slot.failed = false;
  if (slot.serving != nullptr) {
    LOG(INFO) << VersionLabel(model.name, slot.version) << ": unloading ("
              << why << "); requests in flight finish first";
    slot.retiring = slot.serving;
    garbage_.push_back(std::move(slot.serving));
    slot.serving = nullptr;
    slot.state = VersionState::kUnloading;
    slot.reason = why;
    return;
  }
  if (slot.state == VersionState::kUnloading) return;
  if (slot.state != VersionState::kUnavailable || slot.reason.empty()) {
    slot.state = VersionState::kUnavailable;
    slot.reason = why;
  }
}

void ModelManager::RunLoad(const LoadJob& job) {
  // Unload-first: wait for the requests still holding the old instance.
  while (!job.wait_for.expired()) {
    absl::MutexLock lock(&mu_);
    if (shutting_down_) return;
    mu_.AwaitWithTimeout(absl::Condition(&shutting_down_),
                         absl::Milliseconds(5));
  }
  {
    absl::MutexLock lock(&mu_);
    if (shutting_down_) return;
    auto model = models_.find(job.model);
    if (model == models_.end()) return;
    auto slot = model->second->slots.find(job.version);
    if (slot == model->second->slots.end() ||
        slot->second.load_id != job.load_id) {
      return;  // superseded or cancelled before it started
    }
  }

  const absl::Time start = absl::Now();
  absl::StatusOr<std::shared_ptr<const model::Model>> result =
      options_.loader(job.config, job.config_path, job.record_path);
  const absl::Duration took = absl::Now() - start;
  bool record_changed = false;
  if (options_.fs != nullptr) {
    absl::StatusOr<FileInfo> after = options_.fs->Stat(job.record_path);
    record_changed = !after.ok() || !after->SameContent(job.info);
  }
  VLOG(1) << VersionLabel(job.model, job.version) << ": load took "
          << absl::FormatDuration(absl::Now() - start);

  Garbage garbage;
  {
    absl::MutexLock lock(&mu_);
    if (!shutting_down_) {
      FinishLoad(job, std::move(result), record_changed, took);
    }
    garbage.swap(garbage_);
  }
  // `result` (when discarded) and the garbage are released here, unlocked.
  AfterChange(std::move(garbage));
}

void ModelManager::FinishLoad(
    const LoadJob& job,
    absl::StatusOr<std::shared_ptr<const model::Model>> result,
    bool record_changed, absl::Duration took) {
  auto model_it = models_.find(job.model);
  if (model_it == models_.end()) return;
  ModelState& model = *model_it->second;
  auto slot_it = model.slots.find(job.version);
  if (slot_it == model.slots.end() || slot_it->second.load_id != job.load_id) {
    LOG(INFO) << VersionLabel(job.model, job.version) << ": load of "
              << job.record_path << " superseded; result discarded";
    if (result.ok()) garbage_.push_back(std::move(*result));
    return;
  }
  Slot& slot = slot_it->second;
  slot.load_id = 0;
  const std::string label = VersionLabel(job.model, job.version);

  if (record_changed) {
    // The bytes read may mix two writes; never serve them. The change was
    // (or will be) seen by the watcher, which asks for the new content.
    LOG(INFO) << label << ": " << job.record_path
              << " changed while loading; waiting for the new content";
    if (result.ok()) garbage_.push_back(std::move(*result));
    slot.state =
        slot.serving != nullptr ? VersionState::kReady : VersionState::kLoading;
    slot.reason = "record changed while loading; waiting for it to settle";
    PublishLocked();
    return;
  }
  slot.stats->RecordLoad(took, result.status());
  if (!result.ok()) {
    slot.failed = true;
    slot.failed_info = job.info;
    slot.failed_config_gen = slot.loading_config_gen;
    const std::string error = absl::StrCat("failed to load ", job.record_path,
                                           ": ", result.status().message());
    if (slot.serving != nullptr) {
      slot.state = VersionState::kReady;
      slot.reason = absl::StrCat(error, "; still serving the previous record");
    } else {
      slot.state = VersionState::kUnavailable;
      slot.reason = error;
    }
    LOG(ERROR) << label << ": " << slot.reason;
    if (model.last_files.has_value() && model.in_repository) {
      // Select again without the failed version (latest-N falls back).
      const ModelFiles files = *model.last_files;
      ApplyModel(files);
    } else {
      RetireUnwanted(model);
    }
    PublishLocked();
    return;
  }

  std::shared_ptr<const ServableVersion> fresh =
      MakeServable(model, slot, job.record_path, *std::move(result));
  const bool replaced = slot.serving != nullptr;
  if (replaced) garbage_.push_back(std::move(slot.serving));
  slot.serving = std::move(fresh);
  slot.serving_info = job.info;
  slot.serving_config_gen = slot.loading_config_gen;
  slot.state = VersionState::kReady;
  slot.reason.clear();
  LOG(INFO) << label << ": "
            << (replaced ? "swapped in the new record " : "ready, serving ")
            << job.record_path << " (" << slot.serving->model->parameter_bytes()
            << " parameter bytes)";
  RetireUnwanted(model);
  PublishLocked();
}

std::shared_ptr<const ServableVersion> ModelManager::MakeServable(
    const ModelState& model, const Slot& slot, const std::string& path,
    std::shared_ptr<const model::Model> built) const {
  auto* servable = new ServableVersion;
  servable->model_name = model.name;
  servable->version = slot.version;
  servable->record_path = path;
  servable->config = *model.config;
  servable->model = std::move(built);
  servable->stats = slot.stats;
  servable->loaded_at = absl::Now();
  // The deleter runs wherever the last holder lets go (often a request
  // thread), after the version left service: it only logs.
  return std::shared_ptr<const ServableVersion>(
      servable, [](const ServableVersion* s) {
        LOG(INFO) << VersionLabel(s->model_name, s->version) << ": instance of "
                  << s->record_path << " released (last request finished)";
        delete s;
      });
}

void ModelManager::CollectIdle() {
  for (auto model_it = models_.begin(); model_it != models_.end();) {
    ModelState& model = *model_it->second;
    for (auto it = model.slots.begin(); it != model.slots.end();) {
      const Slot& slot = it->second;
      const bool idle = slot.serving == nullptr && slot.load_id == 0 &&
                        slot.retiring.expired();
      if (idle && !slot.in_repository) {
        it = model.slots.erase(it);
      } else {
        ++it;
      }
    }
    if (!model.in_repository && model.slots.empty()) {
      LOG(INFO) << "model " << model.name << ": removed";
      model_it = models_.erase(model_it);
    } else {
      ++model_it;
    }
  }
}

void ModelManager::PublishLocked() {
  auto map = std::make_shared<ServingMap>();
  for (const auto& [name, model] : models_) {
    ServingMap::Entry& entry = map->models[name];
    entry.reason = model->reason;
    for (const auto& [version, slot] : model->slots) {
      if (slot.serving != nullptr) {
        entry.ready[version] = slot.serving;
      } else {
        const VersionStatus status = StatusOf(*model, slot);
        entry.other[version] = {status.state, status.reason};
      }
    }
  }
  ++generation_;
  std::shared_ptr<const ServingMap> old =
      std::atomic_exchange(&serving_, std::shared_ptr<const ServingMap>(map));
  garbage_.push_back(std::move(old));
}

void ModelManager::AfterChange(Garbage garbage) {
  garbage.clear();
  {
    absl::MutexLock lock(&mu_);
    if (shutting_down_) return;  // the listener may be going away too
  }
  if (options_.on_change) options_.on_change();
}

VersionStatus ModelManager::StatusOf(const ModelState& model,
                                     const Slot& slot) const {
  VersionStatus status;
  status.model = model.name;
  status.version = slot.version;
  status.state = slot.state;
  status.reason = slot.reason;
  if (slot.state == VersionState::kUnloading && slot.load_id == 0 &&
      slot.retiring.expired()) {
    status.state = VersionState::kUnavailable;
    status.reason = absl::StrCat("unloaded: ", slot.reason);
  }
  if (slot.load_id != 0 && slot.serving == nullptr) {
    status.state = VersionState::kLoading;
  }
  return status;
}

absl::StatusOr<std::shared_ptr<const ServableVersion>> ModelManager::Acquire(
    absl::string_view model, absl::string_view version) const {
  std::shared_ptr<const ServingMap> map = std::atomic_load(&serving_);
  auto it = map->models.find(model);
  if (it == map->models.end()) {
    return absl::NotFoundError(
        absl::StrCat("model \"", model, "\" is not in the repository"));
  }
  const ServingMap::Entry& entry = it->second;
  if (version.empty()) {
    if (!entry.ready.empty()) return entry.ready.rbegin()->second;
    for (const auto& [v, state] : entry.other) {
      if (state.first == VersionState::kLoading) {
        return absl::UnavailableError(
            absl::StrCat("model \"", model, "\" is loading"));
      }
    }
    std::string why = entry.reason;
    if (why.empty() && !entry.other.empty()) {
      why = entry.other.rbegin()->second.second;
    }
    return absl::UnavailableError(absl::StrCat("model \"", model,
                                               "\" has no ready version",
                                               why.empty() ? "" : ": ", why));
  }
  int64_t number = 0;
  if (!absl::SimpleAtoi(version, &number) || number <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model version \"", version, "\" is not a positive integer"));
  }
  auto ready = entry.ready.find(number);
  if (ready != entry.ready.end()) return ready->second;
  auto other = entry.other.find(number);
  if (other == entry.other.end()) {
    return absl::NotFoundError(
        absl::StrCat("model \"", model, "\" has no version ", number));
  }
  return absl::UnavailableError(absl::StrCat(
      "model \"", model, "\" version ", number, " is ",
      VersionStateName(other->second.first),
      other->second.second.empty() ? "" : ": ", other->second.second));
}

std::vector<std::shared_ptr<const ServableVersion>> ModelManager::ReadyVersions(
    absl::string_view model) const {
  std::shared_ptr<const ServingMap> map = std::atomic_load(&serving_);
  std::vector<std::shared_ptr<const ServableVersion>> result;
  for (const auto& [name, entry] : map->models) {
    if (!model.empty() && name != model) continue;
    for (const auto& [version, servable] : entry.ready) {
      result.push_back(servable);
    }
  }
  return result;
}

std::vector<VersionStatsEntry> ModelManager::StatsIndex(
    absl::string_view model_name) const {
  absl::MutexLock lock(&mu_);
  std::vector<VersionStatsEntry> entries;
  for (const auto& [name, model] : models_) {
    if (!model_name.empty() && name != model_name) continue;
    for (const auto& [version, slot] : model->slots) {
      VersionStatsEntry entry;
      entry.model = name;
      entry.version = version;
      entry.stats = slot.stats;
      if (slot.serving != nullptr) {
        entry.memory_bytes = slot.serving->model->parameter_bytes();
      }
      entries.push_back(std::move(entry));
    }
  }
  return entries;
}

std::vector<std::string> ModelManager::ModelNames() const {
  std::shared_ptr<const ServingMap> map = std::atomic_load(&serving_);
  std::vector<std::string> names;
  for (const auto& [name, entry] : map->models) names.push_back(name);
  return names;
}

absl::StatusOr<config::ModelConfig> ModelManager::CurrentConfig(
    const std::string& model) const {
  absl::MutexLock lock(&mu_);
  auto it = models_.find(model);
  if (it == models_.end() || !it->second->config.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("model \"", model, "\" has no config in use"));
  }
  return *it->second->config;
}

std::vector<VersionStatus> ModelManager::IndexLocked() const {
  std::vector<VersionStatus> index;
  for (const auto& [name, model] : models_) {
    std::string extra = model->reason;
    if (!repository_error_.ok()) {
      if (!extra.empty()) extra += "; ";
      absl::StrAppend(&extra, repository_error_.message(),
                      " (serving the last state read)");
    }
    if (model->slots.empty()) {
      VersionStatus status;
      status.model = name;
      status.state = VersionState::kUnavailable;
      std::string none = "no version with a record file";
      if (model->last_files.has_value() &&
          !model->last_files->unusable_records.empty()) {
        absl::StrAppend(
            &none, ": ",
            absl::StrJoin(model->last_files->unusable_records, "; "));
      }
      status.reason = extra.empty()
                          ? (model->disallowed ? "unloaded by request" : none)
                          : extra;
      index.push_back(std::move(status));
      continue;
    }
    for (const auto& [version, slot] : model->slots) {
      VersionStatus status = StatusOf(*model, slot);
      if (!extra.empty()) {
        status.reason =
            status.reason.empty() ? extra : status.reason + "; " + extra;
      }
      index.push_back(std::move(status));
    }
  }
  return index;
}

std::vector<VersionStatus> ModelManager::Index() const {
  absl::MutexLock lock(&mu_);
  return IndexLocked();
}

absl::Status ModelManager::DisallowModel(absl::string_view model_name) {
  Garbage garbage;
  {
    absl::MutexLock lock(&mu_);
    auto it = models_.find(std::string(model_name));
    if (it == models_.end()) {
      return absl::NotFoundError(
          absl::StrCat("model \"", model_name, "\" is not in the repository"));
    }
    ModelState& model = *it->second;
    model.disallowed = true;
    for (auto& [version, slot] : model.slots) {
      Retire(model, slot, "unloaded by request");
    }
    PublishLocked();
    garbage.swap(garbage_);
  }
  AfterChange(std::move(garbage));
  return absl::OkStatus();
}

void ModelManager::AllowModel(absl::string_view model_name) {
  absl::MutexLock lock(&mu_);
  auto it = models_.find(std::string(model_name));
  if (it == models_.end()) return;
  it->second->disallowed = false;
  // Failed loads get another chance on explicit request.
  for (auto& [version, slot] : it->second->slots) slot.failed = false;
}

absl::Status ModelManager::AwaitModelSettled(absl::string_view model_name,
                                             absl::Duration timeout) const {
  const std::string name(model_name);
  const absl::Time deadline = absl::Now() + timeout;
  absl::MutexLock lock(&mu_);
  while (true) {
    auto it = models_.find(name);
    if (it == models_.end()) {
      return absl::NotFoundError(
          absl::StrCat("model \"", name, "\" is not in the repository"));
    }
    bool loading = false;
    bool ready = false;
    std::string reason = it->second->reason;
    for (const auto& [version, slot] : it->second->slots) {
      loading = loading || slot.load_id != 0;
      ready = ready || slot.serving != nullptr;
      if (reason.empty() && !slot.reason.empty()) reason = slot.reason;
    }
    if (!loading) {
      if (ready) return absl::OkStatus();
      return absl::UnavailableError(
          absl::StrCat("model \"", name, "\" did not load",
                       reason.empty() ? "" : ": ", reason));
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("model \"", name, "\" is still loading"));
    }
    WaitForChangeLocked(deadline);
  }
}

absl::Status ModelManager::WaitUntilServing(absl::string_view model_name,
                                            int64_t version,
                                            absl::Time deadline) const {
  const std::string name(model_name);
  absl::MutexLock lock(&mu_);
  while (true) {
    if (stop_waiting_) {
      return absl::UnavailableError("server is shutting down");
    }
    auto it = models_.find(name);
    if (it != models_.end()) {
      const ModelState& model = *it->second;
      auto slot = model.slots.find(version);
      if (slot != model.slots.end()) {
        const Slot& s = slot->second;
        if (s.serving != nullptr && s.load_id == 0) return absl::OkStatus();
        const bool out_of_service = s.state == VersionState::kUnavailable ||
                                    s.state == VersionState::kUnloading;
        if (s.load_id == 0 && s.serving == nullptr && out_of_service &&
            !s.reason.empty()) {
          return absl::FailedPreconditionError(
              absl::StrCat(VersionLabel(name, version), ": ", s.reason));
        }
      } else if (model.last_files.has_value() && model.config.has_value()) {
        auto files = model.last_files->versions.find(version);
        if (files != model.last_files->versions.end() &&
            files->second.complete && model.wanted.count(version) == 0) {
          return absl::FailedPreconditionError(absl::StrCat(
              VersionLabel(name, version), ": not selected by version policy ",
              DescribePolicy(model.config->version_policy())));
        }
      }
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat(VersionLabel(name, version), ": not serving yet"));
    }
    WaitForChangeLocked(deadline);
  }
}

void ModelManager::StopWaiting() {
  absl::MutexLock lock(&mu_);
  stop_waiting_ = true;
  ++generation_;
}

bool ModelManager::AwaitVersionState(absl::string_view model_name,
                                     int64_t version, VersionState state,
                                     absl::Duration timeout) const {
  const std::string name(model_name);
  const absl::Time deadline = absl::Now() + timeout;
  absl::MutexLock lock(&mu_);
  while (true) {
    auto it = models_.find(name);
    if (it != models_.end()) {
      auto slot = it->second->slots.find(version);
      if (slot != it->second->slots.end() &&
          StatusOf(*it->second, slot->second).state == state) {
        return true;
      }
    }
    if (absl::Now() >= deadline) return false;
    // Releasing an instance (UNLOADING -> UNAVAILABLE) happens outside the
    // manager and bumps no generation, hence the short slices.
    WaitForChangeLocked(
        std::min(deadline, absl::Now() + absl::Milliseconds(10)));
  }
}

void ModelManager::WaitForChangeLocked(absl::Time deadline) const {
  struct Seen {
    const uint64_t* generation;
    uint64_t seen;
  } arg{&generation_, generation_};
  mu_.AwaitWithDeadline(
      absl::Condition(
          +[](Seen* s) { return *s->generation != s->seen; }, &arg),
      deadline);
}

}  // namespace ember::server
