#include "model/model_dir.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ember::model {
namespace {

using ::testing::HasSubstr;

std::string NewDir(const std::string& name) {
  std::string dir = std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
  mkdir(dir.c_str(), 0755);
  return dir;
}

void Touch(const std::string& path) { std::ofstream(path) << "x"; }

TEST(FindServedRecordTest, HighestVersionHoldingARecord) {
  const std::string dir = NewDir("versions");
  for (const char* v : {"1", "2", "10", "11", "notes", "0", "012"}) {
    mkdir((dir + "/" + v).c_str(), 0755);
  }
  // Not version directories for the daemon, so not for predict either.
  Touch(dir + "/0/model.mpk");
  Touch(dir + "/012/model.mpk");
  Touch(dir + "/1/model.mpk");
  Touch(dir + "/2/model.mpk.gz");
  Touch(dir + "/10/model.mpk");
  Touch(dir + "/notes/model.mpk");  // not a version directory
  // 11 is empty (a version still being written): skipped.
  auto path = FindServedRecord(dir, config::ModelConfig());
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(*path, dir + "/10/model.mpk");
}

TEST(FindServedRecordTest, RecordFileFromConfigAndDirectRecord) {
  const std::string dir = NewDir("direct");
  Touch(dir + "/model.mpk.gz");
  auto path = FindServedRecord(dir, config::ModelConfig());
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(*path, dir + "/model.mpk.gz");

  config::ModelConfig config;
  config.set_record_file("weights.mpk");
  auto missing = FindServedRecord(dir, config);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(),
              HasSubstr("no record named weights.mpk"));
  Touch(dir + "/weights.mpk");
  EXPECT_EQ(*FindServedRecord(dir, config), dir + "/weights.mpk");
}

TEST(FindServedRecordTest, MissingDirectory) {
  auto path = FindServedRecord("/nonexistent/model", config::ModelConfig());
  ASSERT_FALSE(path.ok());
  EXPECT_THAT(path.status().message(), HasSubstr("/nonexistent/model"));
}

}  // namespace
}  // namespace ember::model
