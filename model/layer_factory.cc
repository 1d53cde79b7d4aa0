#include "model/layer_factory.h"

#include <algorithm>
#include <functional>
#include <map>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "model/layer_settings.h"
#include "model/modules/activation.h"
#include "model/modules/conv.h"
#include "model/modules/embedding.h"
#include "model/modules/linear.h"
#include "model/modules/lstm.h"
#include "model/modules/norm.h"
#include "model/modules/pool.h"
#include "model/modules/shape_ops.h"

namespace ember::model {
namespace {

constexpr int64_t kMaxInt = int64_t{1} << 40;

// What a type's builder gets: its settings (to read and validate) and, for
// types with parameters, its sub-record and path.
struct LayerInput {
  LayerSettings* settings;
  const recorder::Value* record;
  const std::string& path;
};

using Builder =
    std::function<absl::StatusOr<std::unique_ptr<Module>>(LayerInput)>;

struct TypeInfo {
  bool has_parameters;
  Builder build;
};

template <typename T>
absl::StatusOr<std::unique_ptr<Module>> Upcast(
    absl::StatusOr<std::unique_ptr<T>> module) {
  if (!module.ok()) return module.status();
  return std::unique_ptr<Module>(std::move(*module));
}

// Parses "valid", "same" or a list of explicit amounts. For `spatial_rank`
// 2: "p" (all sides), "h,w" (Burn <= 0.20's Explicit) or "top,left,bottom,
// right" (Burn 0.21's); for 1: "p" or "begin,end".
absl::StatusOr<Padding> ParsePadding(LayerSettings& settings, int spatial_rank,
                                     bool allow_same) {
  if (!settings.Has("padding")) return Padding::Valid();
  std::string raw = settings.GetString("padding", "valid");
  if (raw == "valid") return Padding::Valid();
  if (raw == "same" && allow_same) return Padding::Same();
  absl::StatusOr<std::vector<int64_t>> values =
      settings.GetIntList("padding", 0);
  auto bad = absl::InvalidArgumentError(
      absl::StrCat("setting 'padding': value '", raw, "' is not ",
                   allow_same ? "'valid', 'same', " : "'valid', ",
                   spatial_rank == 2 ? "'p', 'h,w' or 'top,left,bottom,right'"
                                     : "'p' or 'begin,end'",
                   " with amounts >= 0"));
  if (!values.ok()) return bad;
  std::vector<int64_t> v = *values;
  if (spatial_rank == 2) {
    if (v.size() == 1) return Padding::Explicit({v[0], v[0], v[0], v[0]});
    if (v.size() == 2) return Padding::Explicit({v[0], v[1], v[0], v[1]});
    if (v.size() == 4) return Padding::Explicit(v);
  } else {
    if (v.size() == 1) return Padding::Explicit({v[0], v[0]});
    if (v.size() == 2) return Padding::Explicit(v);
  }
  return bad;
}

absl::StatusOr<std::unique_ptr<Module>> BuildConv(LayerInput in,
                                                  int spatial_rank) {
  LayerSettings& s = *in.settings;
  std::vector<int64_t> ones(spatial_rank, 1);
  ConvOptions options;
  EMBER_ASSIGN_OR_RETURN(options.stride,
                         s.GetInts("stride", ones, spatial_rank, 1));
  EMBER_ASSIGN_OR_RETURN(options.dilation,
                         s.GetInts("dilation", ones, spatial_rank, 1));
  EMBER_ASSIGN_OR_RETURN(options.groups, s.GetInt("groups", 1, 1, kMaxInt));
  EMBER_ASSIGN_OR_RETURN(options.padding, ParsePadding(s, spatial_rank, true));
  if (spatial_rank == 1) {
    return Upcast(Conv::Create1d(*in.record, in.path, options));
  }
  return Upcast(Conv::Create2d(*in.record, in.path, options));
}

absl::StatusOr<std::unique_ptr<Module>> BuildPool(LayerInput in,
                                                  Pool2d::Kind kind) {
  LayerSettings& s = *in.settings;
  PoolOptions options;
  if (!s.Has("kernel_size")) {
    return absl::InvalidArgumentError("setting 'kernel_size' is required");
  }
  EMBER_ASSIGN_OR_RETURN(options.kernel, s.GetInts("kernel_size", {}, 2, 1));
  // Burn >= 0.18 defaults the stride to the kernel size (earlier releases
  // used 1: such models must set it).
  EMBER_ASSIGN_OR_RETURN(options.stride,
                         s.GetInts("stride", options.kernel, 2, 1));
  EMBER_ASSIGN_OR_RETURN(Padding padding, ParsePadding(s, 2, false));
  EMBER_ASSIGN_OR_RETURN(options.ceil_mode, s.GetBool("ceil_mode", false));
  if (padding.mode == Padding::Mode::kExplicit) {
    options.padding = padding.amounts;
  }
  if (kind == Pool2d::Kind::kMax) {
    EMBER_ASSIGN_OR_RETURN(options.dilation,
                           s.GetInts("dilation", {1, 1}, 2, 1));
  } else {
    EMBER_ASSIGN_OR_RETURN(options.count_include_pad,
                           s.GetBool("count_include_pad", true));
  }
  return Upcast(Pool2d::Create(kind, options));
}

absl::StatusOr<std::unique_ptr<Module>> BuildActivation(LayerInput in,
                                                        Activation::Kind kind) {
  if (kind == Activation::Kind::kLeakyRelu) {
    EMBER_ASSIGN_OR_RETURN(
        double slope,
        in.settings->GetFloat("negative_slope", Activation::kDefaultLeakySlope,
                              -1e6, 1e6));
    return std::unique_ptr<Module>(new Activation(kind, slope));
  }
  return std::unique_ptr<Module>(new Activation(kind));
}

absl::StatusOr<NormOptions> ReadNormOptions(LayerSettings& s,
                                            bool with_groups) {
  NormOptions options;
  EMBER_ASSIGN_OR_RETURN(options.epsilon,
                         s.GetFloat("epsilon", 1e-5, 1e-30, 1.0));
  if (with_groups) {
    if (!s.Has("num_groups")) {
      return absl::InvalidArgumentError("setting 'num_groups' is required");
    }
    EMBER_ASSIGN_OR_RETURN(options.num_groups,
                           s.GetInt("num_groups", 0, 1, kMaxInt));
  }
  return options;
}

const std::map<std::string, TypeInfo>& Types() {
  using K = Activation::Kind;
  static const auto* types =
      new std::map<std::string, TypeInfo>{
          {"linear",
           {true,
            [](LayerInput in) -> absl::StatusOr<std::unique_ptr<Module>> {
              // Burn >= 0.19's LinearLayout, which the record does not
              // carry: "row" (default) or "col".
              const std::string layout =
                  in.settings->GetString("layout", "row");
              if (layout != "row" && layout != "col") {
                return absl::InvalidArgumentError(
                    absl::StrCat("setting 'layout': value '", layout,
                                 "' is not 'row' or 'col'"));
              }
              return Upcast(Linear::Create(
                  *in.record, in.path,
                  layout == "col" ? LinearLayout::kCol : LinearLayout::kRow));
            }}},
          {"conv1d", {true, [](LayerInput in) { return BuildConv(in, 1); }}},
          {"conv2d", {true, [](LayerInput in) { return BuildConv(in, 2); }}},
          {"batch_norm",
           {true,
            [](LayerInput in) -> absl::StatusOr<std::unique_ptr<Module>> {
              EMBER_ASSIGN_OR_RETURN(NormOptions o,
                                     ReadNormOptions(*in.settings, false));
              return Upcast(BatchNorm::Create(*in.record, in.path, o));
            }}},
          {"layer_norm",
           {true,
            [](LayerInput in) -> absl::StatusOr<std::unique_ptr<Module>> {
              EMBER_ASSIGN_OR_RETURN(NormOptions o,
                                     ReadNormOptions(*in.settings, false));
              return Upcast(LayerNorm::Create(*in.record, in.path, o));
            }}},
          {"group_norm",
           {true,
            [](LayerInput in) -> absl::StatusOr<std::unique_ptr<Module>> {
              EMBER_ASSIGN_OR_RETURN(NormOptions o,
                                     ReadNormOptions(*in.settings, true));
              return Upcast(GroupNorm::Create(*in.record, in.path, o));
            }}},
          {"embedding",
           {true,
            [](LayerInput in) {
              return Upcast(Embedding::Create(*in.record, in.path));
            }}},
          {"lstm",
           {true,
            [](LayerInput in) -> absl::StatusOr<std::unique_ptr<Module>> {
              LstmOptions o;
              EMBER_ASSIGN_OR_RETURN(o.batch_first,
                                     in.settings->GetBool("batch_first", true));
              EMBER_ASSIGN_OR_RETURN(o.reverse,
                                     in.settings->GetBool("reverse", false));
              return Upcast(Lstm::Create(*in.record, in.path, o));
            }}},
          {"bilstm",
           {true,
            [](LayerInput in) -> absl::StatusOr<std::unique_ptr<Module>> {
              LstmOptions o;
              EMBER_ASSIGN_OR_RETURN(o.batch_first,
                                     in.settings->GetBool("batch_first", true));
              return Upcast(BiLstm::Create(*in.record, in.path, o));
            }}},
          {"max_pool2d",
           {false,
            [](LayerInput in) { return BuildPool(in, Pool2d::Kind::kMax); }}},
          {"avg_pool2d",
           {false,
            [](LayerInput in) { return BuildPool(in, Pool2d::Kind::kAvg); }}},
          {"adaptive_avg_pool2d",
           {false,
            [](LayerInput in) -> absl::StatusOr<std::unique_ptr<Module>> {
              if (!in.settings->Has("output_size")) {
                return absl::InvalidArgumentError(
                    "setting 'output_size' is required");
              }
              EMBER_ASSIGN_OR_RETURN(
                  std::vector<int64_t> size,
                  in.settings->GetInts("output_size", {}, 2, 1));
              return Upcast(AdaptiveAvgPool2d::Create(size));
            }}},
          {"relu",
           {false,
            [](LayerInput in) { return BuildActivation(in, K::kRelu); }}},
          {"leaky_relu",
           {false,
            [](LayerInput in) { return BuildActivation(in, K::kLeakyRelu); }}},
          {"gelu",
           {false,
            [](LayerInput in) { return BuildActivation(in, K::kGelu); }}},
          {"sigmoid",
           {false,
            [](LayerInput in) { return BuildActivation(in, K::kSigmoid); }}},
          {"tanh",
           {false,
            [](LayerInput in) { return BuildActivation(in, K::kTanh); }}},
          {"silu",
           {false,
            [](LayerInput in) { return BuildActivation(in, K::kSilu); }}},
          {"identity",
           {false,
            [](LayerInput in) { return BuildActivation(in, K::kIdentity); }}},
          {"dropout",
           {false,
            [](LayerInput in) -> absl::StatusOr<std::unique_ptr<Module>> {
              // The training probability is accepted for documentation; dropout
              // is the identity at inference.
              EMBER_RETURN_IF_ERROR(
                  in.settings->GetFloat("prob", 0.0, 0.0, 1.0).status());
              return BuildActivation(in, K::kIdentity);
            }}},
          {"softmax",
           {false,
            [](LayerInput in) -> absl::StatusOr<std::unique_ptr<Module>> {
              EMBER_ASSIGN_OR_RETURN(int64_t axis,
                                     in.settings->GetInt("axis", -1, -64, 63));
              return std::unique_ptr<Module>(new Softmax(axis));
            }}},
          {"reshape",
           {false,
            [](LayerInput in) -> absl::StatusOr<std::unique_ptr<Module>> {
              EMBER_ASSIGN_OR_RETURN(std::vector<int64_t> shape,
                                     in.settings->GetIntList("shape", -1));
              return std::unique_ptr<Module>(new Reshape(shape));
            }}},
          {"flatten",
           {false,
            [](LayerInput in) -> absl::StatusOr<std::unique_ptr<Module>> {
              EMBER_ASSIGN_OR_RETURN(
                  int64_t start, in.settings->GetInt("start_dim", 1, -64, 63));
              EMBER_ASSIGN_OR_RETURN(
                  int64_t end, in.settings->GetInt("end_dim", -1, -64, 63));
              return std::unique_ptr<Module>(new Flatten(start, end));
            }}},
          {"add",
           {false,
            [](LayerInput) -> absl::
                               StatusOr<std::unique_ptr<Module>> {
                                 return std::unique_ptr<Module>(new Add());
                               }}},
          {"concat",
           {false,
            [](LayerInput in) -> absl::StatusOr<std::unique_ptr<Module>> {
              if (!in.settings->Has("axis")) {
                return absl::InvalidArgumentError("setting 'axis' is required");
              }
              EMBER_ASSIGN_OR_RETURN(int64_t axis,
                                     in.settings->GetInt("axis", 0, -64, 63));
              return std::unique_ptr<Module>(new Concat(axis));
            }}},
      };
  return *types;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Module>> CreateLayerModule(
    const config::Layer& layer, const recorder::Value& item) {
  const auto& types = Types();
  auto it = types.find(layer.type());
  if (it == types.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown layer type '", layer.type(),
                     "' (known: ", absl::StrJoin(LayerTypeNames(), ", "), ")"));
  }
  const TypeInfo& info = it->second;
  const recorder::Value* record = nullptr;
  if (info.has_parameters) {
    if (layer.record_path().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("layer type '", layer.type(), "' needs a record_path"));
    }
    record = item.FindPath(layer.record_path());
    if (record == nullptr || record->is_nil()) {
      return absl::NotFoundError(absl::StrCat(
          "record path '", layer.record_path(), "' is not in the record"));
    }
  } else if (!layer.record_path().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "layer type '", layer.type(),
        "' has no parameters; remove record_path '", layer.record_path(), "'"));
  }
  LayerSettings settings(layer.settings());
  EMBER_ASSIGN_OR_RETURN(
      std::unique_ptr<Module> module,
      info.build(LayerInput{&settings, record, layer.record_path()}));
  EMBER_RETURN_IF_ERROR(settings.CheckAllUsed());
  return module;
}

std::vector<std::string> LayerTypeNames() {
  std::vector<std::string> names;
  for (const auto& [name, info] : Types()) names.push_back(name);
  return names;
}

bool LayerTypeHasParameters(absl::string_view type) {
  auto it = Types().find(std::string(type));
  return it != Types().end() && it->second.has_parameters;
}

}  // namespace ember::model
