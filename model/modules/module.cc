#include "model/modules/module.h"

#include "absl/strings/str_cat.h"

namespace ember::model {

std::string TypeToString(const TensorType& type) {
  return absl::StrCat(DataTypeName(type.type), ShapeToString(type.shape));
}

}  // namespace ember::model
