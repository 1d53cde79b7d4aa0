// End-to-end tests of the `ember` server commands: the real binary against
// the real emberd (plaintext, with bearer tokens, and with mutual TLS),
// checking output, messages and exit codes.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/auth/test_certificates.h"
#include "tests/client/emberd_process.h"

namespace ember::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kWriteToken[] = "cli-write-token-0123456789";
constexpr char kReadToken[] = "cli-read-token-0123456789";

CommandResult Ember(std::vector<std::string> args,
                    const RunOptions& options = {}) {
  args.insert(args.begin(), EmberBinary());
  return RunCommand(args, options);
}

std::string Describe(const CommandResult& r) {
  return absl::StrCat("exit ", r.exit_code, "\nstdout:\n", r.out, "\nstderr:\n",
                      r.err);
}

// The connect4 golden: inputs as an input file, expected outputs.
struct Golden {
  std::string input_json;
  std::vector<float> inputs;
  std::vector<double> outputs;
  double atol = 0, rtol = 0;
};

Golden Connect4Golden() {
  Golden golden;
  const std::string text =
      ReadWholeFile(Runfile("tests/fixtures/burn/golden/"
                            "connect4-mlp-f32-burn0.16.1.json"))
          .value();
  const json::Value doc = json::Parse(text).value();
  json::Value input = json::Value::MakeObject();
  input.Set("shape", *doc.Find("input_shape"));
  input.Set("data", *doc.Find("inputs"));
  golden.input_json = json::Write(input);
  for (const json::Value& v : doc.Find("inputs")->array()) {
    golden.inputs.push_back(static_cast<float>(v.number()));
  }
  for (const json::Value& v : doc.Find("outputs")->array()) {
    golden.outputs.push_back(v.number());
  }
  golden.atol = doc.Find("tolerance")->Find("atol")->number();
  golden.rtol = doc.Find("tolerance")->Find("rtol")->number();
  return golden;
}

// Checks `ember infer --json` output against the golden.
void ExpectGoldenJson(const std::string& out, const Golden& golden) {
  absl::StatusOr<json::Value> doc = json::Parse(out);
  ASSERT_TRUE(doc.ok()) << doc.status() << "\n" << out;
  EXPECT_EQ(doc->Find("model_name")->string_value(), "connect4");
  const json::Value& q = doc->Find("outputs")->array().at(0);
  EXPECT_EQ(q.Find("name")->string_value(), "q_values");
  EXPECT_EQ(json::Write(*q.Find("shape")), "[4,7]");
  const json::Value::Array& data = q.Find("data")->array();
  ASSERT_EQ(data.size(), golden.outputs.size());
  for (size_t i = 0; i < data.size(); ++i) {
    EXPECT_LE(std::fabs(data[i].number() - golden.outputs[i]),
              golden.atol + golden.rtol * std::fabs(golden.outputs[i]))
        << "element " << i;
  }
}

// A .npy v1 file of float32 values in C order (or Fortran order).
std::string NpyF4(const std::vector<int64_t>& shape,
                  const std::vector<float>& values, bool fortran = false) {
  std::string header = absl::StrCat(
      "{'descr': '<f4', 'fortran_order': ", fortran ? "True" : "False",
      ", 'shape': (", absl::StrJoin(shape, ", "),
      shape.size() == 1 ? ",)" : ")", ", }");
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  const uint16_t n = header.size();
  out.append(reinterpret_cast<const char*>(&n), 2);
  out += header;
  out.append(reinterpret_cast<const char*>(values.data()),
             values.size() * sizeof(float));
  return out;
}

// One emberd serving connect4, shared by the read-only tests.
class ServerCommandsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string repo = TempDir("cli-repo");
    ASSERT_TRUE(CopyFixtureModel("connect4", repo).ok());
    absl::StatusOr<std::unique_ptr<EmberdProcess>> server =
        EmberdProcess::Start({repo, {}});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
    ASSERT_TRUE(server_->WaitForModel("connect4").ok());
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  // `ember ARGS --server ADDRESS`.
  CommandResult Run(std::vector<std::string> args,
                    const RunOptions& options = {}) {
    args.push_back("--server=" + server_->address());
    return Ember(std::move(args), options);
  }

  static EmberdProcess* server_;
};

EmberdProcess* ServerCommandsTest::server_ = nullptr;

TEST_F(ServerCommandsTest, Health) {
  CommandResult r = Run({"health"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, AllOf(HasSubstr("live    true"), HasSubstr("ready   true"),
                           HasSubstr("health  SERVING")));

  r = Run({"health", "--model", "connect4", "--json"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  absl::StatusOr<json::Value> doc = json::Parse(r.out);
  ASSERT_TRUE(doc.ok()) << r.out;
  EXPECT_TRUE(doc->Find("model_ready")->bool_value());
  EXPECT_EQ(doc->Find("model_health")->string_value(), "SERVING");

  r = Run({"health", "--model", "no-such-model"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("model health  SERVICE_UNKNOWN"));
  EXPECT_THAT(r.err, HasSubstr("ember health: "));
}

TEST_F(ServerCommandsTest, ServerFromTheEnvironment) {
  CommandResult r =
      Ember({"health"}, {.env = {"EMBER_SERVER=" + server_->address()}});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr(server_->address()));
}

TEST_F(ServerCommandsTest, ModelsTableAndJson) {
  CommandResult r = Run({"models"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  const std::vector<std::string> lines = absl::StrSplit(r.out, '\n');
  ASSERT_GE(lines.size(), 2u);
  EXPECT_THAT(lines[0], AllOf(HasSubstr("MODEL"), HasSubstr("VERSION"),
                              HasSubstr("STATE"), HasSubstr("PRECISION"),
                              HasSubstr("SIZE"), HasSubstr("LAST ERROR")));
  // The stored record's facts come from the records service.
  EXPECT_THAT(r.out, ::testing::ContainsRegex("connect4 +1 +READY +full +"));

  r = Run({"models", "--json"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  absl::StatusOr<json::Value> doc = json::Parse(r.out);
  ASSERT_TRUE(doc.ok()) << r.out;
  ASSERT_TRUE(doc->is_array());
  bool found = false;
  for (const json::Value& row : doc->array()) {
    if (row.Find("name")->string_value() == "connect4") {
      found = true;
      EXPECT_EQ(row.Find("version")->string_value(), "1");
      EXPECT_EQ(row.Find("state")->string_value(), "READY");
      EXPECT_EQ(row.Find("precision")->string_value(), "full");
      EXPECT_EQ(row.Find("format")->string_value(), "mpk");
    }
  }
  EXPECT_TRUE(found) << r.out;
}

TEST_F(ServerCommandsTest, Metadata) {
  CommandResult r = Run({"metadata", "connect4"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, ::testing::ContainsRegex("board +FP32 +\\[-1, 42\\]"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("q_values +FP32 +\\[-1, 7\\]"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("version policy +latest 1"));
  EXPECT_THAT(r.out,
              ::testing::ContainsRegex("max batch size +0 \\(not batched\\)"));

  r = Run({"metadata", "connect4", "--json"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  absl::StatusOr<json::Value> doc = json::Parse(r.out);
  ASSERT_TRUE(doc.ok()) << r.out;
  EXPECT_EQ(json::Write(*doc->Find("inputs")),
            R"([{"name":"board","datatype":"FP32","shape":[-1,42]}])");
  EXPECT_EQ(json::Write(*doc->Find("version_policy")), R"("latest 1")");
  EXPECT_EQ(json::Write(*doc->Find("max_batch_size")), "0");

  r = Run({"metadata", "no-such-model"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.err,
              AllOf(HasSubstr("ember metadata: "), HasSubstr("no-such-model")));
  EXPECT_EQ(r.out, "");

  r = Run({"metadata"});
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("missing argument MODEL"));
}

TEST_F(ServerCommandsTest, InferFromJsonNpyAndStdinMatchesGolden) {
  const Golden golden = Connect4Golden();
  const std::string dir = TempDir("infer");
  ASSERT_TRUE(WriteWholeFile(dir + "/board.json", golden.input_json).ok());
  ASSERT_TRUE(
      WriteWholeFile(dir + "/board.npy", NpyF4({4, 42}, golden.inputs)).ok());

  CommandResult r = Run({"infer", "connect4", "--input",
                         "board=" + dir + "/board.json", "--json"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  ExpectGoldenJson(r.out, golden);

  r = Run({"infer", "connect4", "--input=board=" + dir + "/board.npy", "--json",
           "--output", "q_values"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  ExpectGoldenJson(r.out, golden);

  r = Run({"infer", "connect4", "--input", "board=-", "--json"},
          {.stdin_data = golden.input_json});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  ExpectGoldenJson(r.out, golden);

  // The table: a header, then one line per board of 7 values.
  r = Run({"infer", "connect4", "--input", "board=" + dir + "/board.npy"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("model connect4, version 1"));
  EXPECT_THAT(r.out, HasSubstr("q_values  FP32  [4, 7]"));
  EXPECT_THAT(r.out, HasSubstr("  [3]  "));
  EXPECT_THAT(r.out, HasSubstr("0.05404"));
}

TEST_F(ServerCommandsTest, InferFailures) {
  const std::string dir = TempDir("infer-bad");
  ASSERT_TRUE(WriteWholeFile(dir + "/bad.json", "{\"data\": [1, 2,").ok());
  ASSERT_TRUE(WriteWholeFile(dir + "/short.json",
                             "{\"shape\": [1, 41], \"data\": [" +
                                 absl::StrJoin(std::vector<int>(41, 0), ",") +
                                 "]}")
                  .ok());
  ASSERT_TRUE(WriteWholeFile(dir + "/fortran.npy",
                             NpyF4({2, 42}, std::vector<float>(84), true))
                  .ok());
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"infer", "connect4", "--input", "board=" + dir + "/bad.json"},
       1,
       "bad.json: not JSON or .npy: line 1"},
      {{"infer", "connect4", "--input", "board=" + dir + "/missing.json"},
       1,
       "cannot read " + dir + "/missing.json"},
      {{"infer", "connect4", "--input", "board=" + dir + "/fortran.npy"},
       1,
       "Fortran"},
      {{"infer", "connect4", "--input", "board=" + dir + "/short.json"},
       1,
       "board"},
      {{"infer", "connect4", "--input", "cells=" + dir + "/short.json"},
       1,
       "has no input 'cells' (its inputs: board)"},
      {{"infer", "no-such-model", "--input", "board=" + dir + "/short.json"},
       1,
       "no-such-model"},
      {{"infer", "connect4", "--version", "9", "--input",
        "board=" + dir + "/short.json"},
       1,
       "NOT_FOUND"},
      {{"infer", "connect4"}, 2, "at least one --input"},
      {{"infer", "connect4", "--input", "board"}, 2, "NAME=FILE"},
      {{"infer", "connect4", "--input", "a=-", "--input", "b=-"},
       2,
       "only one input can come from stdin"},
      {{"infer", "connect4", "--input", "a=x", "--timeout", "soon"},
       2,
       "--timeout"},
  };
  for (const Case& c : cases) {
    CommandResult r = Run(c.args);
    EXPECT_EQ(r.exit_code, c.exit_code) << Describe(r);
    EXPECT_THAT(r.err, HasSubstr(c.message)) << Describe(r);
    EXPECT_THAT(r.err, HasSubstr("ember infer: "));
  }
}

TEST(ServerDownTest, UnreachableServerIsExitThree) {
  // A port nothing listens on: bind one, learn its number, close it.
  const std::string repo = TempDir("down");
  absl::StatusOr<std::unique_ptr<EmberdProcess>> server =
      EmberdProcess::Start({repo, {}});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string address = (*server)->address();
  (*server)->Stop();

  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"health"},
           {"models"},
           {"metadata", "m"},
           {"infer", "m", "--input", "x=-"},
           {"load", "m"},
           {"download", "m", "-o", repo + "/out.mpk"}}) {
    args.push_back("--server=" + address);
    args.push_back("--timeout=10s");
    CommandResult r = Ember(args);
    EXPECT_EQ(r.exit_code, 3) << Describe(r);
    EXPECT_THAT(r.err, HasSubstr("cannot connect to " + address));
  }

  // A port that accepts TCP but never speaks HTTP/2: the deadline passes
  // while the channel is still connecting.
  const int silent = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(silent, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(addr);
  ASSERT_EQ(bind(silent, reinterpret_cast<sockaddr*>(&addr), length), 0);
  ASSERT_EQ(listen(silent, 8), 0);
  ASSERT_EQ(getsockname(silent, reinterpret_cast<sockaddr*>(&addr), &length),
            0);
  const std::string silent_address =
      absl::StrCat("127.0.0.1:", ntohs(addr.sin_port));
  CommandResult r =
      Ember({"health", "--server=" + silent_address, "--timeout=1s"});
  EXPECT_EQ(r.exit_code, 3) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("cannot connect to " + silent_address));
  close(silent);
  struct stat unused;
  EXPECT_NE(stat((repo + "/out.mpk").c_str(), &unused), 0);
}

TEST(RepositoryCommandsTest, UnloadThenLoad) {
  const std::string repo = TempDir("load-repo");
  ASSERT_TRUE(CopyFixtureModel("connect4", repo).ok());
  absl::StatusOr<std::unique_ptr<EmberdProcess>> server =
      EmberdProcess::Start({repo, {}});
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_TRUE((*server)->WaitForModel("connect4").ok());
  const std::string flag = "--server=" + (*server)->address();

  CommandResult r = Ember({"unload", "connect4", flag});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, "unloaded connect4\n");
  r = Ember({"health", "--model", "connect4", flag});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("model ready   false"));

  r = Ember({"load", "connect4", flag});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, "loaded connect4\n");
  ASSERT_TRUE((*server)->WaitForModel("connect4").ok());

  r = Ember({"load", "no-such-model", flag});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("ember load: "));
}

// Transfers against emberd's records service, with write and read tokens.
class TransferCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = TempDir("transfer-repo");
    ASSERT_TRUE(CopyFixtureModel("lenet", repo_).ok());
    const std::string secrets = TempDir("tokens");
    write_token_file_ = secrets + "/write";
    read_token_file_ = secrets + "/read";
    ASSERT_TRUE(WriteWholeFile(secrets + "/tokens",
                               absl::StrCat("write: ", kWriteToken,
                                            "\nread: ", kReadToken, "\n"))
                    .ok());
    chmod((secrets + "/tokens").c_str(), 0600);
    ASSERT_TRUE(
        WriteWholeFile(write_token_file_, absl::StrCat(kWriteToken, "\n"))
            .ok());
    ASSERT_TRUE(WriteWholeFile(read_token_file_, kReadToken).ok());
    absl::StatusOr<std::unique_ptr<EmberdProcess>> server =
        EmberdProcess::Start(
            {repo_, {"--auth_token_file=" + secrets + "/tokens"}});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(server).value();
    address_ = server_->address();
    record_ = Runfile("tests/fixtures/burn/lenet-mnist-f16-burn0.18.0.mpk");
  }

  CommandResult Run(std::vector<std::string> args,
                    const RunOptions& options = {}) {
    args.push_back("--server=" + address_);
    return Ember(std::move(args), options);
  }

  std::string repo_;
  std::string address_;
  std::string write_token_file_;
  std::string read_token_file_;
  std::string record_;
  std::unique_ptr<EmberdProcess> server_;
};

TEST_F(TransferCommandsTest, UploadPrintsPlainProgressWhenNotATerminal) {
  CommandResult r =
      Run({"upload", "lenet", record_, "--precision", "full", "--chunk-size",
           "65536", "--token-file", write_token_file_});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("uploaded lenet version 2: model.mpk"));
  EXPECT_THAT(r.out, HasSubstr("full precision, mpk, sha256 "));

  // 910672 bytes in 64 KiB chunks: one line per tenth, then a done line,
  // and never a carriage return.
  EXPECT_THAT(r.err, Not(HasSubstr("\r")));
  const std::vector<std::string> lines =
      absl::StrSplit(r.err, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 11u) << r.err;
  for (int i = 0; i < 10; ++i) {
    EXPECT_THAT(lines[i], ::testing::StartsWith(absl::StrCat("upload lenet: ")))
        << r.err;
    EXPECT_THAT(lines[i], HasSubstr(" of 889.3 KiB)"));
  }
  EXPECT_THAT(lines[0], ::testing::StartsWith("upload lenet: 1"));
  EXPECT_EQ(lines[9], "upload lenet: 100% (889.3 KiB of 889.3 KiB)");
  EXPECT_THAT(lines[10],
              ::testing::StartsWith("upload lenet: done, 889.3 KiB in "));
}

TEST_F(TransferCommandsTest, UploadJsonQuietAndTokenFromTheEnvironment) {
  CommandResult r = Run({"upload", "lenet", record_, "--version", "5",
                         "--format", "mpk.gz", "--json", "-q"},
                        {.env = {"EMBER_TOKEN_FILE=" + write_token_file_}});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.err, "");
  absl::StatusOr<json::Value> doc = json::Parse(r.out);
  ASSERT_TRUE(doc.ok()) << r.out;
  EXPECT_EQ(doc->Find("version")->int_value(), 5);
  EXPECT_EQ(doc->Find("format")->string_value(), "mpk.gz");
  EXPECT_EQ(doc->Find("precision")->string_value(), "half");
  EXPECT_EQ(doc->Find("sent_sha256")->string_value(),
            "c6a5b136507781c1ae7afc2c2b83ce5104076eb22b8eb6009d8637fe33287bae");
}

TEST_F(TransferCommandsTest, UploadFailures) {
  const std::string dir = TempDir("upload-bad");
  ASSERT_TRUE(WriteWholeFile(dir + "/junk.mpk", "not a record").ok());
  ASSERT_TRUE(WriteWholeFile(dir + "/wrong-token", "nope-nope-nope-nope").ok());
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"upload", "lenet", record_}, 1, "ember upload: "},
      {{"upload", "lenet", record_, "--token-file", dir + "/wrong-token"},
       1,
       "ember upload: "},
      {{"upload", "lenet", record_, "--token-file", read_token_file_},
       1,
       "ember upload: "},
      {{"upload", "lenet", dir + "/junk.mpk", "--token-file",
        write_token_file_},
       1,
       "ember upload: "},
      {{"upload", "lenet", dir + "/none.mpk", "--token-file",
        write_token_file_},
       1,
       "cannot open " + dir + "/none.mpk"},
      {{"upload", "lenet", record_, "--token-file", dir + "/no-token"},
       1,
       "cannot read token file " + dir + "/no-token"},
      {{"upload", "lenet", record_, "--precision", "quarter"},
       2,
       "expected full, half, double or as-is"},
      {{"upload", "lenet", record_, "--version", "0"}, 2, "--version"},
      {{"upload", "lenet", record_, "--chunk-size", "2048"},
       2,
       "--chunk-size takes 4096 .. 3145728 bytes"},
      {{"upload", "lenet"}, 2, "missing argument FILE"},
  };
  for (const Case& c : cases) {
    CommandResult r = Run(c.args);
    EXPECT_EQ(r.exit_code, c.exit_code) << Describe(r);
    EXPECT_THAT(r.err, HasSubstr(c.message)) << Describe(r);
    EXPECT_THAT(r.err, Not(HasSubstr(kWriteToken)));
  }
  // Nothing was stored by the refused uploads.
  struct stat unused;
  EXPECT_NE(stat((repo_ + "/lenet/2").c_str(), &unused), 0);
}

TEST_F(TransferCommandsTest, UploadCreatesAModelFromItsConfig) {
  const std::string dir = TempDir("new-model");
  std::string config =
      ReadWholeFile(Runfile("tests/fixtures/models/connect4/config.pbtxt"))
          .value();
  const size_t at = config.find("name: \"connect4\"");
  ASSERT_NE(at, std::string::npos);
  config.replace(at, 16, "name: \"c4new\"");
  ASSERT_TRUE(WriteWholeFile(dir + "/c4new.pbtxt", config).ok());
  const std::string record =
      Runfile("tests/fixtures/burn/connect4-mlp-f32-burn0.16.1.mpk");

  CommandResult r =
      Run({"upload", "c4new", record, "-q", "--token-file", write_token_file_});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("NOT_FOUND"));
  EXPECT_THAT(r.err, HasSubstr("config"));

  r = Run({"upload", "c4new", record, "--config", dir + "/c4new.pbtxt",
           "--wait", "-q", "--token-file", write_token_file_});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("uploaded c4new version 1: model.mpk"));
  EXPECT_THAT(r.out, HasSubstr("serving: yes"));

  // A record the model cannot be built from is refused before storing.
  r = Run(
      {"upload", "c4new", record_, "-q", "--token-file", write_token_file_});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("INVALID_ARGUMENT"));
  struct stat unused;
  EXPECT_NE(stat((repo_ + "/c4new/2").c_str(), &unused), 0);
}

TEST_F(TransferCommandsTest, ModelsShowsWhyABrokenRecordIsNotServing) {
  // A record cut short is renamed over the serving one: the version keeps
  // serving its previous record and the table says why, with no precision
  // for a record that cannot be decoded.
  CommandResult r;
  for (int i = 0; i < 300; ++i) {  // up to 30 s for the first load
    r = Run({"models", "--json", "--token-file", read_token_file_});
    if (absl::StrContains(r.out, "\"state\": \"READY\"")) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_THAT(r.out, HasSubstr("\"state\": \"READY\"")) << Describe(r);
  absl::StatusOr<std::string> bytes = ReadWholeFile(record_);
  ASSERT_TRUE(bytes.ok());
  const std::string target = repo_ + "/lenet/1/model.mpk";
  ASSERT_TRUE(
      WriteWholeFile(target + ".tmp", bytes->substr(0, bytes->size() / 2))
          .ok());
  ASSERT_EQ(rename((target + ".tmp").c_str(), target.c_str()), 0);

  for (int i = 0; i < 300; ++i) {  // up to 30 s for the reload to fail
    r = Run({"models", "--json", "--token-file", read_token_file_});
    if (r.out.find("still serving the previous record") != std::string::npos) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("truncated"));
  EXPECT_THAT(r.out, HasSubstr("\"precision\": \"\""));
  EXPECT_THAT(r.out, HasSubstr("\"format\": \"\""));
  EXPECT_THAT(r.out, HasSubstr("\"state\": \"READY\""));
  r = Run({"models", "--token-file", read_token_file_});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, Not(HasSubstr("as-is")));
}

TEST_F(TransferCommandsTest, DownloadWritesTheFileOnlyWhenComplete) {
  const std::string dir = TempDir("download");
  const std::string out = dir + "/lenet-f32.mpk.gz";
  CommandResult r = Run({"download", "lenet", "--precision", "full", "--format",
                         "mpk.gz", "-o", out, "--token-file", read_token_file_,
                         "--chunk-size", "100000"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("downloaded lenet version 1 to " + out));
  EXPECT_THAT(r.out, HasSubstr("full precision, mpk.gz"));
  EXPECT_THAT(r.err, HasSubstr("download lenet: 100% "));
  EXPECT_THAT(r.err, HasSubstr("download lenet: done, "));
  absl::StatusOr<std::string> bytes = ReadWholeFile(out);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->substr(0, 2), "\x1f\x8b");  // gzip

  // Refusals leave no file (and no temporary) behind.
  const std::string refused = dir + "/refused.mpk";
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"download", "lenet", "-o", refused},
           {"download", "lenet", "--version", "9", "-o", refused,
            "--token-file", read_token_file_},
           {"download", "no-such-model", "-o", refused, "--token-file",
            read_token_file_}}) {
    r = Run(args);
    EXPECT_EQ(r.exit_code, 1) << Describe(r);
    EXPECT_THAT(r.err, HasSubstr("ember download: "));
  }
  r = Run({"download", "lenet"});
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("-o FILE"));
  absl::StatusOr<std::string> listing = ReadWholeFile(refused);
  EXPECT_FALSE(listing.ok());
  CommandResult ls = RunCommand({"/bin/ls", "-A", dir});
  EXPECT_EQ(ls.out, "lenet-f32.mpk.gz\n");
}

TEST(UploadLimitFlagTest, EmberdRefusesRecordsOverMaxUploadBytes) {
  const std::string repo = TempDir("limit-repo");
  ASSERT_TRUE(CopyFixtureModel("connect4", repo).ok());
  absl::StatusOr<std::unique_ptr<EmberdProcess>> server =
      EmberdProcess::Start({repo, {"--max_upload_bytes=10000"}});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string address = absl::StrCat("127.0.0.1:", (*server)->port());
  const std::string record =
      Runfile("tests/fixtures/burn/connect4-mlp-f32-burn0.16.1.mpk");

  // The fixture is 20,255 bytes: over the limit, refused, nothing written.
  CommandResult r = Ember({"upload", "connect4", record, "--server", address});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("RESOURCE_EXHAUSTED"));
  EXPECT_THAT(r.err, HasSubstr("10000"));
  EXPECT_FALSE(ReadWholeFile(repo + "/connect4/2/model.mpk").ok());

  // Half precision fits under the limit once converted, but the limit is
  // on what the client sends, so it is refused too.
  r = Ember({"upload", "connect4", record, "--precision", "half", "--server",
             address});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("RESOURCE_EXHAUSTED"));
}

// The real emberd over mutual TLS with tokens: an upload with the write
// token goes through and serves, a wrong token is refused over TLS too,
// and a client without the CA or without TLS cannot talk to it.
TEST(TlsFlagsTest, MutualTlsWithTokensEndToEnd) {
  absl::StatusOr<auth::TestCertificates> certs =
      auth::MakeTestCertificates(TempDir("pki"));
  ASSERT_TRUE(certs.ok()) << certs.status();
  const std::string repo = TempDir("tls-repo");
  ASSERT_TRUE(CopyFixtureModel("connect4", repo).ok());
  const std::string secrets = TempDir("tls-tokens");
  ASSERT_TRUE(WriteWholeFile(secrets + "/tokens",
                             "write: tls-write-token-0123456789\n"
                             "read: tls-read-token-0123456789\n")
                  .ok());
  chmod((secrets + "/tokens").c_str(), 0600);
  ASSERT_TRUE(
      WriteWholeFile(secrets + "/write", "tls-write-token-0123456789").ok());
  ASSERT_TRUE(
      WriteWholeFile(secrets + "/read", "tls-read-token-0123456789").ok());
  ASSERT_TRUE(
      WriteWholeFile(secrets + "/wrong", "tls-wrong-token-0123456789").ok());
  absl::StatusOr<std::unique_ptr<EmberdProcess>> server =
      EmberdProcess::Start({repo,
                            {"--tls_cert_file=" + certs->server_cert,
                             "--tls_key_file=" + certs->server_key,
                             "--tls_client_ca_file=" + certs->ca_cert,
                             "--auth_token_file=" + secrets + "/tokens"}});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string address = absl::StrCat("localhost:", (*server)->port());
  const std::string out = TempDir("tls-out") + "/connect4.mpk";
  const std::vector<std::string> tls = {"--server",
                                        address,
                                        "--tls",
                                        "--ca",
                                        certs->ca_cert,
                                        "--cert",
                                        certs->client_cert,
                                        "--key",
                                        certs->client_key};
  auto over_tls = [&](std::vector<std::string> args, const std::string& role) {
    args.insert(args.end(), tls.begin(), tls.end());
    args.push_back("--token-file=" + secrets + "/" + role);
    return Ember(std::move(args));
  };

  const std::string record =
      Runfile("tests/fixtures/burn/connect4-mlp-f32-burn0.16.1.mpk");
  CommandResult r =
      over_tls({"upload", "connect4", record, "--precision", "half"}, "wrong");
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("PERMISSION_DENIED"));
  r = over_tls({"upload", "connect4", record, "--precision", "half", "--wait",
                "--timeout", "30s"},
               "write");
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("uploaded connect4 version 2"));
  EXPECT_THAT(r.out, HasSubstr("serving: yes"));

  r = over_tls({"download", "connect4", "-o", out}, "read");
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("downloaded connect4 version 2"));
  EXPECT_TRUE(ReadWholeFile(out).ok());

  r = Ember({"download", "connect4", "-o", out + ".2", "--server", address,
             "--tls", "--cert", certs->client_cert, "--key", certs->client_key,
             "--timeout", "5s"});
  EXPECT_EQ(r.exit_code, 3) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("cannot connect to " + address));

  r = Ember({"download", "connect4", "-o", out, "--server", address, "--ca",
             certs->ca_cert});
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("need --tls"));
}

// emberd with bearer tokens and its records service: the flow a user runs.
class EmberdWithTokensTest : public ::testing::Test {
 protected:
  static constexpr char kWrite[] = "emberd-write-token-0123456789";
  static constexpr char kRead[] = "emberd-read-token-0123456789";
  static constexpr char kInfer[] = "emberd-infer-token-0123456789";

  void SetUp() override {
    const std::string repo = TempDir("token-repo");
    ASSERT_TRUE(CopyFixtureModel("connect4", repo).ok());
    secrets_ = TempDir("token-files");
    ASSERT_TRUE(WriteWholeFile(secrets_ + "/tokens",
                               absl::StrCat("write: ", kWrite, "\nread: ",
                                            kRead, "\ninfer: ", kInfer, "\n"))
                    .ok());
    chmod((secrets_ + "/tokens").c_str(), 0600);
    for (const auto& [name, token] :
         {std::pair<const char*, const char*>{"write", kWrite},
          {"read", kRead},
          {"infer", kInfer},
          {"wrong", "emberd-wrong-token-0123456789"}}) {
      ASSERT_TRUE(WriteWholeFile(secrets_ + "/" + name, token).ok());
    }
    absl::StatusOr<std::unique_ptr<EmberdProcess>> server =
        EmberdProcess::Start(
            {repo, {"--auth_token_file=" + secrets_ + "/tokens"}});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(server).value();
    ASSERT_TRUE(server_->WaitForModel("connect4", kInfer).ok())
        << server_->Log();
  }

  // `ember ARGS --server ADDRESS --token-file <role's file>`.
  CommandResult Run(std::vector<std::string> args, const std::string& role) {
    args.push_back("--server=" + server_->address());
    if (!role.empty()) args.push_back("--token-file=" + secrets_ + "/" + role);
    return Ember(std::move(args));
  }

  std::string secrets_;
  std::unique_ptr<EmberdProcess> server_;
};

TEST_F(EmberdWithTokensTest, InferenceNeedsAToken) {
  const Golden golden = Connect4Golden();
  const std::string input = TempDir("token-infer") + "/boards.json";
  ASSERT_TRUE(WriteWholeFile(input, golden.input_json).ok());
  CommandResult r = Run(
      {"infer", "connect4", "--input", "board=" + input, "--json"}, "infer");
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  ExpectGoldenJson(r.out, golden);

  r = Run({"infer", "connect4", "--input", "board=" + input}, "");
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("ember infer: UNAUTHENTICATED: "));
  r = Run({"infer", "connect4", "--input", "board=" + input}, "wrong");
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("ember infer: PERMISSION_DENIED: "));
  EXPECT_THAT(r.err, Not(HasSubstr("emberd-wrong-token")));
}

TEST_F(EmberdWithTokensTest, UploadWaitsUntilServingThenListsAndDownloads) {
  const std::string record =
      Runfile("tests/fixtures/burn/connect4-mlp-f32-burn0.16.1.mpk");
  CommandResult r =
      Run({"upload", "connect4", record, "--precision", "half"}, "infer");
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("ember upload: PERMISSION_DENIED: "));

  r = Run({"upload", "connect4", record, "--precision", "half", "--wait",
           "--timeout", "30s"},
          "write");
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("uploaded connect4 version 2: model.mpk, "
                               "10.2 KiB, half precision"));
  EXPECT_THAT(r.out, HasSubstr("serving: yes"));

  r = Run({"models"}, "read");
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out,
              ::testing::ContainsRegex("connect4 +2 +READY +half +10.2 KiB"));

  const std::string out = TempDir("token-download") + "/connect4.mpk";
  r = Run({"download", "connect4", "--precision", "full", "-o", out}, "read");
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("downloaded connect4 version 2 to " + out));

  r = Run({"unload", "connect4"}, "read");
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("PERMISSION_DENIED"));
  r = Run({"unload", "connect4"}, "write");
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
}

TEST(HelpTest, EveryServerCommandExplainsItsFlagsWithAnExample) {
  for (const char* command : {"health", "models", "metadata", "infer", "upload",
                              "download", "load", "unload"}) {
    CommandResult r = Ember({command, "--help"});
    EXPECT_EQ(r.exit_code, 0) << command;
    EXPECT_THAT(
        r.out,
        AllOf(HasSubstr(absl::StrCat("usage: ember ", command)),
              HasSubstr("--server=HOST:PORT"), HasSubstr("--token-file=FILE"),
              HasSubstr("--timeout=DURATION"), HasSubstr("examples:")))
        << r.out;
  }
}

}  // namespace
}  // namespace ember::testing
