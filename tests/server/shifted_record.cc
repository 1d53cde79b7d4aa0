#include "tests/server/shifted_record.h"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "recorder/codec.h"

namespace ember::testing {

std::string Runfile(const std::string& path) {
  return absl::StrCat(getenv("TEST_SRCDIR"), "/", getenv("TEST_WORKSPACE"), "/",
                      path);
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

recorder::Record LoadConnect4Fixture() {
  absl::StatusOr<recorder::Record> record = recorder::DecodeRecordFile(
      Runfile("tests/fixtures/burn/connect4-mlp-f32-burn0.16.1.mpk"));
  if (!record.ok()) {
    std::cerr << record.status() << "\n";
    abort();
  }
  return *std::move(record);
}

std::string ShiftedConnect4Record(const recorder::Record& base, float shift) {
  recorder::Record record = base;
  recorder::Value* node = &record.mutable_top();
  for (const char* key : {"item", "layer_2", "bias"}) {
    recorder::Value* next = nullptr;
    for (auto& [name, value] : node->mutable_map()) {
      if (name == key) next = &value;
    }
    if (next == nullptr) {
      std::cerr << "fixture has no " << key << "\n";
      abort();
    }
    node = next;
  }
  recorder::Tensor tensor = node->tensor();
  auto bytes = std::make_shared<std::string>(tensor.bytes);
  float* values = reinterpret_cast<float*>(bytes->data());
  for (uint64_t i = 0; i < tensor.NumElements(); ++i) values[i] += shift;
  tensor.bytes = *bytes;
  tensor.storage = bytes;
  node->set_tensor(std::move(tensor));
  absl::StatusOr<std::string> encoded =
      recorder::EncodeRecord(record, recorder::RecordFormat::kMpk);
  if (!encoded.ok()) {
    std::cerr << encoded.status() << "\n";
    abort();
  }
  return *std::move(encoded);
}

}  // namespace ember::testing
