#include "client/commands/dispatch.h"

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace ember::client {
namespace {

class EchoCommand : public Command {
 public:
  void DefineArgs(ArgParser& args) override {
    args.AddPositional("WORD", &word_, "what to print");
    args.AddString("mode", "ok|fail|bad", &mode_, "how to end");
  }
  absl::Status Validate() override {
    if (mode_ == "bad") return absl::InvalidArgumentError("bad --mode");
    return absl::OkStatus();
  }
  absl::Status Run(std::ostream& out) override {
    if (mode_ == "unreachable") {
      return WithExitCode(absl::UnavailableError("cannot connect"),
                          kExitUnreachable);
    }
    if (mode_ == "fail") {
      return absl::NotFoundError("no such thing:\nsecond line");
    }
    out << word_ << "\n";
    return absl::OkStatus();
  }

 private:
  std::string word_;
  std::string mode_ = "ok";
};

std::unique_ptr<Command> MakeEcho() { return std::make_unique<EchoCommand>(); }

const CommandEntry kTable[] = {
    {"echo", "print a word", "Prints WORD.", &MakeEcho},
};

struct Result {
  int code;
  std::string out, err;
};

Result RunEmber(std::vector<std::string> args) {
  std::ostringstream out, err;
  const int code = RunCli(kTable, args, out, err);
  return {code, out.str(), err.str()};
}

TEST(DispatchTest, RunsCommand) {
  Result r = RunEmber({"echo", "hi"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "hi\n");
  EXPECT_EQ(r.err, "");
}

TEST(DispatchTest, FailureIsExitOneWithOneLine) {
  Result r = RunEmber({"echo", "hi", "--mode=fail"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "ember echo: no such thing: second line\n");
}

TEST(DispatchTest, ErrorsMayChooseTheirExitCode) {
  Result r = RunEmber({"echo", "hi", "--mode=unreachable"});
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.err, "ember echo: cannot connect\n");
}

TEST(DispatchTest, UsageErrorsAreExitTwo) {
  EXPECT_EQ(RunEmber({}).code, 2);
  EXPECT_EQ(RunEmber({"nope"}).code, 2);
  EXPECT_EQ(RunEmber({"echo"}).code, 2);
  Result r = RunEmber({"echo", "hi", "--mode=bad"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("bad --mode"), std::string::npos);
  EXPECT_NE(r.err.find("ember echo --help"), std::string::npos);
  EXPECT_EQ(RunEmber({"help", "nope"}).code, 2);
}

TEST(DispatchTest, Help) {
  Result overview = RunEmber({"help"});
  EXPECT_EQ(overview.code, 0);
  EXPECT_NE(overview.out.find("echo"), std::string::npos);
  EXPECT_NE(overview.out.find("print a word"), std::string::npos);
  Result one = RunEmber({"help", "echo"});
  EXPECT_EQ(one.code, 0);
  EXPECT_NE(one.out.find("usage: ember echo WORD"), std::string::npos);
  EXPECT_EQ(RunEmber({"echo", "--help"}).out, one.out);
}

}  // namespace
}  // namespace ember::client
