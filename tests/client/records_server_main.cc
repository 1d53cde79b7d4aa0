// A stand-alone records service over a model repository, for tests that
// need `ember.records.v1.Records` in a separate process:
//
//   records_server --repository=DIR --port_file=FILE [--token_file=FILE]
//
// Serves on 127.0.0.1 with a free port, written to --port_file once
// accepting; stops on SIGTERM.

#include <signal.h>
#include <stdio.h>

#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "server/auth/auth_policy.h"
#include "server/records/records_service.h"

ABSL_FLAG(std::string, repository, "", "model repository directory");
ABSL_FLAG(std::string, port_file, "", "where to write the bound port");
ABSL_FLAG(std::string, token_file, "", "token file; empty serves openly");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  ember::records::RecordsService::Options options;
  options.repository = absl::GetFlag(FLAGS_repository);
  if (absl::GetFlag(FLAGS_token_file).empty()) {
    options.auth = ember::auth::AuthPolicy::Open();
  } else {
    auto tokens =
        ember::auth::AuthPolicy::LoadTokenFile(absl::GetFlag(FLAGS_token_file));
    if (!tokens.ok()) {
      fprintf(stderr, "%s\n", tokens.status().ToString().c_str());
      return 1;
    }
    auto policy = ember::auth::AuthPolicy::Create(*std::move(tokens));
    if (!policy.ok()) {
      fprintf(stderr, "%s\n", policy.status().ToString().c_str());
      return 1;
    }
    options.auth = *std::move(policy);
  }
  auto service = ember::records::RecordsService::Create(std::move(options));
  if (!service.ok()) {
    fprintf(stderr, "%s\n", service.status().ToString().c_str());
    return 1;
  }
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterService(service->get());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    fprintf(stderr, "cannot listen on 127.0.0.1\n");
    return 1;
  }
  const std::string port_file = absl::GetFlag(FLAGS_port_file);
  const std::string tmp = port_file + ".tmp";
  FILE* file = fopen(tmp.c_str(), "w");
  if (file == nullptr) return 1;
  fprintf(file, "%d\n", port);
  fclose(file);
  if (rename(tmp.c_str(), port_file.c_str()) != 0) return 1;

  int signal_number = 0;
  sigwait(&stop, &signal_number);
  server->Shutdown();
  return 0;
}
