#include "client/ember_client.h"

#include <dirent.h>
#include <sys/stat.h>

#include <atomic>
#include <cmath>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/json.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "gmock/gmock.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "server/auth/auth_policy.h"
#include "server/auth/test_certificates.h"
#include "server/auth/tls_credentials.h"
#include "server/records/records_service.h"
#include "tests/client/emberd_process.h"

namespace ember::client {
namespace {

using ::ember::testing::CopyFixtureModel;
using ::ember::testing::EmberdProcess;
using ::ember::testing::ReadWholeFile;
using ::ember::testing::Runfile;
using ::ember::testing::TempDir;
using ::testing::HasSubstr;

// Matches an OK StatusOr whose value matches `matcher`.
MATCHER_P(IsOkAndHolds, matcher, "") {
  if (!arg.ok()) {
    *result_listener << "status " << arg.status();
    return false;
  }
  return ::testing::ExplainMatchResult(matcher, *arg, result_listener);
}

constexpr char kWriteToken[] = "write-token-0123456789abcdef";
constexpr char kReadToken[] = "read-token-0123456789abcdef";

struct Golden {
  std::vector<int64_t> input_shape;
  std::vector<double> inputs;
  std::vector<int64_t> output_shape;
  std::vector<double> outputs;
  double atol = 0;
  double rtol = 0;
};

Golden LoadConnect4Golden() {
  absl::StatusOr<std::string> text = ReadWholeFile(
      Runfile("tests/fixtures/burn/golden/connect4-mlp-f32-burn0.16.1.json"));
  EXPECT_TRUE(text.ok()) << text.status();
  absl::StatusOr<json::Value> doc = json::Parse(text.value_or("{}"));
  EXPECT_TRUE(doc.ok()) << doc.status();
  Golden golden;
  auto numbers = [&](const char* key) {
    std::vector<double> out;
    for (const json::Value& v : doc->Find(key)->array()) {
      out.push_back(v.number());
    }
    return out;
  };
  auto dims = [&](const char* key) {
    std::vector<int64_t> out;
    for (const json::Value& v : doc->Find(key)->array()) {
      out.push_back(v.int_value());
    }
    return out;
  };
  golden.input_shape = dims("input_shape");
  golden.inputs = numbers("inputs");
  golden.output_shape = dims("output_shape");
  golden.outputs = numbers("outputs");
  golden.atol = doc->Find("tolerance")->Find("atol")->number();
  golden.rtol = doc->Find("tolerance")->Find("rtol")->number();
  return golden;
}

void ExpectMatchesGolden(const Tensor& output, const Golden& golden) {
  EXPECT_EQ(output.shape, golden.output_shape);
  absl::StatusOr<std::vector<double>> values = output.ToDoubles();
  ASSERT_TRUE(values.ok()) << values.status();
  ASSERT_EQ(values->size(), golden.outputs.size());
  for (size_t i = 0; i < values->size(); ++i) {
    EXPECT_LE(std::fabs((*values)[i] - golden.outputs[i]),
              golden.atol + golden.rtol * std::fabs(golden.outputs[i]))
        << "element " << i << " of " << output.name;
  }
}

// One emberd with connect4 for every inference test of this file.
class InferenceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string repo = TempDir("repo");
    ASSERT_TRUE(CopyFixtureModel("connect4", repo).ok());
    absl::StatusOr<std::unique_ptr<EmberdProcess>> server =
        EmberdProcess::Start({repo, {}});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
    ASSERT_TRUE(server_->WaitForModel("connect4").ok()) << server_->Log();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  std::unique_ptr<EmberClient> Connect() {
    ClientOptions options;
    options.server = server_->address();
    options.timeout = absl::Seconds(20);
    absl::StatusOr<std::unique_ptr<EmberClient>> client =
        EmberClient::Create(options);
    EXPECT_TRUE(client.ok()) << client.status();
    return std::move(client).value();
  }

  static EmberdProcess* server_;
};

EmberdProcess* InferenceTest::server_ = nullptr;

TEST_F(InferenceTest, HealthAndReadiness) {
  std::unique_ptr<EmberClient> client = Connect();
  EXPECT_THAT(client->ServerLive(), IsOkAndHolds(true));
  EXPECT_THAT(client->ServerReady(), IsOkAndHolds(true));
  EXPECT_THAT(client->ModelReady("connect4"), IsOkAndHolds(true));
  EXPECT_THAT(client->HealthCheck(), IsOkAndHolds(HealthState::kServing));
  EXPECT_THAT(client->HealthCheck("connect4"),
              IsOkAndHolds(HealthState::kServing));
  EXPECT_THAT(client->HealthCheck("no-such-model"),
              IsOkAndHolds(HealthState::kServiceUnknown));
}

TEST_F(InferenceTest, ListsModelsAndMetadata) {
  std::unique_ptr<EmberClient> client = Connect();
  absl::StatusOr<std::vector<ModelVersionState>> models = client->ListModels();
  ASSERT_TRUE(models.ok()) << models.status();
  bool found = false;
  for (const ModelVersionState& m : *models) {
    if (m.name == "connect4" && m.version == "1") {
      found = true;
      EXPECT_EQ(m.state, "READY");
    }
  }
  EXPECT_TRUE(found);

  absl::StatusOr<inference::ModelMetadataResponse> metadata =
      client->ModelMetadata("connect4");
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  ASSERT_EQ(metadata->inputs_size(), 1);
  EXPECT_EQ(metadata->inputs(0).name(), "board");
  EXPECT_EQ(metadata->inputs(0).datatype(), "FP32");
  EXPECT_THAT(metadata->inputs(0).shape(), ::testing::ElementsAre(-1, 42));
  ASSERT_EQ(metadata->outputs_size(), 1);
  EXPECT_EQ(metadata->outputs(0).name(), "q_values");
}

TEST_F(InferenceTest, ModelConfigInTritonsForm) {
  std::unique_ptr<EmberClient> client = Connect();
  absl::StatusOr<inference::ModelConfig> config =
      client->ModelConfig("connect4");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->name(), "connect4");
  EXPECT_EQ(config->platform(), "ember_burn");
  EXPECT_EQ(config->max_batch_size(), 0);
  EXPECT_EQ(config->version_policy().latest().num_versions(), 1u);
  ASSERT_EQ(config->input_size(), 1);
  EXPECT_EQ(config->input(0).name(), "board");
  EXPECT_EQ(config->input(0).data_type(), inference::TYPE_FP32);
  EXPECT_THAT(config->input(0).dims(), ::testing::ElementsAre(-1, 42));
  EXPECT_EQ(client->ModelConfig("no-such-model").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(InferenceTest, TypedFp32MatchesGolden) {
  const Golden golden = LoadConnect4Golden();
  std::vector<float> cells(golden.inputs.begin(), golden.inputs.end());
  InferOptions options;
  options.input_encoding = InputEncoding::kTyped;
  options.request_id = "typed-1";
  std::unique_ptr<EmberClient> client = Connect();
  absl::StatusOr<InferResult> result = client->Infer(
      "connect4", {Tensor::FromFloats("board", golden.input_shape, cells)},
      options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->request_id, "typed-1");
  EXPECT_EQ(result->model_name, "connect4");
  ASSERT_EQ(result->outputs.size(), 1u);
  EXPECT_EQ(result->outputs[0].datatype, "FP32");
  ExpectMatchesGolden(result->outputs[0], golden);

  // The typed reply carries the same numbers as a raw one.
  options.raw_outputs = true;
  absl::StatusOr<InferResult> raw = client->Infer(
      "connect4", {Tensor::FromFloats("board", golden.input_shape, cells)},
      options);
  ASSERT_TRUE(raw.ok()) << raw.status();
  EXPECT_EQ(raw->outputs[0].data, result->outputs[0].data);
}

// Requests sent ahead of their answers come back in order; a refused one
// gives its error in its place and the stream goes on.
TEST_F(InferenceTest, StreamAnswersInOrderAndCarriesOnAfterARefusal) {
  const Golden golden = LoadConnect4Golden();
  std::vector<float> cells(golden.inputs.begin(), golden.inputs.end());
  const Tensor board = Tensor::FromFloats("board", golden.input_shape, cells);
  std::unique_ptr<EmberClient> client = Connect();
  std::unique_ptr<InferStream> stream = client->OpenInferStream();
  InferOptions first;
  first.request_id = "first";
  ASSERT_TRUE(stream->Send("connect4", {board}, first).ok());
  ASSERT_TRUE(stream->Send("no-such-model", {board}).ok());
  InferOptions third;
  third.request_id = "third";
  third.input_encoding = InputEncoding::kTyped;
  ASSERT_TRUE(stream->Send("connect4", {board}, third).ok());
  ASSERT_TRUE(stream->CloseSend().ok());
  EXPECT_EQ(stream->Send("connect4", {board}).code(),
            absl::StatusCode::kFailedPrecondition);

  absl::StatusOr<InferResult> one = stream->Read();
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(one->request_id, "first");
  ASSERT_EQ(one->outputs.size(), 1u);
  ExpectMatchesGolden(one->outputs[0], golden);

  absl::StatusOr<InferResult> two = stream->Read();
  EXPECT_EQ(two.status().code(), absl::StatusCode::kUnknown);
  EXPECT_NE(two.status().message().find("no-such-model"), std::string::npos)
      << two.status();

  absl::StatusOr<InferResult> three = stream->Read();
  ASSERT_TRUE(three.ok()) << three.status();
  EXPECT_EQ(three->request_id, "third");
  ExpectMatchesGolden(three->outputs[0], golden);

  EXPECT_EQ(stream->Read().status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(stream->Read().status().code(), absl::StatusCode::kOutOfRange);
}

TEST_F(InferenceTest, StreamChecksInputsAndCanBeAbandoned) {
  std::unique_ptr<EmberClient> client = Connect();
  std::unique_ptr<InferStream> stream = client->OpenInferStream();
  Tensor bad = Tensor::FromFloats("board", {1, 42}, std::vector<float>(41));
  EXPECT_EQ(stream->Send("connect4", {bad}).code(),
            absl::StatusCode::kInvalidArgument);
  const Golden golden = LoadConnect4Golden();
  std::vector<float> cells(golden.inputs.begin(), golden.inputs.end());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(stream
                    ->Send("connect4", {Tensor::FromFloats(
                                           "board", golden.input_shape, cells)})
                    .ok());
  }
  // Destroyed with answers unread and the send side open: cancelled, and
  // the destructor returns.
  stream.reset();
  // The client still works.
  EXPECT_TRUE(client->ServerLive().ok());
}

TEST_F(InferenceTest, RawFp16MatchesGolden) {
  const Golden golden = LoadConnect4Golden();
  absl::StatusOr<Tensor> board =
      Tensor::FromDoubles("board", "FP16", golden.input_shape, golden.inputs);
  ASSERT_TRUE(board.ok()) << board.status();
  InferOptions options;
  options.outputs = {{"q_values", "FP16"}};
  std::unique_ptr<EmberClient> client = Connect();
  absl::StatusOr<InferResult> result =
      client->Infer("connect4", {*board}, options);
  ASSERT_TRUE(result.ok()) << result.status();
  const Tensor* q = result->Find("q_values");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->datatype, "FP16");
  EXPECT_EQ(q->data.size(), golden.outputs.size() * 2);
  ExpectMatchesGolden(*q, golden);
}

TEST_F(InferenceTest, Fp64OutputAndStatistics) {
  const Golden golden = LoadConnect4Golden();
  absl::StatusOr<Tensor> board =
      Tensor::FromDoubles("board", "FP64", golden.input_shape, golden.inputs);
  ASSERT_TRUE(board.ok());
  InferOptions options;
  options.outputs = {{"q_values", "FP64"}};
  std::unique_ptr<EmberClient> client = Connect();
  absl::StatusOr<InferResult> result =
      client->Infer("connect4", {*board}, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outputs[0].datatype, "FP64");
  ExpectMatchesGolden(result->outputs[0], golden);

  absl::StatusOr<inference::ModelStatisticsResponse> stats =
      client->ModelStatistics("connect4");
  ASSERT_TRUE(stats.ok()) << stats.status();
  ASSERT_GE(stats->model_stats_size(), 1);
  EXPECT_GE(stats->model_stats(0).inference_count(), 1u);
}

TEST_F(InferenceTest, ServerErrorsKeepCodeAndMessage) {
  std::unique_ptr<EmberClient> client = Connect();
  absl::StatusOr<InferResult> unknown = client->Infer(
      "no-such-model",
      {Tensor::FromFloats("board", {1, 42}, std::vector<float>(42, 0.f))});
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(unknown.status().message(), HasSubstr("no-such-model"));
  EXPECT_FALSE(IsConnectionFailure(unknown.status()));

  absl::StatusOr<InferResult> wrong_shape = client->Infer(
      "connect4",
      {Tensor::FromFloats("board", {1, 41}, std::vector<float>(41, 0.f))});
  EXPECT_EQ(wrong_shape.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(wrong_shape.status().message(), HasSubstr("board"));

  // Caught before sending: the data does not fill the shape.
  Tensor short_data = Tensor::FromFloats("board", {2, 42}, {1.f});
  absl::StatusOr<InferResult> local = client->Infer("connect4", {short_data});
  EXPECT_EQ(local.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(local.status().message(), HasSubstr("needs 336 bytes"));

  // FP16 has no typed form.
  absl::StatusOr<Tensor> half =
      Tensor::FromDoubles("board", "FP16", {1, 1}, {1.0});
  InferOptions typed;
  typed.input_encoding = InputEncoding::kTyped;
  EXPECT_THAT(client->Infer("connect4", {*half}, typed).status().message(),
              HasSubstr("send it raw"));

  EXPECT_EQ(client->LoadModel("no-such-model").code(),
            absl::StatusCode::kNotFound);
}

TEST_F(InferenceTest, OneClientServesManyThreads) {
  const Golden golden = LoadConnect4Golden();
  const std::vector<float> cells(golden.inputs.begin(), golden.inputs.end());
  std::unique_ptr<EmberClient> client = Connect();
  std::vector<std::thread> threads;
  std::atomic<int> matched{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        absl::StatusOr<InferResult> result = client->Infer(
            "connect4",
            {Tensor::FromFloats("board", golden.input_shape, cells)});
        if (!result.ok()) continue;
        absl::StatusOr<std::vector<double>> q = result->outputs[0].ToDoubles();
        if (q.ok() && q->size() == golden.outputs.size() &&
            std::fabs((*q)[0] - golden.outputs[0]) <=
                golden.atol + golden.rtol * std::fabs(golden.outputs[0])) {
          matched.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(matched.load(), 40);
}

TEST(ConnectionTest, UnreachableServerIsAConnectionFailure) {
  ClientOptions options;
  options.server = "127.0.0.1:1";
  options.timeout = absl::Seconds(10);
  absl::StatusOr<std::unique_ptr<EmberClient>> client =
      EmberClient::Create(options);
  ASSERT_TRUE(client.ok());
  absl::StatusOr<bool> live = (*client)->ServerLive();
  EXPECT_EQ(live.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(IsConnectionFailure(live.status())) << live.status();
  EXPECT_THAT(live.status().message(), HasSubstr("cannot connect to"));
}

TEST(ConnectionTest, BadOptionsAreRefused) {
  ClientOptions options;
  options.tls = true;
  options.ca_file = "/nonexistent/ca.pem";
  EXPECT_EQ(EmberClient::Create(options).status().code(),
            absl::StatusCode::kNotFound);
  options.tls = false;
  EXPECT_EQ(EmberClient::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.ca_file.clear();
  options.timeout = absl::ZeroDuration();
  EXPECT_THAT(EmberClient::Create(options).status().message(),
              HasSubstr("timeout must be positive"));
  options.timeout = absl::Seconds(1);
  options.chunk_bytes = 4 << 20;
  EXPECT_THAT(EmberClient::Create(options).status().message(),
              HasSubstr("chunk_bytes"));
  options.chunk_bytes = 1 << 20;
  options.client_cert_file = "cert.pem";
  EXPECT_THAT(EmberClient::Create(options).status().message(),
              HasSubstr("needs its key"));
  options.client_cert_file.clear();
  options.server.clear();
  EXPECT_EQ(EmberClient::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(StatusTest, EveryGrpcCodeMapsToTheSameAbslCode) {
  for (int code = 0; code <= 16; ++code) {
    const absl::Status status = StatusFromGrpc(
        grpc::Status(static_cast<grpc::StatusCode>(code), "why"));
    EXPECT_EQ(static_cast<int>(status.code()), code);
    if (code != 0) {
      EXPECT_EQ(status.message(), "why");
    }
  }
}

TEST(TensorTest, ConvertsAndChecksValues) {
  absl::StatusOr<Tensor> ints =
      Tensor::FromDoubles("x", "INT32", {3}, {-2, 0, 7});
  ASSERT_TRUE(ints.ok());
  EXPECT_THAT(ints->ToDoubles(),
              IsOkAndHolds(::testing::ElementsAre(-2.0, 0.0, 7.0)));
  EXPECT_THAT(Tensor::FromDoubles("x", "INT8", {1}, {128}).status().message(),
              HasSubstr("element 0 (128) is not a valid INT8"));
  EXPECT_FALSE(Tensor::FromDoubles("x", "INT64", {1}, {0.5}).ok());
  EXPECT_FALSE(Tensor::FromDoubles("x", "UINT8", {1}, {-1}).ok());
  EXPECT_FALSE(Tensor::FromDoubles("x", "BOOL", {1}, {2}).ok());
  EXPECT_THAT(Tensor::FromDoubles("x", "FP32", {2, 2}, {1}).status().message(),
              HasSubstr("holds 4 elements but 1 values"));
  EXPECT_FALSE(Tensor::FromDoubles("x", "FP8", {1}, {1}).ok());

  // FP16 rounds to nearest even and reads back exactly.
  absl::StatusOr<Tensor> half =
      Tensor::FromDoubles("h", "FP16", {3}, {1.0, -0.228, 65504});
  ASSERT_TRUE(half.ok());
  EXPECT_EQ(half->data.size(), 6u);
  absl::StatusOr<std::vector<double>> back = half->ToDoubles();
  ASSERT_TRUE(back.ok());
  EXPECT_EQ((*back)[0], 1.0);
  EXPECT_NEAR((*back)[1], -0.228, 1e-4);
  EXPECT_EQ((*back)[2], 65504.0);

  Tensor bytes{"s", "BYTES", {2}, std::string("\x01\0\0\0a\x02\0\0\0bc", 11)};
  EXPECT_TRUE(bytes.Validate().ok());
  bytes.shape = {3};
  EXPECT_FALSE(bytes.Validate().ok());
  Tensor negative{"n", "FP32", {-1, 2}, ""};
  EXPECT_THAT(negative.Validate().message(), HasSubstr("invalid shape"));
}

TEST(NamesTest, PrecisionAndFormatSpellings) {
  EXPECT_THAT(ParsePrecision("half"),
              IsOkAndHolds(records::v1::PRECISION_HALF));
  EXPECT_THAT(ParsePrecision("as-is"),
              IsOkAndHolds(records::v1::PRECISION_KEEP));
  EXPECT_THAT(ParsePrecision("quarter").status().message(),
              HasSubstr("expected full, half, double or as-is"));
  EXPECT_THAT(ParseRecordFormat("mpk.gz"),
              IsOkAndHolds(records::v1::FORMAT_MPK_GZ));
  EXPECT_FALSE(ParseRecordFormat("zip").ok());
  EXPECT_EQ(PrecisionName(records::v1::PRECISION_DOUBLE), "double");
  EXPECT_EQ(RecordFormatName(records::v1::FORMAT_MPK), "mpk");
}

// The records service on its own loopback server, with bearer tokens.
class RecordsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = TempDir("records-repo");
    ASSERT_TRUE(CopyFixtureModel("connect4", repo_).ok());
    auth::AuthPolicy::Options tokens;
    tokens.write_tokens = {kWriteToken};
    tokens.read_tokens = {kReadToken};
    absl::StatusOr<std::unique_ptr<auth::AuthPolicy>> policy =
        auth::AuthPolicy::Create(tokens);
    ASSERT_TRUE(policy.ok()) << policy.status();
    records::RecordsService::Options options;
    options.repository = repo_;
    options.auth = std::move(policy).value();
    absl::StatusOr<std::unique_ptr<records::RecordsService>> service =
        records::RecordsService::Create(std::move(options));
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = std::move(service).value();
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    address_ = absl::StrCat("127.0.0.1:", port);
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  std::unique_ptr<EmberClient> Connect(const std::string& token,
                                       int chunk_bytes = 4096) {
    ClientOptions options;
    options.server = address_;
    options.token = token;
    options.chunk_bytes = chunk_bytes;
    options.timeout = absl::Seconds(30);
    return EmberClient::Create(options).value();
  }

  std::string FixtureRecord() {
    return ReadWholeFile(Runfile("tests/fixtures/burn/"
                                 "connect4-mlp-f32-burn0.16.1.mpk"))
        .value_or("");
  }

  std::string repo_;
  std::string address_;
  std::unique_ptr<records::RecordsService> service_;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(RecordsTest, UploadFileInChunksWithProgressThenDownload) {
  const std::string record = FixtureRecord();
  ASSERT_FALSE(record.empty());
  const std::string path = TempDir("upload") + "/model.mpk";
  ASSERT_TRUE(testing::WriteWholeFile(path, record).ok());

  std::vector<std::pair<uint64_t, uint64_t>> progress;
  UploadOptions upload;
  upload.model = "connect4";
  upload.precision = records::v1::PRECISION_HALF;
  upload.progress = [&](uint64_t done, uint64_t total) {
    progress.emplace_back(done, total);
  };
  std::unique_ptr<EmberClient> client = Connect(kWriteToken);
  absl::StatusOr<UploadResult> stored = client->UploadFile(path, upload);
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->record.version(), 2);
  EXPECT_EQ(stored->record.precision(), records::v1::PRECISION_HALF);
  EXPECT_EQ(stored->sent_sha256, Sha256Hex(record));
  // 20255 bytes in 4 KiB chunks: a start, five chunks, all of it at the end.
  ASSERT_EQ(progress.size(), 6u);
  EXPECT_EQ(progress.front(), std::make_pair(uint64_t{0}, record.size()));
  EXPECT_EQ(progress.back(), std::make_pair(record.size(), record.size()));

  absl::StatusOr<std::vector<RecordInfo>> list =
      Connect(kReadToken)->ListRecords("connect4");
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[1].version(), 2);

  // Version 2 back at full precision: the server converts, the client
  // checks size and digest.
  DownloadOptions download;
  download.model = "connect4";
  download.version = 2;
  download.precision = records::v1::PRECISION_FULL;
  uint64_t last_done = 0;
  download.progress = [&](uint64_t done, uint64_t) { last_done = done; };
  const std::string out = TempDir("download") + "/connect4.mpk";
  absl::StatusOr<RecordInfo> info =
      Connect(kReadToken)->DownloadToFile(out, download);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->precision(), records::v1::PRECISION_FULL);
  absl::StatusOr<std::string> bytes = ReadWholeFile(out);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->size(), info->size());
  EXPECT_EQ(last_done, info->size());
  EXPECT_EQ(Sha256Hex(*bytes), info->sha256());
}

// The file is read once; one saved over while it is being sent (as a
// training job might) fails with DATA_LOSS and the server stores nothing.
TEST_F(RecordsTest, UploadOfAFileWrittenMeanwhileStoresNothing) {
  const std::string record = FixtureRecord();
  const std::string path = TempDir("changing") + "/model.mpk";
  ASSERT_TRUE(testing::WriteWholeFile(path, record).ok());
  UploadOptions upload;
  upload.model = "connect4";
  bool rewritten = false;
  upload.progress = [&](uint64_t done, uint64_t) {
    if (done == 0 || rewritten) return;
    rewritten = true;  // same size, other bytes, later mtime
    std::string changed = record;
    changed[changed.size() - 1] ^= 1;
    absl::SleepFor(absl::Milliseconds(5));
    FILE* f = fopen(path.c_str(), "r+b");
    ASSERT_NE(f, nullptr);
    fwrite(changed.data(), 1, changed.size(), f);
    fclose(f);
  };
  absl::StatusOr<UploadResult> stored =
      Connect(kWriteToken)->UploadFile(path, upload);
  EXPECT_TRUE(rewritten);
  EXPECT_EQ(stored.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(stored.status().message(),
              HasSubstr("changed while it was being uploaded"));
  absl::StatusOr<std::vector<RecordInfo>> list =
      Connect(kReadToken)->ListRecords("connect4");
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->size(), 1u);  // only the original version
}

TEST_F(RecordsTest, UploadBytesAndDownloadToString) {
  UploadOptions upload;
  upload.model = "connect4";
  upload.version = 7;
  upload.format = records::v1::FORMAT_MPK_GZ;
  absl::StatusOr<UploadResult> stored =
      Connect(kWriteToken)->UploadBytes(FixtureRecord(), upload);
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->record.version(), 7);
  EXPECT_EQ(stored->record.format(), records::v1::FORMAT_MPK_GZ);

  DownloadOptions download;
  download.model = "connect4";
  download.version = 7;
  download.format = records::v1::FORMAT_MPK;
  std::string bytes;
  absl::StatusOr<RecordInfo> info =
      Connect(kReadToken)->DownloadToString(download, &bytes);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(bytes, FixtureRecord());
}

TEST_F(RecordsTest, TokensAreSentAndRefusalsKeepTheirCode) {
  UploadOptions upload;
  upload.model = "connect4";
  absl::StatusOr<UploadResult> no_token =
      Connect("")->UploadBytes(FixtureRecord(), upload);
  EXPECT_EQ(no_token.status().code(), absl::StatusCode::kUnauthenticated);
  absl::StatusOr<UploadResult> read_only =
      Connect(kReadToken)->UploadBytes(FixtureRecord(), upload);
  EXPECT_EQ(read_only.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_FALSE(IsConnectionFailure(read_only.status()));

  absl::StatusOr<UploadResult> garbage =
      Connect(kWriteToken)->UploadBytes("not a record", upload);
  EXPECT_EQ(garbage.status().code(), absl::StatusCode::kInvalidArgument)
      << garbage.status();
  EXPECT_EQ(Connect(kWriteToken)
                ->UploadFile("/nonexistent.mpk", upload)
                .status()
                .code(),
            absl::StatusCode::kNotFound);
}

// Lists a directory's entries (without . and ..).
std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(d);
  return names;
}

TEST_F(RecordsTest, RefusedDownloadLeavesNothingBehind) {
  const std::string dir = TempDir("atomic");
  const std::string out = dir + "/model.mpk";
  DownloadOptions download;
  download.model = "connect4";

  // No token: refused before any byte.
  absl::StatusOr<RecordInfo> refused =
      Connect("")->DownloadToFile(out, download);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(Entries(dir).empty());

  // Unknown version: refused, and an existing file stays as it was.
  ASSERT_TRUE(testing::WriteWholeFile(out, "previous").ok());
  download.version = 42;
  absl::StatusOr<RecordInfo> missing =
      Connect(kReadToken)->DownloadToFile(out, download);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Entries(dir), ::testing::ElementsAre("model.mpk"));
  EXPECT_EQ(ReadWholeFile(out).value_or(""), "previous");
}

// A records server that misbehaves in a chosen way during a download.
class BrokenRecords final : public records::v1::Records::Service {
 public:
  enum class Fault { kFailMidway, kWrongDigest, kShort };
  explicit BrokenRecords(Fault fault) : fault_(fault) {}

  grpc::Status Download(
      grpc::ServerContext*, const records::v1::DownloadRequest*,
      grpc::ServerWriter<records::v1::DownloadResponse>* writer) override {
    const std::string bytes(10000, 'x');
    records::v1::DownloadResponse response;
    response.mutable_metadata()->set_size(bytes.size());
    response.mutable_metadata()->set_sha256(fault_ == Fault::kWrongDigest
                                                ? std::string(64, '0')
                                                : Sha256Hex(bytes));
    writer->Write(response);
    const size_t send = fault_ == Fault::kWrongDigest ? bytes.size() : 4000;
    for (size_t at = 0; at < send; at += 1000) {
      response.set_chunk(bytes.substr(at, 1000));
      writer->Write(response);
    }
    if (fault_ == Fault::kFailMidway) {
      return grpc::Status(grpc::StatusCode::INTERNAL, "disk read failed");
    }
    return grpc::Status::OK;
  }

 private:
  const Fault fault_;
};

TEST(AtomicDownloadTest, BrokenTransfersLeaveOnlyTheOldFile) {
  for (BrokenRecords::Fault fault :
       {BrokenRecords::Fault::kFailMidway, BrokenRecords::Fault::kWrongDigest,
        BrokenRecords::Fault::kShort}) {
    BrokenRecords service(fault);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(&service);
    std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
    ClientOptions options;
    options.server = absl::StrCat("127.0.0.1:", port);
    std::unique_ptr<EmberClient> client = EmberClient::Create(options).value();

    const std::string dir = TempDir("broken");
    const std::string out = dir + "/model.mpk";
    ASSERT_TRUE(testing::WriteWholeFile(out, "previous").ok());
    DownloadOptions download;
    download.model = "m";
    absl::StatusOr<RecordInfo> info = client->DownloadToFile(out, download);
    const absl::StatusCode want = fault == BrokenRecords::Fault::kFailMidway
                                      ? absl::StatusCode::kInternal
                                      : absl::StatusCode::kDataLoss;
    EXPECT_EQ(info.status().code(), want) << info.status();
    EXPECT_THAT(Entries(dir), ::testing::ElementsAre("model.mpk"));
    EXPECT_EQ(ReadWholeFile(out).value_or(""), "previous");
    server->Shutdown();
  }
}

// The records service behind TLS (and mutual TLS), with throwaway
// certificates for "localhost".
class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<auth::TestCertificates> certs =
        auth::MakeTestCertificates(TempDir("pki"));
    ASSERT_TRUE(certs.ok()) << certs.status();
    certs_ = *certs;
    repo_ = TempDir("tls-repo");
    ASSERT_TRUE(CopyFixtureModel("connect4", repo_).ok());
  }

  // Starts the service; `mutual` asks clients for a certificate.
  void StartServer(bool mutual) {
    records::RecordsService::Options options;
    options.repository = repo_;
    options.auth = auth::AuthPolicy::Open();
    service_ = records::RecordsService::Create(std::move(options)).value();
    auth::TlsOptions tls{certs_.server_cert, certs_.server_key,
                         mutual ? certs_.ca_cert : ""};
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
        auth::MakeServerCredentials(tls);
    ASSERT_TRUE(credentials.ok()) << credentials.status();
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", *credentials, &port_);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  absl::StatusOr<std::vector<RecordInfo>> List(ClientOptions options) {
    options.server = absl::StrCat("localhost:", port_);
    options.timeout = absl::Seconds(10);
    EMBER_ASSIGN_OR_RETURN(std::unique_ptr<EmberClient> client,
                           EmberClient::Create(options));
    return client->ListRecords("connect4");
  }

  auth::TestCertificates certs_;
  std::string repo_;
  int port_ = 0;
  std::unique_ptr<records::RecordsService> service_;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(TlsTest, TrustsTheServerThroughTheGivenCa) {
  StartServer(/*mutual=*/false);
  ClientOptions options;
  options.tls = true;
  options.ca_file = certs_.ca_cert;
  absl::StatusOr<std::vector<RecordInfo>> list = List(options);
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->size(), 1u);

  // Without the CA the handshake fails: the server is never reached.
  ClientOptions system_roots;
  system_roots.tls = true;
  absl::StatusOr<std::vector<RecordInfo>> untrusted = List(system_roots);
  EXPECT_EQ(untrusted.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(IsConnectionFailure(untrusted.status()));

  // Plaintext to a TLS port fails the same way.
  absl::StatusOr<std::vector<RecordInfo>> plain = List(ClientOptions());
  EXPECT_TRUE(IsConnectionFailure(plain.status())) << plain.status();
}

TEST_F(TlsTest, MutualTlsNeedsTheClientCertificate) {
  StartServer(/*mutual=*/true);
  ClientOptions options;
  options.tls = true;
  options.ca_file = certs_.ca_cert;
  EXPECT_FALSE(List(options).ok());
  options.client_cert_file = certs_.client_cert;
  options.client_key_file = certs_.client_key;
  absl::StatusOr<std::vector<RecordInfo>> list = List(options);
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->size(), 1u);
}

}  // namespace
}  // namespace ember::client
