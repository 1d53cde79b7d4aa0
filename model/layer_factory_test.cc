#include "model/layer_factory.h"

#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/modules/test_records.h"

namespace ember::model {
namespace {

using recorder::Value;
using testing::F32Param;
using ::testing::HasSubstr;
using testing::ModuleRecord;
using testing::Ramp;

const Value& Item() {
  static const Value* item = new Value(ModuleRecord(
      {{"conv", ModuleRecord({{"weight", F32Param({2, 1, 3, 3}, Ramp(18))},
                              {"bias", Value::Nil()}})},
       {"conv1d", ModuleRecord({{"weight", F32Param({2, 1, 3}, Ramp(6))}})},
       {"norm", ModuleRecord({{"gamma", F32Param({4}, Ramp(4))},
                              {"beta", F32Param({4}, Ramp(4))}})}}));
  return *item;
}

config::Layer Layer(const std::string& type, const std::string& record_path,
                    std::map<std::string, std::string> settings) {
  config::Layer layer;
  layer.set_name("l");
  layer.set_type(type);
  layer.set_record_path(record_path);
  for (const auto& [k, v] : settings) (*layer.mutable_settings())[k] = v;
  return layer;
}

// The output shape of `type` with `settings` on `in`, or the error.
absl::StatusOr<std::vector<int64_t>> OutShape(
    const std::string& type, const std::string& record_path,
    std::map<std::string, std::string> settings, std::vector<int64_t> in) {
  auto module = CreateLayerModule(Layer(type, record_path, settings), Item());
  if (!module.ok()) return module.status();
  auto out = (*module)->OutputType({{DataType::kFloat32, in}});
  if (!out.ok()) return out.status();
  return out->shape;
}

using Shape = std::vector<int64_t>;

TEST(LayerFactoryTest, ConvPaddingForms) {
  EXPECT_EQ(*OutShape("conv2d", "conv", {}, {1, 1, 8, 8}), (Shape{1, 2, 6, 6}));
  EXPECT_EQ(*OutShape("conv2d", "conv", {{"padding", "same"}}, {1, 1, 8, 8}),
            (Shape{1, 2, 8, 8}));
  EXPECT_EQ(*OutShape("conv2d", "conv", {{"padding", "2"}}, {1, 1, 8, 8}),
            (Shape{1, 2, 10, 10}));
  EXPECT_EQ(*OutShape("conv2d", "conv", {{"padding", "0,1"}}, {1, 1, 8, 8}),
            (Shape{1, 2, 6, 8}));
  EXPECT_EQ(*OutShape("conv2d", "conv", {{"padding", "1,0,0,0"}}, {1, 1, 8, 8}),
            (Shape{1, 2, 7, 6}));
  EXPECT_EQ(*OutShape("conv2d", "conv", {{"stride", "2,1"}, {"dilation", "2"}},
                      {1, 1, 9, 9}),
            (Shape{1, 2, 3, 5}));
  EXPECT_EQ(*OutShape("conv1d", "conv1d", {{"padding", "1"}, {"stride", "2"}},
                      {1, 1, 9}),
            (Shape{1, 2, 5}));
  auto bad = OutShape("conv2d", "conv", {{"padding", "1,2,3"}}, {1, 1, 8, 8});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("'padding'"));
  EXPECT_THAT(bad.status().message(), HasSubstr("'1,2,3'"));
  EXPECT_FALSE(
      OutShape("conv2d", "conv", {{"stride", "0"}}, {1, 1, 8, 8}).ok());
  EXPECT_FALSE(
      OutShape("conv2d", "conv", {{"groups", "x"}}, {1, 1, 8, 8}).ok());
}

TEST(LayerFactoryTest, PoolSettings) {
  // Stride defaults to the kernel size (Burn >= 0.18).
  EXPECT_EQ(*OutShape("max_pool2d", "", {{"kernel_size", "2"}}, {1, 3, 8, 8}),
            (Shape{1, 3, 4, 4}));
  EXPECT_EQ(*OutShape("max_pool2d", "",
                      {{"kernel_size", "3"}, {"stride", "1"}, {"padding", "1"}},
                      {1, 3, 8, 8}),
            (Shape{1, 3, 8, 8}));
  EXPECT_EQ(*OutShape("avg_pool2d", "",
                      {{"kernel_size", "2,3"}, {"count_include_pad", "false"}},
                      {1, 3, 8, 9}),
            (Shape{1, 3, 4, 3}));
  EXPECT_EQ(*OutShape("adaptive_avg_pool2d", "", {{"output_size", "1"}},
                      {-1, 3, -1, -1}),
            (Shape{-1, 3, 1, 1}));
  EXPECT_EQ(
      *OutShape("max_pool2d", "", {{"kernel_size", "2"}, {"ceil_mode", "true"}},
                {1, 3, 7, 7}),
      (Shape{1, 3, 4, 4}));
  auto missing = OutShape("max_pool2d", "", {}, {1, 3, 8, 8});
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("'kernel_size'"));
  EXPECT_FALSE(OutShape("avg_pool2d", "",
                        {{"kernel_size", "2"}, {"count_include_pad", "yes"}},
                        {1, 3, 8, 8})
                   .ok());
  EXPECT_FALSE(OutShape("avg_pool2d", "",
                        {{"kernel_size", "2"}, {"padding", "same"}},
                        {1, 3, 8, 8})
                   .ok());
}

TEST(LayerFactoryTest, OtherSettings) {
  EXPECT_EQ(*OutShape("group_norm", "norm", {{"num_groups", "2"}}, {-1, 4, 5}),
            (Shape{-1, 4, 5}));
  EXPECT_FALSE(OutShape("group_norm", "norm", {}, {-1, 4, 5}).ok());
  EXPECT_TRUE(
      OutShape("layer_norm", "norm", {{"epsilon", "1e-6"}}, {-1, 4}).ok());
  EXPECT_FALSE(
      OutShape("layer_norm", "norm", {{"epsilon", "-1"}}, {-1, 4}).ok());
  EXPECT_EQ(*OutShape("flatten", "", {{"start_dim", "0"}}, {2, 3}), (Shape{6}));
  EXPECT_EQ(*OutShape("reshape", "", {{"shape", "0, -1, 2"}}, {-1, 4}),
            (Shape{-1, 2, 2}));
  EXPECT_FALSE(OutShape("reshape", "", {}, {-1, 4}).ok());
  EXPECT_TRUE(OutShape("dropout", "", {{"prob", "0.1"}}, {-1, 4}).ok());
  EXPECT_FALSE(OutShape("dropout", "", {{"prob", "1.5"}}, {-1, 4}).ok());
  EXPECT_TRUE(OutShape("softmax", "", {{"axis", "1"}}, {-1, 4}).ok());
  EXPECT_FALSE(OutShape("softmax", "", {{"axis", "one"}}, {-1, 4}).ok());

  auto concat = CreateLayerModule(Layer("concat", "", {}), Item());
  ASSERT_FALSE(concat.ok());
  EXPECT_THAT(concat.status().message(), HasSubstr("'axis'"));
}

TEST(LayerFactoryTest, LinearLayout) {
  // conv's weight is [2, 1, 3, 3]; a [3, 4] linear needs its own record.
  Value item =
      ModuleRecord({{"fc", ModuleRecord({{"weight", F32Param({3, 4}, Ramp(12))},
                                         {"bias", Value::Nil()}})}});
  auto row = CreateLayerModule(Layer("linear", "fc", {}), item);
  ASSERT_TRUE(row.ok());
  EXPECT_EQ((*row)->OutputType({{DataType::kFloat32, {-1, 3}}})->shape,
            (Shape{-1, 4}));
  auto col =
      CreateLayerModule(Layer("linear", "fc", {{"layout", "col"}}), item);
  ASSERT_TRUE(col.ok());
  EXPECT_EQ((*col)->OutputType({{DataType::kFloat32, {-1, 4}}})->shape,
            (Shape{-1, 3}));
  auto bad =
      CreateLayerModule(Layer("linear", "fc", {{"layout", "columns"}}), item);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("'columns'"));
}

TEST(LayerFactoryTest, RecordPathRules) {
  auto linear = CreateLayerModule(Layer("linear", "", {}), Item());
  ASSERT_FALSE(linear.ok());
  EXPECT_THAT(linear.status().message(), HasSubstr("needs a record_path"));
  auto relu = CreateLayerModule(Layer("relu", "conv", {}), Item());
  ASSERT_FALSE(relu.ok());
  EXPECT_THAT(relu.status().message(), HasSubstr("record_path 'conv'"));
  EXPECT_TRUE(LayerTypeHasParameters("conv2d"));
  EXPECT_FALSE(LayerTypeHasParameters("relu"));
  EXPECT_FALSE(LayerTypeHasParameters("nonsense"));
  EXPECT_GE(LayerTypeNames().size(), 25u);
}

}  // namespace
}  // namespace ember::model
