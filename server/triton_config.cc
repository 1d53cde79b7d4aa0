#include "server/triton_config.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <vector>

#include "absl/strings/str_cat.h"

namespace ember::server {
namespace {

// "FP32" -> TYPE_FP32: Triton's enum names are the OIP datatype names with
// a prefix.
inference::DataType TritonType(model::DataType type) {
  inference::DataType out = inference::TYPE_INVALID;
  inference::DataType_Parse(absl::StrCat("TYPE_", model::DataTypeName(type)),
                            &out);
  return out;
}

bool StartsWithAnySize(const std::vector<model::TensorSpec>& specs) {
  for (const model::TensorSpec& spec : specs) {
    if (spec.shape.empty() || spec.shape[0] >= 0) return false;
  }
  return true;
}

template <typename Triton>
void FillTensor(const model::TensorSpec& spec, bool drop_batch, Triton* out) {
  out->set_name(spec.name);
  out->set_data_type(TritonType(spec.type));
  for (size_t i = drop_batch ? 1 : 0; i < spec.shape.size(); ++i) {
    out->add_dims(spec.shape[i]);
  }
}

}  // namespace

inference::ModelConfig ToTritonConfig(const std::string& name,
                                      const config::ModelConfig& config,
                                      const model::Model& model) {
  inference::ModelConfig out;
  out.set_name(name);
  out.set_platform("ember_burn");
  out.set_backend("ember");

  const config::VersionPolicy& policy = config.version_policy();
  inference::ModelVersionPolicy* versions = out.mutable_version_policy();
  switch (policy.policy_choice_case()) {
    case config::VersionPolicy::kAll:
      versions->mutable_all();
      break;
    case config::VersionPolicy::kSpecific:
      for (int64_t v : policy.specific().versions()) {
        versions->mutable_specific()->add_versions(v);
      }
      break;
    case config::VersionPolicy::kLatest:
      versions->mutable_latest()->set_num_versions(
          std::max<uint32_t>(1, policy.latest().num_versions()));
      break;
    case config::VersionPolicy::POLICY_CHOICE_NOT_SET:
      versions->mutable_latest()->set_num_versions(1);
      break;
  }

  const bool batched = config.max_batch_size() > 0 &&
                       StartsWithAnySize(model.inputs()) &&
                       StartsWithAnySize(model.outputs());
  if (batched) {
    out.set_max_batch_size(static_cast<int32_t>(
        std::min<int64_t>(config.max_batch_size(), INT32_MAX)));
  }
  for (const model::TensorSpec& spec : model.inputs()) {
    FillTensor(spec, batched, out.add_input());
  }
  for (const model::TensorSpec& spec : model.outputs()) {
    FillTensor(spec, batched, out.add_output());
  }
  return out;
}

}  // namespace ember::server
