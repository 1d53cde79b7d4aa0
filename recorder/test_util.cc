#include "recorder/test_util.h"

#include <stdlib.h>
#include <zlib.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "glog/logging.h"

namespace ember::recorder::testing {

const std::vector<std::string>& FixtureNames() {
  static const auto* const kNames = new std::vector<std::string>{
      "connect4-mlp-f32-burn0.16.1.mpk", "lenet-mnist-f16-burn0.18.0.mpk",
      "mlp-mnist-f16-burn0.12.1.mpk",    "cnn-mnist-f16-burn0.11.0.mpk.gz",
      "lstm-f16-burn0.17.0.mpk",
  };
  return *kNames;
}

std::string FixturePath(const std::string& name) {
  const char* srcdir = getenv("TEST_SRCDIR");
  CHECK(srcdir != nullptr) << "TEST_SRCDIR is not set";
  return std::string(srcdir) + "/ember/tests/fixtures/burn/" + name;
}

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  CHECK(in.good()) << "cannot open " << path;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string GunzipOrDie(const std::string& gz) {
  z_stream zs;
  std::memset(&zs, 0, sizeof(zs));
  CHECK_EQ(inflateInit2(&zs, 16 + MAX_WBITS), Z_OK);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  zs.avail_in = static_cast<uInt>(gz.size());
  std::string out;
  char chunk[1 << 16];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(chunk);
    zs.avail_out = sizeof(chunk);
    rc = inflate(&zs, Z_NO_FLUSH);
    CHECK(rc == Z_OK || rc == Z_STREAM_END) << "inflate: " << rc;
    out.append(chunk, sizeof(chunk) - zs.avail_out);
  }
  inflateEnd(&zs);
  return out;
}

std::string TempDir() {
  const char* base = getenv("TEST_TMPDIR");
  std::string templ =
      std::string(base != nullptr ? base : "/tmp") + "/recorder_test.XXXXXX";
  CHECK(mkdtemp(templ.data()) != nullptr);
  return templ;
}

}  // namespace ember::recorder::testing
