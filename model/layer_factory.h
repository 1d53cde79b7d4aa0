// The declarative layer types: builds the Module for one `layers` entry of a
// config.pbtxt from its type, settings and sub-record.
//
// docs/model.md lists every type with its record keys and settings. Errors
// say what is wrong (a setting, a parameter with its record path and
// shapes); the caller adds the config file and layer name.
//
//   EMBER_ASSIGN_OR_RETURN(std::unique_ptr<Module> module,
//                          CreateLayerModule(layer, record.item()));

#ifndef EMBER_MODEL_LAYER_FACTORY_H_
#define EMBER_MODEL_LAYER_FACTORY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "model/modules/module.h"
#include "proto/model_config.pb.h"
#include "recorder/record.h"

namespace ember::model {

// Builds `layer`'s module. Types with parameters read the sub-record at
// `layer.record_path()` inside `item` (the record's module tree); the other
// types must not name a record path. Every setting is parsed and checked;
// unknown settings are errors.
absl::StatusOr<std::unique_ptr<Module>> CreateLayerModule(
    const config::Layer& layer, const recorder::Value& item);

// Every layer type name, sorted.
std::vector<std::string> LayerTypeNames();

// True for the types built from a sub-record ("linear", "conv2d", ...).
bool LayerTypeHasParameters(absl::string_view type);

}  // namespace ember::model

#endif  // EMBER_MODEL_LAYER_FACTORY_H_
