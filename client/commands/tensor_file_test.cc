#include "client/commands/tensor_file.h"

#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ember::client {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A .npy file as numpy.save writes it: magic, version, header padded with
// spaces to a multiple of 64 bytes and ended by a newline, then the data.
std::string Npy(const std::string& descr, const std::string& shape,
                const std::string& data, bool fortran = false, int major = 1) {
  std::string header = "{'descr': '" + descr +
                       "', 'fortran_order': " + (fortran ? "True" : "False") +
                       ", 'shape': " + shape + ", }";
  const size_t prefix = major == 1 ? 10 : 12;
  while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out("\x93NUMPY", 6);
  out += static_cast<char>(major);
  out += '\0';
  if (major == 1) {
    const uint16_t n = header.size();
    out.append(reinterpret_cast<const char*>(&n), 2);
  } else {
    const uint32_t n = header.size();
    out.append(reinterpret_cast<const char*>(&n), 4);
  }
  return out + header + data;
}

template <typename T>
std::string Bytes(std::vector<T> values) {
  return std::string(reinterpret_cast<const char*>(values.data()),
                     values.size() * sizeof(T));
}

TEST(TensorFileTest, JsonFlatNestedAndTyped) {
  absl::StatusOr<Tensor> flat = ParseTensorJson(
      "x", R"({"shape": [2, 2], "data": [1, 2.5, -3, 4]})", "a.json", "FP32");
  ASSERT_TRUE(flat.ok()) << flat.status();
  EXPECT_EQ(flat->datatype, "FP32");
  EXPECT_THAT(flat->shape, ElementsAre(2, 2));
  EXPECT_EQ(flat->data, Bytes<float>({1, 2.5, -3, 4}));

  absl::StatusOr<Tensor> nested =
      ParseTensorJson("x", R"({"data": [[1, 2, 3], [4, 5, 6]]})", "b", "FP64");
  ASSERT_TRUE(nested.ok()) << nested.status();
  EXPECT_THAT(nested->shape, ElementsAre(2, 3));
  EXPECT_EQ(nested->datatype, "FP64");

  // INT64 keeps integers beyond 2^53 exactly.
  absl::StatusOr<Tensor> big = ParseTensorJson(
      "x", R"({"datatype": "int64", "data": [9007199254740993, -1]})", "c",
      "FP32");
  ASSERT_TRUE(big.ok()) << big.status();
  EXPECT_EQ(big->data, Bytes<int64_t>({9007199254740993LL, -1}));
}

TEST(TensorFileTest, JsonErrorsNameTheFileAndProblem) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[1, 2]", "expected {\"shape\""},
      {R"({"shape": [2]})", "needs a \"data\" array"},
      {R"({"data": [[1, 2], [3]]})", "not rectangular"},
      {R"({"data": [1, "a"]})", "only numbers and booleans"},
      {R"({"shape": [3], "data": [1, 2]})", "holds 3 elements but 2 values"},
      {R"({"shape": [-1], "data": [1]})", "non-negative integers"},
      {R"({"datatype": "INT32", "data": [1.5]})", "not a valid INT32"},
      {R"({"datatype": "INT64", "data": [1.5]})", "not an integer"},
      {"{\"data\": [1,", "not JSON or .npy: line 1"},
  };
  for (const auto& [text, message] : cases) {
    absl::StatusOr<Tensor> t = ParseTensorJson("x", text, "in.json", "FP32");
    ASSERT_FALSE(t.ok()) << text;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(t.status().message(), HasSubstr("in.json"));
    EXPECT_THAT(t.status().message(), HasSubstr(message)) << text;
  }
}

TEST(TensorFileTest, NpyVersionsAndDtypes) {
  absl::StatusOr<Tensor> f4 = ParseNpy(
      "x", Npy("<f4", "(2, 3)", Bytes<float>({1, 2, 3, 4, 5, 6})), "a.npy");
  ASSERT_TRUE(f4.ok()) << f4.status();
  EXPECT_EQ(f4->datatype, "FP32");
  EXPECT_THAT(f4->shape, ElementsAre(2, 3));

  absl::StatusOr<Tensor> v2 = ParseNpy(
      "x", Npy("<i8", "(2,)", Bytes<int64_t>({7, -7}), false, 2), "b.npy");
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(v2->datatype, "INT64");
  EXPECT_THAT(v2->shape, ElementsAre(2));

  absl::StatusOr<Tensor> scalar =
      ParseNpy("x", Npy("<f8", "()", Bytes<double>({0.5})), "c.npy");
  ASSERT_TRUE(scalar.ok()) << scalar.status();
  EXPECT_TRUE(scalar->shape.empty());

  absl::StatusOr<Tensor> u1 =
      ParseNpy("x", Npy("|u1", "(1, 3)", "\x01\x02\xff"), "d.npy");
  ASSERT_TRUE(u1.ok());
  EXPECT_EQ(u1->datatype, "UINT8");
  absl::StatusOr<Tensor> as_float = ConvertTensor(*u1, "FP32");
  ASSERT_TRUE(as_float.ok());
  EXPECT_EQ(as_float->data, Bytes<float>({1, 2, 255}));

  absl::StatusOr<Tensor> f2 = ParseNpy(
      "x", Npy("<f2", "(2,)", Bytes<uint16_t>({0x3c00, 0xc000})), "e.npy");
  ASSERT_TRUE(f2.ok());
  EXPECT_EQ(f2->datatype, "FP16");
  EXPECT_THAT(f2->ToDoubles(),
              ::testing::Property(&absl::StatusOr<std::vector<double>>::value,
                                  ElementsAre(1.0, -2.0)));

  // Big-endian data is swapped into little-endian order.
  absl::StatusOr<Tensor> be = ParseNpy(
      "x", Npy(">i4", "(1,)", std::string("\x00\x00\x01\x02", 4)), "f.npy");
  ASSERT_TRUE(be.ok());
  EXPECT_EQ(be->data, Bytes<int32_t>({0x0102}));
}

TEST(TensorFileTest, NpyErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {Npy("<f4", "(2,)", Bytes<float>({1, 2}), true), "Fortran"},
      {Npy("<c8", "(1,)", std::string(8, '\0')), "unsupported .npy dtype"},
      {Npy("<U3", "(1,)", std::string(12, '\0')), "unsupported .npy dtype"},
      {Npy("<f4", "(3,)", Bytes<float>({1, 2})), "needs 12 data bytes"},
      {Npy("<f4", "(2,)", Bytes<float>({1, 2, 3})), "needs 8 data bytes"},
      {Npy("<f4", "(a,)", ""), "malformed .npy shape"},
      {std::string("\x93NUMPY\x01\x00\xff\x00{", 11), "truncated"},
      {std::string("\x93NUMPY\x09\x00\x00\x00", 10), "version 9"},
  };
  for (const auto& [bytes, message] : cases) {
    absl::StatusOr<Tensor> t = ParseNpy("x", bytes, "bad.npy");
    ASSERT_FALSE(t.ok()) << message;
    EXPECT_THAT(t.status().message(), HasSubstr("bad.npy"));
    EXPECT_THAT(t.status().message(), HasSubstr(message));
  }
}

TEST(TensorFileTest, ReadsStdinAndSniffsTheFormat) {
  std::istringstream npy(Npy("<f4", "(1,)", Bytes<float>({3})));
  absl::StatusOr<Tensor> a = ReadTensorFile("x", "-", npy, "FP32");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->data, Bytes<float>({3}));
  std::istringstream json(R"({"data": [3]})");
  absl::StatusOr<Tensor> b = ReadTensorFile("x", "-", json, "FP32");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->data, a->data);
  std::istringstream unused;
  EXPECT_EQ(
      ReadTensorFile("x", "/no/such.json", unused, "FP32").status().code(),
      absl::StatusCode::kNotFound);
  // An endless source is cut off instead of exhausting memory.
  EXPECT_THAT(
      ReadTensorFile("x", "/dev/zero", unused, "FP32").status().message(),
      HasSubstr("/dev/zero: input 'x' is larger than 256 MiB"));
}

TEST(TensorFileTest, JsonOutputRoundTrips) {
  const Tensor q = Tensor::FromFloats("q", {1, 3}, {0.1f, -2.f, 1e-7f});
  const std::string text = json::Write(TensorToJson(q));
  EXPECT_EQ(text, R"({"name":"q","datatype":"FP32","shape":[1,3],)"
                  R"("data":[0.1,-2,1e-07]})");
  absl::StatusOr<Tensor> back = ParseTensorJson("q", text, "out", "");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->data, q.data);
  EXPECT_EQ(ElementText(q, 0), "0.1");
  EXPECT_EQ(ElementText(Tensor::FromInt64s("i", {1}, {-5}), 0), "-5");
}

}  // namespace
}  // namespace ember::client
