// End-to-end tests of the records service: a real gRPC server on loopback
// over a real repository in TEST_TMPDIR, the real codec and model builder,
// and the five Burn fixtures.

#include "server/records/records_service.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/sha256.h"
#include "google/protobuf/text_format.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "proto/model_config.pb.h"
#include "recorder/codec.h"
#include "server/auth/auth_policy.h"
#include "server/records/repository_names.h"
#include "server/request_gate.h"
#include "tests/records/transfer.h"

namespace ember::records {
namespace {

namespace v1 = ::ember::records::v1;
namespace fs = std::filesystem;
using recorder::Precision;
using recorder::RecordFormat;
using testing::CallOptions;
using testing::DownloadRecord;
using testing::DownloadResult;
using testing::UploadRecord;
using testing::UploadResult;

const char kWriteToken[] = "write-token-for-records-tests";
const char kReadToken[] = "read-token-for-records-tests";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string RunfilePath(const std::string& relative) {
  return std::string(getenv("TEST_SRCDIR")) + "/ember/" + relative;
}

struct Fixture {
  std::string file;   // under tests/fixtures/burn
  std::string model;  // directory under tests/fixtures/models
};

const std::vector<Fixture>& Fixtures() {
  static const auto* fixtures = new std::vector<Fixture>{
      {"connect4-mlp-f32-burn0.16.1.mpk", "connect4"},
      {"lenet-mnist-f16-burn0.18.0.mpk", "lenet"},
      {"mlp-mnist-f16-burn0.12.1.mpk", "mlp"},
      {"cnn-mnist-f16-burn0.11.0.mpk.gz", "cnn"},
      {"lstm-f16-burn0.17.0.mpk", "lstm"},
  };
  return *fixtures;
}

std::string FixtureBytes(const std::string& file) {
  return ReadFile(RunfilePath("tests/fixtures/burn/" + file));
}

// The fixture's model config (tests/fixtures/models/<fixture>/config.pbtxt)
// for a model named `model`, with `edit` applied, as text.
std::string ConfigText(
    const std::string& fixture, const std::string& model,
    const std::function<void(config::ModelConfig&)>& edit = nullptr) {
  const std::string path =
      RunfilePath("tests/fixtures/models/" + fixture + "/config.pbtxt");
  config::ModelConfig config;
  EXPECT_TRUE(
      google::protobuf::TextFormat::ParseFromString(ReadFile(path), &config))
      << path;
  config.set_name(model);
  if (edit) edit(config);
  std::string text;
  google::protobuf::TextFormat::PrintToString(config, &text);
  return text;
}

// What the codec itself produces for `bytes` at `precision` and `format`.
std::string CodecConvert(const std::string& bytes, Precision precision,
                         RecordFormat format) {
  auto record = recorder::DecodeRecord(
      std::make_shared<const std::string>(bytes), "expected");
  EXPECT_TRUE(record.ok()) << record.status();
  auto converted = recorder::ConvertRecord(*record, precision, format);
  EXPECT_TRUE(converted.ok()) << converted.status();
  auto encoded = recorder::EncodeRecord(*converted, format);
  EXPECT_TRUE(encoded.ok()) << encoded.status();
  return *encoded;
}

Precision ToCodec(v1::Precision p) {
  return p == v1::PRECISION_HALF     ? Precision::kHalf
         : p == v1::PRECISION_DOUBLE ? Precision::kDouble
                                     : Precision::kFull;
}

// Every file under `dir` with its contents, to prove nothing changed.
std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    const std::string rel = fs::relative(entry.path(), dir).string();
    files[rel] = entry.is_regular_file() ? ReadFile(entry.path()) : "<dir>";
  }
  return files;
}

class RecordsServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = std::string(getenv("TEST_TMPDIR")) + "/repo-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(repo_);
    fs::create_directories(repo_);
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  // Starts the service with `options` (repository and tokens filled in
  // when unset).
  void Start(RecordsService::Options options = {}) {
    if (options.repository.empty()) options.repository = repo_;
    if (options.auth == nullptr) {
      auth::AuthPolicy::Options tokens;
      tokens.write_tokens = {kWriteToken};
      tokens.read_tokens = {kReadToken};
      options.auth = *auth::AuthPolicy::Create(tokens);
    }
    auto service = RecordsService::Create(std::move(options));
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = *std::move(service);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::Records::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }

  UploadResult Upload(const v1::UploadHeader& header, const std::string& bytes,
                      CallOptions options = {}) {
    if (options.token.empty()) options.token = kWriteToken;
    if (options.chunk_size == (1 << 20)) options.chunk_size = 64 << 10;
    return UploadRecord(*stub_, header, bytes, options);
  }

  // Uploads a fixture as a new model (with its config).
  UploadResult UploadNew(const Fixture& fixture, const std::string& model,
                         v1::Precision precision = v1::PRECISION_KEEP,
                         v1::RecordFormat format = v1::FORMAT_KEEP) {
    v1::UploadHeader header;
    header.set_model(model);
    header.set_precision(precision);
    header.set_format(format);
    header.set_config_pbtxt(ConfigText(fixture.model, model));
    return Upload(header, FixtureBytes(fixture.file));
  }

  DownloadResult Download(const std::string& model, int64_t version,
                          v1::Precision precision, v1::RecordFormat format,
                          const std::string& token = kReadToken) {
    v1::DownloadRequest request;
    request.set_model(model);
    request.set_version(version);
    request.set_precision(precision);
    request.set_format(format);
    CallOptions options;
    options.token = token;
    return DownloadRecord(*stub_, request, options);
  }

  grpc::Status List(const std::string& model, v1::ListRecordsResponse* out,
                    const std::string& token = kReadToken) {
    grpc::ClientContext context;
    if (!token.empty()) {
      context.AddMetadata("authorization", std::string("Bearer ") + token);
    }
    v1::ListRecordsRequest request;
    request.set_model(model);
    return stub_->ListRecords(&context, request, out);
  }

  std::string repo_;
  std::unique_ptr<RecordsService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Records::Stub> stub_;
};

const v1::Precision kPrecisions[] = {v1::PRECISION_KEEP, v1::PRECISION_FULL,
                                     v1::PRECISION_HALF, v1::PRECISION_DOUBLE};

TEST_F(RecordsServiceTest, RoundTripsEveryFixtureAtEveryPrecision) {
  Start();
  for (const Fixture& fixture : Fixtures()) {
    const std::string original = FixtureBytes(fixture.file);
    const RecordFormat sent_format = *recorder::FormatForPath(fixture.file);
    const Precision sent_precision =
        *recorder::RecordPrecision(*recorder::DecodeRecord(
            std::make_shared<const std::string>(original), fixture.file));
    for (v1::Precision up : kPrecisions) {
      SCOPED_TRACE(
          absl::StrCat(fixture.file, " uploaded at ", v1::Precision_Name(up)));
      const std::string model =
          absl::StrCat(fixture.model, "-", v1::Precision_Name(up));
      UploadResult result = UploadNew(fixture, model, up);
      ASSERT_TRUE(result.status.ok()) << result.status.error_message();
      const v1::RecordInfo& info = result.response.record();
      EXPECT_EQ(info.version(), 1);

      // What is stored is what the codec produces, or the upload itself.
      const std::string stored_path =
          absl::StrCat(repo_, "/", model, "/1/model",
                       recorder::FormatExtension(sent_format));
      const std::string stored = ReadFile(stored_path);
      // Bytes already at the wanted precision and format are stored as
      // sent (a gzip file keeps Burn's own compression).
      const std::string expected =
          up == v1::PRECISION_KEEP || ToCodec(up) == sent_precision
              ? original
              : CodecConvert(original, ToCodec(up), sent_format);
      ASSERT_EQ(stored.size(), expected.size());
      EXPECT_TRUE(stored == expected);
      EXPECT_EQ(info.size(), stored.size());
      EXPECT_EQ(info.sha256(), Sha256Hex(stored));
      if (up != v1::PRECISION_KEEP) {
        EXPECT_EQ(info.precision(), up);
      }

      // Downloads: as stored gives the file unchanged; any precision gives
      // exactly the codec's conversion of the stored record.
      DownloadResult same =
          Download(model, 1, v1::PRECISION_KEEP, v1::FORMAT_KEEP);
      ASSERT_TRUE(same.status.ok()) << same.status.error_message();
      EXPECT_TRUE(same.bytes == stored);
      EXPECT_EQ(same.metadata.sha256(), Sha256Hex(stored));
      EXPECT_EQ(same.metadata.size(), stored.size());
      EXPECT_EQ(same.metadata.precision(), info.precision());
      for (v1::Precision down : kPrecisions) {
        if (down == v1::PRECISION_KEEP) continue;
        for (v1::RecordFormat format : {v1::FORMAT_MPK, v1::FORMAT_MPK_GZ}) {
          SCOPED_TRACE(absl::StrCat("downloaded at ", v1::Precision_Name(down),
                                    " ", v1::RecordFormat_Name(format)));
          DownloadResult got = Download(model, 1, down, format);
          ASSERT_TRUE(got.status.ok()) << got.status.error_message();
          // At the stored precision and format: the stored bytes (for a
          // gzip file, Burn's own compression, not the codec's).
          const bool as_stored =
              down == info.precision() && format == same.metadata.format();
          const std::string want =
              as_stored ? stored
                        : CodecConvert(stored, ToCodec(down),
                                       format == v1::FORMAT_MPK_GZ
                                           ? RecordFormat::kMpkGz
                                           : RecordFormat::kMpk);
          ASSERT_EQ(got.bytes.size(), want.size());
          EXPECT_TRUE(got.bytes == want);
          EXPECT_EQ(got.metadata.sha256(), Sha256Hex(want));
          EXPECT_EQ(got.metadata.size(), want.size());
          EXPECT_EQ(got.metadata.precision(), down);
          EXPECT_EQ(got.metadata.format(), format);
        }
      }
    }
  }
}

TEST_F(RecordsServiceTest, HalfIntoFullModelAndTheReverse) {
  Start();
  const Fixture& connect4 = Fixtures()[0];  // f32
  const Fixture& lenet = Fixtures()[1];     // f16
  ASSERT_TRUE(UploadNew(connect4, "c4").status.ok());
  ASSERT_TRUE(UploadNew(lenet, "lenet").status.ok());

  // A half record, kept half, becomes version 2 of the full model.
  const std::string half = CodecConvert(FixtureBytes(connect4.file),
                                        Precision::kHalf, RecordFormat::kMpk);
  v1::UploadHeader header;
  header.set_model("c4");
  UploadResult kept = Upload(header, half);
  ASSERT_TRUE(kept.status.ok()) << kept.status.error_message();
  EXPECT_EQ(kept.response.record().version(), 2);
  EXPECT_EQ(kept.response.record().precision(), v1::PRECISION_HALF);
  EXPECT_TRUE(ReadFile(repo_ + "/c4/2/model.mpk") == half);

  // The same half record stored at full precision.
  header.set_precision(v1::PRECISION_FULL);
  UploadResult widened = Upload(header, half);
  ASSERT_TRUE(widened.status.ok()) << widened.status.error_message();
  EXPECT_EQ(widened.response.record().version(), 3);
  EXPECT_TRUE(ReadFile(repo_ + "/c4/3/model.mpk") ==
              CodecConvert(half, Precision::kFull, RecordFormat::kMpk));

  // A full record into the half model, stored half, as .mpk.gz.
  const std::string full = CodecConvert(FixtureBytes(lenet.file),
                                        Precision::kFull, RecordFormat::kMpk);
  header.set_model("lenet");
  header.set_precision(v1::PRECISION_HALF);
  header.set_format(v1::FORMAT_MPK_GZ);
  UploadResult narrowed = Upload(header, full);
  ASSERT_TRUE(narrowed.status.ok()) << narrowed.status.error_message();
  EXPECT_EQ(narrowed.response.record().format(), v1::FORMAT_MPK_GZ);
  EXPECT_EQ(narrowed.response.record().file_name(), "model.mpk.gz");
  EXPECT_TRUE(ReadFile(repo_ + "/lenet/2/model.mpk.gz") ==
              CodecConvert(full, Precision::kHalf, RecordFormat::kMpkGz));

  v1::ListRecordsResponse list;
  ASSERT_TRUE(List("c4", &list).ok());
  ASSERT_EQ(list.records_size(), 3);
  EXPECT_EQ(list.records(0).precision(), v1::PRECISION_FULL);
  EXPECT_EQ(list.records(1).precision(), v1::PRECISION_HALF);
  EXPECT_EQ(list.records(2).precision(), v1::PRECISION_FULL);
}

TEST_F(RecordsServiceTest, EmptyModelListsTheWholeRepository) {
  Start();
  ASSERT_TRUE(UploadNew(Fixtures()[0], "zeta").status.ok());
  ASSERT_TRUE(UploadNew(Fixtures()[0], "alpha").status.ok());
  ASSERT_TRUE(UploadNew(Fixtures()[0], "alpha").status.ok());
  // Neither a hidden directory nor a model without records adds a row.
  fs::create_directories(repo_ + "/.cache/1");
  fs::create_directories(repo_ + "/empty");
  v1::ListRecordsResponse list;
  ASSERT_TRUE(List("", &list).ok());
  ASSERT_EQ(list.records_size(), 3);
  EXPECT_EQ(list.records(0).model(), "alpha");
  EXPECT_EQ(list.records(0).version(), 1);
  EXPECT_EQ(list.records(1).model(), "alpha");
  EXPECT_EQ(list.records(1).version(), 2);
  EXPECT_EQ(list.records(2).model(), "zeta");
  EXPECT_EQ(list.records(2).version(), 1);
  EXPECT_EQ(list.records(2).precision(), v1::PRECISION_FULL);
  EXPECT_EQ(list.records(2).sha256(), list.records(0).sha256());
}

// Each refused upload leaves the repository exactly as it was.
class RefusedUploadTest : public RecordsServiceTest {
 protected:
  void SetUp() override {
    RecordsServiceTest::SetUp();
    Start();
    ASSERT_TRUE(UploadNew(Fixtures()[0], "c4").status.ok());
    before_ = Snapshot(repo_);
    bytes_ = FixtureBytes(Fixtures()[0].file);
    header_.set_model("c4");
  }

  void ExpectRefused(const UploadResult& result, grpc::StatusCode code) {
    EXPECT_EQ(result.status.error_code(), code)
        << result.status.error_message();
    // A cancelled call can end on the client before the handler has
    // cleaned up; the slot frees only after the staged files are gone.
    while (service_->ActiveUploads() > 0) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    EXPECT_EQ(Snapshot(repo_), before_) << "the repository changed";
  }

  // Uploads `bytes_` with `header_` while files are limited to
  // `max_file_bytes`: write() then fails with EFBIG as on a full disk
  // (ENOSPC); both must answer RESOURCE_EXHAUSTED and change nothing.
  void ExpectFullDisk(rlim_t max_file_bytes) {
    struct rlimit old_limit;
    ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit limit = {max_file_bytes, old_limit.rlim_max};
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limit), 0);
    UploadResult result = Upload(header_, bytes_);
    setrlimit(RLIMIT_FSIZE, &old_limit);
    ExpectRefused(result, grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_TRUE(absl::StrContains(result.status.error_message(), "too large"))
        << result.status.error_message();
  }

  std::map<std::string, std::string> before_;
  std::string bytes_;
  v1::UploadHeader header_;
};

TEST_F(RefusedUploadTest, WrongDigest) {
  header_.set_sha256(Sha256Hex("something else"));
  ExpectRefused(Upload(header_, bytes_), grpc::StatusCode::DATA_LOSS);
  header_.set_sha256("not-hex");
  ExpectRefused(Upload(header_, bytes_), grpc::StatusCode::INVALID_ARGUMENT);
  // The right digest, in upper case, is accepted.
  header_.set_sha256(absl::AsciiStrToUpper(Sha256Hex(bytes_)));
  EXPECT_TRUE(Upload(header_, bytes_).status.ok());
}

// A client that hashes while it sends puts the digest in the trailer; it is
// checked like the header's, and the trailer must end the stream.
TEST_F(RefusedUploadTest, DigestInTheTrailer) {
  CallOptions wrong;
  wrong.trailer_sha256 = Sha256Hex("something else");
  ExpectRefused(Upload(header_, bytes_, wrong), grpc::StatusCode::DATA_LOSS);
  CallOptions malformed;
  malformed.trailer_sha256 = "not-hex";
  ExpectRefused(Upload(header_, bytes_, malformed),
                grpc::StatusCode::INVALID_ARGUMENT);
  CallOptions then_more;
  then_more.trailer_sha256 = Sha256Hex(bytes_);
  then_more.after_trailer = "more";
  ExpectRefused(Upload(header_, bytes_, then_more),
                grpc::StatusCode::INVALID_ARGUMENT);
  // Header and trailer must both agree with the payload when both are set.
  CallOptions right;
  right.trailer_sha256 = absl::AsciiStrToUpper(Sha256Hex(bytes_));
  header_.set_sha256(Sha256Hex("something else"));
  ExpectRefused(Upload(header_, bytes_, right), grpc::StatusCode::DATA_LOSS);
  header_.clear_sha256();
  UploadResult stored = Upload(header_, bytes_, right);
  ASSERT_TRUE(stored.status.ok()) << stored.status.error_message();
  EXPECT_EQ(stored.response.record().sha256(), Sha256Hex(bytes_));
}

TEST_F(RefusedUploadTest, TruncatedStream) {
  const std::string truncated = bytes_.substr(0, bytes_.size() / 2);
  header_.set_total_size(bytes_.size());
  ExpectRefused(Upload(header_, truncated), grpc::StatusCode::DATA_LOSS);
  // Without a declared size the record itself is found incomplete.
  header_.clear_total_size();
  ExpectRefused(Upload(header_, truncated), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(RefusedUploadTest, ClientGoesAwayMidUpload) {
  grpc::ClientContext context;
  context.AddMetadata("authorization", std::string("Bearer ") + kWriteToken);
  v1::UploadResponse response;
  auto writer = stub_->Upload(&context, &response);
  v1::UploadRequest message;
  *message.mutable_header() = header_;
  ASSERT_TRUE(writer->Write(message));
  message.set_chunk(bytes_.substr(0, 4096));
  ASSERT_TRUE(writer->Write(message));
  // The server is receiving (it holds the upload slot) when the client
  // goes away.
  while (service_->ActiveUploads() == 0) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  context.TryCancel();
  UploadResult result;
  result.status = writer->Finish();
  ExpectRefused(result, grpc::StatusCode::CANCELLED);
}

TEST_F(RefusedUploadTest, RecordThatDoesNotFitTheArchitecture) {
  UploadResult result = Upload(header_, FixtureBytes(Fixtures()[1].file));
  ExpectRefused(result, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(result.status.error_message(), "c4"))
      << result.status.error_message();
  ExpectRefused(Upload(header_, "not a record at all"),
                grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(RefusedUploadTest, BadNamesAndVersions) {
  for (const char* name : {"../c4", "c4/2", ".c4", "", "a..b"}) {
    header_.set_model(name);
    ExpectRefused(Upload(header_, bytes_), grpc::StatusCode::INVALID_ARGUMENT);
  }
  header_.set_model("c4");
  for (int64_t version : {int64_t{-1}, kMaxVersion + 1}) {
    header_.set_version(version);
    ExpectRefused(Upload(header_, bytes_), grpc::StatusCode::INVALID_ARGUMENT);
  }
  header_.set_version(1);  // exists
  ExpectRefused(Upload(header_, bytes_), grpc::StatusCode::ALREADY_EXISTS);
  header_.set_version(0);
  header_.set_precision(static_cast<v1::Precision>(v1::PRECISION_MIXED));
  ExpectRefused(Upload(header_, bytes_), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(RefusedUploadTest, MissingAndWrongTokens) {
  ExpectRefused(UploadRecord(*stub_, header_, bytes_, {}),
                grpc::StatusCode::UNAUTHENTICATED);
  CallOptions wrong;
  wrong.token = "not-the-write-token-at-all";
  ExpectRefused(UploadRecord(*stub_, header_, bytes_, wrong),
                grpc::StatusCode::PERMISSION_DENIED);
  CallOptions read_only;
  read_only.token = kReadToken;
  ExpectRefused(UploadRecord(*stub_, header_, bytes_, read_only),
                grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(RefusedUploadTest, ConfigRules) {
  // A model that does not exist needs a config.
  header_.set_model("newcomer");
  ExpectRefused(Upload(header_, bytes_), grpc::StatusCode::NOT_FOUND);
  // A different config for an existing model needs replace_config.
  header_.set_model("c4");
  const std::string other =
      ConfigText("connect4", "c4",
                 [](config::ModelConfig& c) { c.set_max_batch_size(8); });
  header_.set_config_pbtxt(other);
  ExpectRefused(Upload(header_, bytes_), grpc::StatusCode::ALREADY_EXISTS);
  // A config that does not parse, or names another model.
  header_.set_config_pbtxt("layers { nonsense");
  ExpectRefused(Upload(header_, bytes_), grpc::StatusCode::INVALID_ARGUMENT);
  header_.set_config_pbtxt(ConfigText("connect4", "other"));
  ExpectRefused(Upload(header_, bytes_), grpc::StatusCode::INVALID_ARGUMENT);
  // A different config that the record does not fit is refused even with
  // replace_config, and the old config stays.
  header_.set_config_pbtxt(ConfigText("lenet", "c4"));
  header_.set_replace_config(true);
  ExpectRefused(Upload(header_, bytes_), grpc::StatusCode::INVALID_ARGUMENT);

  // The same config is accepted; a replacement with the flag replaces.
  header_.set_replace_config(false);
  header_.set_config_pbtxt(ConfigText("connect4", "c4"));
  EXPECT_TRUE(Upload(header_, bytes_).status.ok());
  header_.set_config_pbtxt(other);
  header_.set_replace_config(true);
  UploadResult replaced = Upload(header_, bytes_);
  ASSERT_TRUE(replaced.status.ok()) << replaced.status.error_message();
  EXPECT_EQ(ReadFile(repo_ + "/c4/config.pbtxt"), other);
  EXPECT_EQ(replaced.response.record().version(), 3);
}

TEST_F(RefusedUploadTest, FullDiskLeavesNothing) {
  // The record itself is larger than the limit.
  ASSERT_GT(bytes_.size(), 16u << 10);
  ExpectFullDisk(16 << 10);
}

TEST_F(RefusedUploadTest, FullDiskWhileWritingTheConversionLeavesNothing) {
  // The f32 record (about 20 KiB) arrives under the limit; its f64
  // conversion (about 40 KiB) does not fit.
  ASSERT_LT(bytes_.size(), 32u << 10);
  header_.set_precision(v1::PRECISION_DOUBLE);
  ExpectFullDisk(32 << 10);
}

TEST_F(RecordsServiceTest, ExplicitVersionsAndTheNextOne) {
  Start();
  const Fixture& fixture = Fixtures()[0];
  v1::UploadHeader header;
  header.set_model("c4");
  header.set_version(42);
  header.set_config_pbtxt(ConfigText(fixture.model, "c4"));
  const std::string bytes = FixtureBytes(fixture.file);
  UploadResult first = Upload(header, bytes);
  ASSERT_TRUE(first.status.ok()) << first.status.error_message();
  EXPECT_EQ(first.response.record().version(), 42);
  header.set_version(7);
  ASSERT_TRUE(Upload(header, bytes).status.ok());
  header.set_version(0);
  UploadResult next = Upload(header, bytes);
  ASSERT_TRUE(next.status.ok());
  EXPECT_EQ(next.response.record().version(), 43);
  header.set_version(kMaxVersion);
  ASSERT_TRUE(Upload(header, bytes).status.ok());
  EXPECT_TRUE(fs::exists(repo_ + "/c4/9007199254740992/model.mpk"));
  header.set_version(0);
  EXPECT_EQ(Upload(header, bytes).status.error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(RecordsServiceTest, ConfigRecordFileDecidesNameAndFormat) {
  Start();
  const Fixture& fixture = Fixtures()[0];
  const std::string bytes = FixtureBytes(fixture.file);
  v1::UploadHeader header;
  header.set_model("c4");
  header.set_config_pbtxt(ConfigText(
      fixture.model, "c4",
      [](config::ModelConfig& c) { c.set_record_file("weights.mpk.gz"); }));
  header.set_format(v1::FORMAT_MPK);
  EXPECT_EQ(Upload(header, bytes).status.error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_FALSE(fs::exists(repo_ + "/c4"));

  header.set_format(v1::FORMAT_KEEP);
  UploadResult result = Upload(header, bytes);
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.response.record().file_name(), "weights.mpk.gz");
  EXPECT_EQ(result.response.record().format(), v1::FORMAT_MPK_GZ);
  const std::string stored = ReadFile(repo_ + "/c4/1/weights.mpk.gz");
  EXPECT_TRUE(stored ==
              CodecConvert(bytes, Precision::kFull, RecordFormat::kMpkGz));
  DownloadResult got = Download("c4", 1, v1::PRECISION_KEEP, v1::FORMAT_KEEP);
  ASSERT_TRUE(got.status.ok()) << got.status.error_message();
  EXPECT_TRUE(got.bytes == stored);
  EXPECT_EQ(got.metadata.file_name(), "weights.mpk.gz");
  got = Download("c4", 1, v1::PRECISION_KEEP, v1::FORMAT_MPK);
  ASSERT_TRUE(got.status.ok()) << got.status.error_message();
  EXPECT_TRUE(got.bytes == bytes);

  // A record_file that would leave the version directory is refused.
  header.set_model("c5");
  header.set_config_pbtxt(ConfigText(
      fixture.model, "c5",
      [](config::ModelConfig& c) { c.set_record_file("../escape.mpk"); }));
  EXPECT_EQ(Upload(header, bytes).status.error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_FALSE(fs::exists(repo_ + "/c5"));
}

TEST_F(RecordsServiceTest, ModelDirectoryWithoutConfigGetsOne) {
  Start();
  ASSERT_TRUE(fs::create_directories(repo_ + "/c4"));
  v1::UploadHeader header;
  header.set_model("c4");
  const std::string bytes = FixtureBytes(Fixtures()[0].file);
  EXPECT_EQ(Upload(header, bytes).status.error_code(),
            grpc::StatusCode::NOT_FOUND);
  header.set_config_pbtxt(ConfigText("connect4", "c4"));
  UploadResult result = Upload(header, bytes);
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(ReadFile(repo_ + "/c4/config.pbtxt"), header.config_pbtxt());

  // A broken config is only replaced on request.
  std::ofstream(repo_ + "/c4/config.pbtxt", std::ios::trunc) << "layers {";
  EXPECT_EQ(Upload(header, bytes).status.error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  header.set_replace_config(true);
  EXPECT_TRUE(Upload(header, bytes).status.ok());
}

TEST_F(RecordsServiceTest, UploadLimitIsEnforced) {
  RecordsService::Options options;
  options.max_upload_bytes = 10000;
  Start(options);
  ASSERT_TRUE(fs::create_directories(repo_ + "/c4"));
  std::ofstream(repo_ + "/c4/config.pbtxt") << ConfigText("connect4", "c4");
  v1::UploadHeader header;
  header.set_model("c4");
  UploadResult result = Upload(header, FixtureBytes(Fixtures()[0].file));
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  header.set_total_size(20000);
  result = Upload(header, "x");
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_FALSE(fs::exists(repo_ + "/c4/1"));
}

TEST_F(RecordsServiceTest, ExcessUploadsGetResourceExhausted) {
  RecordsService::Options options;
  options.max_concurrent_uploads = 1;
  options.admission_timeout = absl::ZeroDuration();
  Start(options);
  const Fixture& fixture = Fixtures()[0];
  ASSERT_TRUE(UploadNew(fixture, "c4").status.ok());
  const std::string bytes = FixtureBytes(fixture.file);

  // A slow upload holds the only slot while it streams.
  grpc::ClientContext slow_context;
  slow_context.AddMetadata("authorization",
                           std::string("Bearer ") + kWriteToken);
  v1::UploadResponse slow_response;
  auto slow = stub_->Upload(&slow_context, &slow_response);
  v1::UploadRequest message;
  message.mutable_header()->set_model("c4");
  ASSERT_TRUE(slow->Write(message));
  message.set_chunk(bytes.substr(0, 100));
  ASSERT_TRUE(slow->Write(message));
  while (service_->ActiveUploads() == 0) absl::SleepFor(absl::Milliseconds(1));

  v1::UploadHeader header;
  header.set_model("c4");
  UploadResult refused = Upload(header, bytes);
  EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << refused.status.error_message();

  message.set_chunk(bytes.substr(100));
  ASSERT_TRUE(slow->Write(message));
  ASSERT_TRUE(slow->WritesDone());
  grpc::Status finished = slow->Finish();
  ASSERT_TRUE(finished.ok()) << finished.error_message();
  EXPECT_EQ(slow_response.record().version(), 2);
  EXPECT_EQ(service_->ActiveUploads(), 0);
}

// A draining server lets the upload it is receiving finish, and turns new
// calls away with UNAVAILABLE so clients retry on another replica.
TEST_F(RecordsServiceTest, DrainFinishesTheUploadInFlightAndRefusesNewCalls) {
  server::RequestGate gate;
  RecordsService::Options options;
  options.gate = &gate;
  Start(options);
  const Fixture& fixture = Fixtures()[0];
  ASSERT_TRUE(UploadNew(fixture, "c4").status.ok());
  EXPECT_EQ(gate.in_flight(), 0);
  const std::string bytes = FixtureBytes(fixture.file);

  grpc::ClientContext context;
  context.AddMetadata("authorization", std::string("Bearer ") + kWriteToken);
  v1::UploadResponse response;
  auto upload = stub_->Upload(&context, &response);
  v1::UploadRequest message;
  message.mutable_header()->set_model("c4");
  ASSERT_TRUE(upload->Write(message));
  message.set_chunk(bytes.substr(0, 100));
  ASSERT_TRUE(upload->Write(message));
  while (service_->ActiveUploads() == 0) absl::SleepFor(absl::Milliseconds(1));

  gate.StartDraining();
  EXPECT_FALSE(gate.AwaitIdle(absl::Now() + absl::Milliseconds(50)));
  v1::UploadHeader header;
  header.set_model("c4");
  EXPECT_EQ(Upload(header, bytes).status.error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Download("c4", 1, v1::PRECISION_KEEP, v1::FORMAT_KEEP)
                .status.error_code(),
            grpc::StatusCode::UNAVAILABLE);
  v1::ListRecordsResponse listed;
  EXPECT_EQ(List("c4", &listed).error_code(), grpc::StatusCode::UNAVAILABLE);

  message.set_chunk(bytes.substr(100));
  ASSERT_TRUE(upload->Write(message));
  ASSERT_TRUE(upload->WritesDone());
  grpc::Status finished = upload->Finish();
  ASSERT_TRUE(finished.ok()) << finished.error_message();
  EXPECT_EQ(response.record().version(), 2);
  EXPECT_TRUE(gate.AwaitIdle(absl::Now() + absl::Seconds(10)));
  EXPECT_EQ(ReadFile(repo_ + "/c4/2/model.mpk"), bytes);
}

TEST_F(RecordsServiceTest, WaitsUntilServingThroughTheCallback) {
  std::vector<std::pair<std::string, int64_t>> asked;
  RecordsService::Options options;
  options.wait_until_serving = [&](const std::string& model, int64_t version,
                                   absl::Time deadline) {
    asked.emplace_back(model, version);
    EXPECT_GT(deadline, absl::Now());
    EXPECT_LT(deadline, absl::Now() + absl::Seconds(6));
    return version == 1 ? absl::OkStatus()
                        : absl::UnavailableError("load failed: bad weights");
  };
  Start(options);
  v1::UploadHeader header;
  header.set_model("c4");
  header.set_config_pbtxt(ConfigText("connect4", "c4"));
  header.set_wait_until_serving(true);
  header.set_wait_timeout_ms(5000);
  const std::string bytes = FixtureBytes(Fixtures()[0].file);
  UploadResult first = Upload(header, bytes);
  ASSERT_TRUE(first.status.ok()) << first.status.error_message();
  EXPECT_TRUE(first.response.serving());
  UploadResult second = Upload(header, bytes);
  ASSERT_TRUE(second.status.ok());
  EXPECT_FALSE(second.response.serving());
  EXPECT_EQ(second.response.serving_message(), "load failed: bad weights");
  EXPECT_EQ(asked, (std::vector<std::pair<std::string, int64_t>>{{"c4", 1},
                                                                 {"c4", 2}}));
}

TEST_F(RecordsServiceTest, WaitWithoutCallbackSaysSo) {
  Start();
  v1::UploadHeader header;
  header.set_model("c4");
  header.set_config_pbtxt(ConfigText("connect4", "c4"));
  header.set_wait_until_serving(true);
  UploadResult result = Upload(header, FixtureBytes(Fixtures()[0].file));
  ASSERT_TRUE(result.status.ok());
  EXPECT_FALSE(result.response.serving());
  EXPECT_FALSE(result.response.serving_message().empty());
}

TEST_F(RecordsServiceTest, DownloadPicksTheLatestReadyVersion) {
  int64_t ready = 0;
  RecordsService::Options options;
  options.latest_ready_version =
      [&](const std::string& model) -> absl::StatusOr<int64_t> {
    if (ready == 0) return absl::NotFoundError("nothing serving");
    return ready;
  };
  options.version_state = [&](const std::string& model, int64_t version) {
    return version == ready ? std::string("READY") : std::string("");
  };
  Start(options);
  const Fixture& fixture = Fixtures()[0];
  ASSERT_TRUE(UploadNew(fixture, "c4").status.ok());
  const std::string half = CodecConvert(FixtureBytes(fixture.file),
                                        Precision::kHalf, RecordFormat::kMpk);
  v1::UploadHeader header;
  header.set_model("c4");
  ASSERT_TRUE(Upload(header, half).status.ok());

  // Nothing serving: the highest version on disk.
  DownloadResult got = Download("c4", 0, v1::PRECISION_KEEP, v1::FORMAT_KEEP);
  ASSERT_TRUE(got.status.ok()) << got.status.error_message();
  EXPECT_EQ(got.metadata.version(), 2);
  EXPECT_TRUE(got.bytes == half);
  // Version 1 serving: that one.
  ready = 1;
  got = Download("c4", 0, v1::PRECISION_KEEP, v1::FORMAT_KEEP);
  EXPECT_EQ(got.metadata.version(), 1);
  EXPECT_EQ(got.metadata.state(), "READY");
  EXPECT_TRUE(got.bytes == FixtureBytes(fixture.file));

  v1::ListRecordsResponse list;
  ASSERT_TRUE(List("c4", &list).ok());
  ASSERT_EQ(list.records_size(), 2);
  EXPECT_EQ(list.records(0).state(), "READY");
  EXPECT_EQ(list.records(0).sha256(), Sha256Hex(FixtureBytes(fixture.file)));
  EXPECT_EQ(list.records(0).burn_version(), "0.16.1");
  EXPECT_EQ(list.records(0).settings(), "FullPrecisionSettings");
  EXPECT_EQ(list.records(1).sha256(), Sha256Hex(half));
  EXPECT_EQ(list.records(1).size(), half.size());
  EXPECT_EQ(list.records(1).settings(), "HalfPrecisionSettings");
}

TEST_F(RecordsServiceTest, DownloadsLargerThanOneChunkArriveInChunks) {
  Start();
  ASSERT_TRUE(UploadNew(Fixtures()[2], "mlp").status.ok());  // 1.2 MB
  v1::DownloadRequest request;
  request.set_model("mlp");
  request.set_chunk_size(64 << 10);
  CallOptions options;
  options.token = kReadToken;
  DownloadResult got = DownloadRecord(*stub_, request, options);
  ASSERT_TRUE(got.status.ok()) << got.status.error_message();
  EXPECT_TRUE(got.bytes == FixtureBytes(Fixtures()[2].file));
  EXPECT_EQ(got.chunks, static_cast<int>((got.bytes.size() + 65535) / 65536));
  // Converted on the way out: the same chunk sizes, in both formats.
  request.set_precision(v1::PRECISION_FULL);
  for (v1::RecordFormat format : {v1::FORMAT_MPK, v1::FORMAT_MPK_GZ}) {
    request.set_format(format);
    got = DownloadRecord(*stub_, request, options);
    ASSERT_TRUE(got.status.ok()) << got.status.error_message();
    EXPECT_TRUE(got.bytes ==
                CodecConvert(FixtureBytes(Fixtures()[2].file), Precision::kFull,
                             format == v1::FORMAT_MPK ? RecordFormat::kMpk
                                                      : RecordFormat::kMpkGz));
    EXPECT_EQ(got.chunks, static_cast<int>((got.bytes.size() + 65535) / 65536));
  }
  request.set_chunk_size(16);
  EXPECT_EQ(DownloadRecord(*stub_, request, options).status.error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// A record four times gRPC's default 4 MiB message limit moves both ways,
// as sent and converted, in 1 MiB messages.
TEST_F(RecordsServiceTest, RecordsFarLargerThanOneMessage) {
  Start();
  const int dim = 2048;  // 16 MiB of f32 weights
  absl::StatusOr<std::string> made = testing::SquareLinearRecord(dim);
  ASSERT_TRUE(made.ok()) << made.status();
  const std::string& bytes = *made;
  ASSERT_GT(bytes.size(), size_t{16} << 20);
  CallOptions big;
  big.token = kWriteToken;
  big.chunk_size = 1 << 20;
  big.trailer_sha256 = Sha256Hex(bytes);

  v1::UploadHeader header;
  header.set_model("wide");
  header.set_config_pbtxt(testing::SquareLinearConfig(dim));
  header.set_total_size(bytes.size());
  UploadResult as_sent = UploadRecord(*stub_, header, bytes, big);
  ASSERT_TRUE(as_sent.status.ok()) << as_sent.status.error_message();
  EXPECT_EQ(ReadFile(repo_ + "/wide/1/model.mpk"), bytes);

  header.clear_config_pbtxt();
  header.set_precision(v1::PRECISION_HALF);
  UploadResult half = UploadRecord(*stub_, header, bytes, big);
  ASSERT_TRUE(half.status.ok()) << half.status.error_message();
  const std::string want_half =
      CodecConvert(bytes, Precision::kHalf, RecordFormat::kMpk);
  EXPECT_TRUE(ReadFile(repo_ + "/wide/2/model.mpk") == want_half);

  DownloadResult stored =
      Download("wide", 1, v1::PRECISION_KEEP, v1::FORMAT_KEEP);
  ASSERT_TRUE(stored.status.ok()) << stored.status.error_message();
  EXPECT_TRUE(stored.bytes == bytes);
  EXPECT_GE(stored.chunks, 16);
  DownloadResult full =
      Download("wide", 2, v1::PRECISION_FULL, v1::FORMAT_KEEP);
  ASSERT_TRUE(full.status.ok()) << full.status.error_message();
  EXPECT_TRUE(full.bytes ==
              CodecConvert(want_half, Precision::kFull, RecordFormat::kMpk));
}

TEST_F(RecordsServiceTest, ReadsNeedTheReadToken) {
  Start();
  ASSERT_TRUE(UploadNew(Fixtures()[0], "c4").status.ok());
  EXPECT_EQ(Download("c4", 1, v1::PRECISION_KEEP, v1::FORMAT_KEEP, "")
                .status.error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Download("c4", 1, v1::PRECISION_KEEP, v1::FORMAT_KEEP,
                     "a-wrong-token-of-enough-length")
                .status.error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // The write token grants reads too.
  EXPECT_TRUE(
      Download("c4", 1, v1::PRECISION_KEEP, v1::FORMAT_KEEP, kWriteToken)
          .status.ok());
  v1::ListRecordsResponse list;
  EXPECT_EQ(List("c4", &list, "").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(RecordsServiceTest, DownloadErrors) {
  Start();
  ASSERT_TRUE(UploadNew(Fixtures()[0], "c4").status.ok());
  EXPECT_EQ(Download("nope", 0, v1::PRECISION_KEEP, v1::FORMAT_KEEP)
                .status.error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Download("c4", 7, v1::PRECISION_KEEP, v1::FORMAT_KEEP)
                .status.error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Download("../c4", 1, v1::PRECISION_KEEP, v1::FORMAT_KEEP)
                .status.error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Download("c4", -2, v1::PRECISION_KEEP, v1::FORMAT_KEEP)
                .status.error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  // A corrupt file on disk is reported, not served.
  std::ofstream(repo_ + "/c4/1/model.mpk", std::ios::trunc) << "garbage";
  EXPECT_EQ(Download("c4", 1, v1::PRECISION_HALF, v1::FORMAT_KEEP)
                .status.error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::ListRecordsResponse list;
  ASSERT_TRUE(List("c4", &list).ok());
  ASSERT_EQ(list.records_size(), 1);
  EXPECT_EQ(list.records(0).size(), 7u);
  EXPECT_EQ(list.records(0).sha256(), "");
}

TEST_F(RecordsServiceTest, CreateChecksItsOptions) {
  RecordsService::Options options;
  options.repository = repo_;
  EXPECT_EQ(RecordsService::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);  // no auth policy
  options.auth = auth::AuthPolicy::Open();
  options.repository = repo_ + "/missing";
  EXPECT_EQ(RecordsService::Create(options).status().code(),
            absl::StatusCode::kNotFound);
  options.repository = repo_;
  EXPECT_TRUE(RecordsService::Create(options).ok());
}

}  // namespace
}  // namespace ember::records
