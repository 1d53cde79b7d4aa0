#include "client/commands/arg_parser.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace ember::client {
namespace {

struct Fixture {
  std::string in, out, precision = "default";
  bool json = false;
  ArgParser parser{"ember test", "Tests the parser."};
  Fixture() {
    parser.AddPositional("IN", &in, "input");
    parser.AddPositional("OUT", &out, "output");
    parser.AddString("precision", "P", &precision, "the precision");
    parser.AddBool("json", &json, "json output");
    parser.AddExample("ember test a b", "does a thing");
  }
};

TEST(ArgParserTest, MixesFlagsAndPositionals) {
  Fixture f;
  ASSERT_TRUE(f.parser.Parse({"--json", "a", "--precision", "half", "b"}).ok());
  EXPECT_EQ(f.in, "a");
  EXPECT_EQ(f.out, "b");
  EXPECT_EQ(f.precision, "half");
  EXPECT_TRUE(f.json);
}

TEST(ArgParserTest, InlineValuesAndDefaults) {
  Fixture f;
  ASSERT_TRUE(f.parser.Parse({"a", "b", "--json=false"}).ok());
  EXPECT_EQ(f.precision, "default");
  EXPECT_FALSE(f.json);
  Fixture g;
  ASSERT_TRUE(g.parser.Parse({"--precision=double", "a", "b"}).ok());
  EXPECT_EQ(g.precision, "double");
}

TEST(ArgParserTest, DoubleDashEndsFlags) {
  Fixture f;
  ASSERT_TRUE(f.parser.Parse({"--", "--weird", "-x"}).ok());
  EXPECT_EQ(f.in, "--weird");
  EXPECT_EQ(f.out, "-x");
}

TEST(ArgParserTest, UsageErrors) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"a"}, "missing argument OUT"},
      {{"a", "b", "c"}, "unexpected argument \"c\""},
      {{"a", "b", "--nope"}, "unknown flag --nope"},
      {{"a", "b", "-x"}, "unknown flag -x"},
      {{"a", "b", "--precision"}, "--precision needs a value (P)"},
      {{"a", "b", "--json=maybe"}, "--json takes no value"},
  };
  for (const auto& [args, message] : cases) {
    Fixture f;
    absl::Status s = f.parser.Parse(args);
    ASSERT_FALSE(s.ok()) << message;
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find(message), std::string::npos) << s.message();
  }
}

TEST(ArgParserTest, HelpListsEverything) {
  Fixture f;
  ASSERT_TRUE(f.parser.Parse({"a", "--help"}).ok());
  EXPECT_TRUE(f.parser.help_requested());
  const std::string help = f.parser.Help();
  for (const char* part :
       {"usage: ember test IN OUT [flags]", "Tests the parser.", "IN",
        "--precision=P", "the precision", "--json", "--help", "ember test a b",
        "does a thing"}) {
    EXPECT_NE(help.find(part), std::string::npos) << part << "\n" << help;
  }
}

TEST(ArgParserTest, ListFlagsAppendAndShortNamesAlias) {
  std::vector<std::string> inputs;
  std::string output;
  bool quiet = false;
  std::string file;
  ArgParser parser("ember test", "Tests lists.");
  parser.AddPositional("FILE", &file, "a file");
  parser.AddStringList("input", "NAME=FILE", &inputs, "an input");
  parser.AddString("output", "FILE", &output, "where to write");
  parser.AddShortName('o', "output");
  parser.AddBool("quiet", &quiet, "say less");
  parser.AddShortName('q', "quiet");
  ASSERT_TRUE(
      parser.Parse({"--input", "a=1", "-", "--input=b=2", "-o", "x.mpk", "-q"})
          .ok());
  EXPECT_EQ(inputs, (std::vector<std::string>{"a=1", "b=2"}));
  EXPECT_EQ(file, "-");
  EXPECT_EQ(output, "x.mpk");
  EXPECT_TRUE(quiet);
  EXPECT_NE(parser.Help().find("-o, --output=FILE"), std::string::npos);
  EXPECT_NE(parser.Help().find("an input (repeatable)"), std::string::npos);

  ArgParser missing("ember test", "");
  missing.AddString("output", "FILE", &output, "");
  missing.AddShortName('o', "output");
  EXPECT_NE(missing.Parse({"-o"}).message().find("-o needs a value (FILE)"),
            std::string::npos);
}

}  // namespace
}  // namespace ember::client
