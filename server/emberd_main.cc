// emberd: serves the models of a repository over gRPC (Open Inference
// Protocol), following the repository as it changes.
//
//   emberd --model_repository=/models --grpc_address=0.0.0.0:8001
//
// SIGTERM or SIGINT drains: health turns NOT_SERVING, new requests are
// refused, requests in flight get --drain_timeout to finish, then the
// process exits 0.

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "glog/logging.h"
#include "model/model_builder.h"
#include "server/auth/auth_policy.h"
#include "server/auth/tls_credentials.h"
#include "server/server.h"

ABSL_FLAG(std::string, model_repository, "",
          "Directory holding <model>/config.pbtxt and "
          "<model>/<version>/model.mpk. Required.");
ABSL_FLAG(std::string, grpc_address, "0.0.0.0:8001",
          "host:port to serve gRPC on; port 0 picks a free port (see "
          "--port_file).");
ABSL_FLAG(std::string, port_file, "",
          "When set, the bound port is written to this file (atomically, "
          "by rename) once the server accepts requests.");
ABSL_FLAG(absl::Duration, poll_interval, absl::Seconds(2),
          "Period of the full repository rescan, which backs up inotify and "
          "covers file systems without it (e.g. 2s, 500ms).");
ABSL_FLAG(absl::Duration, settle_time, absl::Milliseconds(500),
          "How long a record must stay unchanged before a rescan treats it "
          "as complete (records renamed into place or closed after writing "
          "are complete at once).");
ABSL_FLAG(int32_t, load_threads, 2, "Threads that build models.");
ABSL_FLAG(int32_t, inference_threads, 2,
          "Inferences that run at once, and threads that run queued ones.");
ABSL_FLAG(bool, inference_on_request_thread, true,
          "Run an inference on the thread that received the request when no "
          "request waits and fewer than --inference_threads run, saving the "
          "hand-off to an inference thread.");
ABSL_FLAG(int32_t, max_queue_size, 1024,
          "Inference requests allowed to wait for a thread; beyond that "
          "requests fail with RESOURCE_EXHAUSTED.");
ABSL_FLAG(bool, unload_first, false,
          "Unload a version before loading its replacement, for every model "
          "(halves peak memory during a swap, at the cost of a gap in "
          "availability). Per model: unload_first in config.pbtxt.");
ABSL_FLAG(int32_t, max_message_size, 256 << 20,
          "Largest gRPC message received or sent, in bytes.");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Seconds(30),
          "On SIGTERM/SIGINT, how long requests in flight may take to "
          "finish before the server stops.");
ABSL_FLAG(bool, inotify, true,
          "Watch the repository with inotify in addition to polling.");
ABSL_FLAG(std::string, tls_cert_file, "",
          "PEM certificate chain of the server; with --tls_key_file, serve "
          "TLS instead of plaintext.");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key of the server.");
ABSL_FLAG(std::string, tls_client_ca_file, "",
          "PEM CA bundle for client certificates: turns on mutual TLS.");
ABSL_FLAG(std::string, auth_token_file, "",
          "Bearer tokens per role (lines 'write: <token>', 'read: <token>', "
          "'infer: <token>'). Model RPCs need infer, RepositoryModelLoad/"
          "Unload need write. Without it every call is allowed.");
ABSL_FLAG(bool, records_service, true,
          "Serve ember.records.v1.Records (upload and download of records, "
          "uploads need the write token) on the same port.");
ABSL_FLAG(uint64_t, max_upload_bytes, uint64_t{4} << 30,
          "Largest record an upload may send, in bytes; larger uploads are "
          "refused with RESOURCE_EXHAUSTED before anything is written.");
ABSL_FLAG(int32_t, max_concurrent_uploads, 1,
          "Uploads processed at once (one stored as sent holds a few MiB; "
          "one converted about twice its record); further uploads wait "
          "for a slot.");
ABSL_FLAG(int32_t, max_concurrent_conversions, 1,
          "Downloads converted to another precision or format at once (each "
          "holds about three times the record); further ones wait.");
ABSL_FLAG(int32_t, verbosity, 0,
          "Verbose log level (glog VLOG); 1 logs each failed request and "
          "each record still being written.");

namespace {

// Writes `port` to `path` through a temporary file and a rename, so a
// reader never sees a partial number.
bool WritePortFile(const std::string& path, int port) {
  const std::string tmp = path + ".tmp";
  FILE* file = fopen(tmp.c_str(), "w");
  if (file == nullptr) {
    PLOG(ERROR) << "cannot write " << tmp;
    return false;
  }
  fprintf(file, "%d\n", port);
  if (fclose(file) != 0 || rename(tmp.c_str(), path.c_str()) != 0) {
    PLOG(ERROR) << "cannot write " << path;
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Serves Burn model records over gRPC (Open Inference Protocol).\n"
      "Usage: emberd --model_repository=DIR [--grpc_address=HOST:PORT]");
  absl::ParseCommandLine(argc, argv);
  FLAGS_logtostderr = true;
  FLAGS_v = absl::GetFlag(FLAGS_verbosity);
  google::InitGoogleLogging(argv[0]);

  // Block the stop signals in every thread; main waits for them. A shell
  // starts background jobs with SIGINT ignored: restore the default first
  // so the signal is not discarded before sigwait sees it.
  signal(SIGTERM, SIG_DFL);
  signal(SIGINT, SIG_DFL);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  ember::server::EmberServer::Options options;
  options.model_repository = absl::GetFlag(FLAGS_model_repository);
  options.grpc_address = absl::GetFlag(FLAGS_grpc_address);
  options.poll_interval = absl::GetFlag(FLAGS_poll_interval);
  options.settle_time = absl::GetFlag(FLAGS_settle_time);
  options.use_inotify = absl::GetFlag(FLAGS_inotify);
  options.load_threads = absl::GetFlag(FLAGS_load_threads);
  options.inference_threads = absl::GetFlag(FLAGS_inference_threads);
  options.max_queue_size = absl::GetFlag(FLAGS_max_queue_size);
  options.inference_on_request_thread =
      absl::GetFlag(FLAGS_inference_on_request_thread);
  options.unload_first = absl::GetFlag(FLAGS_unload_first);
  options.max_message_size = absl::GetFlag(FLAGS_max_message_size);
  options.drain_timeout = absl::GetFlag(FLAGS_drain_timeout);
  options.records_service = absl::GetFlag(FLAGS_records_service);
  options.records_options.max_upload_bytes =
      absl::GetFlag(FLAGS_max_upload_bytes);
  options.records_options.max_concurrent_uploads =
      absl::GetFlag(FLAGS_max_concurrent_uploads);
  options.records_options.max_concurrent_conversions =
      absl::GetFlag(FLAGS_max_concurrent_conversions);
  options.loader = ember::model::LoadWarmModel;
  options.config_parser = ember::model::ParseModelConfig;

  // Credentials and tokens are checked now, so a wrong file fails the start
  // with its name rather than the first call.
  const std::string cert = absl::GetFlag(FLAGS_tls_cert_file);
  const std::string key = absl::GetFlag(FLAGS_tls_key_file);
  if (!cert.empty() || !key.empty()) {
    ember::auth::TlsOptions tls;
    tls.cert_file = cert;
    tls.key_file = key;
    tls.client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file);
    auto credentials = ember::auth::MakeServerCredentials(tls);
    if (!credentials.ok()) {
      LOG(ERROR) << "emberd cannot start: " << credentials.status();
      return 1;
    }
    options.credentials = *std::move(credentials);
  } else if (!absl::GetFlag(FLAGS_tls_client_ca_file).empty()) {
    LOG(ERROR) << "emberd cannot start: --tls_client_ca_file needs "
                  "--tls_cert_file and --tls_key_file";
    return 1;
  }
  std::shared_ptr<const ember::auth::AuthPolicy> auth;
  const std::string token_file = absl::GetFlag(FLAGS_auth_token_file);
  if (token_file.empty()) {
    LOG(WARNING) << "no --auth_token_file: every call is allowed, including "
                    "RepositoryModelLoad/Unload and record uploads";
    auth = ember::auth::AuthPolicy::Open();
  } else {
    auto tokens = ember::auth::AuthPolicy::LoadTokenFile(token_file);
    absl::StatusOr<std::unique_ptr<ember::auth::AuthPolicy>> policy =
        tokens.ok() ? ember::auth::AuthPolicy::Create(*std::move(tokens))
                    : absl::StatusOr<std::unique_ptr<ember::auth::AuthPolicy>>(
                          tokens.status());
    if (!policy.ok()) {
      LOG(ERROR) << "emberd cannot start: " << policy.status();
      return 1;
    }
    auth = *std::move(policy);
  }
  options.auth_policy = auth;

  absl::StatusOr<std::unique_ptr<ember::server::EmberServer>> server =
      ember::server::EmberServer::Create(std::move(options));
  if (!server.ok()) {
    LOG(ERROR) << "emberd cannot start: " << server.status();
    return 1;
  }
  const std::string port_file = absl::GetFlag(FLAGS_port_file);
  if (!port_file.empty() && !WritePortFile(port_file, (*server)->port())) {
    return 1;
  }

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  LOG(INFO) << "received " << strsignal(signal_number) << "; draining";
  const bool clean = (*server)->Drain();
  server->reset();
  LOG(INFO) << "emberd stopped" << (clean ? "" : " (drain timed out)");
  return 0;
}
