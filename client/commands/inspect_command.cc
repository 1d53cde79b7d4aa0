#include "client/commands/inspect_command.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/json.h"
#include "common/status_macros.h"
#include "recorder/codec.h"
#include "recorder/record.h"

namespace ember::client {
namespace {

using recorder::Record;
using recorder::TensorEntry;
using recorder::TensorLayout;
using recorder::Value;

absl::StatusOr<std::shared_ptr<const std::string>> ReadFile(
    const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat(path, ": ", std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a regular file"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat(path, ": read error"));
  return std::make_shared<const std::string>(buffer.str());
}

std::string LayoutName(const Record& record) {
  bool data = false, value = false;
  for (const TensorEntry& t : record.Tensors()) {
    (t.tensor->layout == TensorLayout::kTensorData ? data : value) = true;
  }
  if (data && value) return "mixed";
  if (data) return "tensor_data";
  if (value) return "value_shape";
  return "none";
}

std::string ShapeText(const std::vector<uint64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

// 1234567 -> "1,234,567".
std::string Grouped(uint64_t n) {
  std::string digits = absl::StrCat(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string HumanBytes(uint64_t n) {
  if (n < 1024) return absl::StrCat(n, " B");
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = n / 1024.0;
  int u = 0;
  while (v >= 1024 && u < 3) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f %s", v, units[u]);
  return buf;
}

// Prints modules (maps and arrays) that contain parameters, and the
// parameters themselves; fields without parameters (nil) are left out.
bool HasTensor(const Value& v) {
  if (v.is_tensor()) return true;
  if (v.is_map()) {
    for (const auto& [k, item] : v.map()) {
      if (HasTensor(item)) return true;
    }
  }
  if (v.is_array()) {
    for (const Value& item : v.array()) {
      if (HasTensor(item)) return true;
    }
  }
  return false;
}

void PrintTree(const std::string& name, const Value& v, int depth,
               std::ostream& out) {
  const std::string indent(2 * depth, ' ');
  if (v.is_tensor()) {
    const recorder::Tensor& t = v.tensor();
    out << indent << name << "  " << recorder::DTypeName(t.dtype) << " "
        << ShapeText(t.shape) << "  (" << Grouped(t.NumElements()) << ")\n";
    return;
  }
  if (!HasTensor(v)) return;
  if (!name.empty()) out << indent << name << "\n";
  const int child = name.empty() ? depth : depth + 1;
  if (v.is_map()) {
    for (const auto& [k, item] : v.map()) PrintTree(k, item, child, out);
  } else {
    for (size_t i = 0; i < v.array().size(); ++i) {
      PrintTree(absl::StrCat("[", i, "]"), v.array()[i], child, out);
    }
  }
}

}  // namespace

void InspectCommand::DefineArgs(ArgParser& args) {
  args.AddPositional("FILE", &path_, "the record to read (.mpk or .mpk.gz)");
  args.AddBool("json", &json_,
               "print one JSON object (metadata, layout, totals and every "
               "tensor's path, dtype and shape in file order)");
  args.AddExample("ember inspect model.mpk",
                  "metadata, module tree and totals as text");
  args.AddExample("ember inspect --json model.mpk.gz",
                  "the same as JSON, for scripts");
}

absl::Status InspectCommand::Run(std::ostream& out) {
  EMBER_ASSIGN_OR_RETURN(std::shared_ptr<const std::string> file,
                         ReadFile(path_));
  const bool compressed = file->size() >= 2 &&
                          static_cast<uint8_t>((*file)[0]) == 0x1f &&
                          static_cast<uint8_t>((*file)[1]) == 0x8b;
  const uint64_t file_size = file->size();
  EMBER_ASSIGN_OR_RETURN(Record record,
                         recorder::DecodeRecord(std::move(file), path_));
  const recorder::Metadata meta = record.metadata();
  const std::vector<TensorEntry> tensors = record.Tensors();
  uint64_t parameters = 0, bytes = 0;
  for (const TensorEntry& t : tensors) {
    parameters += t.tensor->NumElements();
    bytes += t.tensor->bytes.size();
  }
  const absl::StatusOr<recorder::Precision> precision =
      recorder::RecordPrecision(record);
  const std::string precision_name =
      precision.ok() ? std::string(recorder::PrecisionName(*precision))
                     : "mixed";
  const std::string layout = LayoutName(record);

  if (json_) {
    json::Value doc = json::Value::MakeObject();
    doc.Set("file", json::Value::String(path_));
    doc.Set("burn_version", json::Value::String(meta.version));
    doc.Set("float", json::Value::String(meta.float_type));
    doc.Set("int", json::Value::String(meta.int_type));
    doc.Set("format", json::Value::String(meta.format));
    doc.Set("settings", json::Value::String(meta.settings));
    doc.Set("layout", json::Value::String(layout));
    doc.Set("compressed", json::Value::Bool(compressed));
    doc.Set("has_phantom_b", json::Value::Bool(record.has_phantom_b()));
    doc.Set("precision", json::Value::String(precision_name));
    doc.Set("num_tensors", json::Value::Uint(tensors.size()));
    doc.Set("num_parameters", json::Value::Uint(parameters));
    doc.Set("bytes", json::Value::Uint(bytes));
    json::Value list = json::Value::MakeArray();
    for (const TensorEntry& t : tensors) {
      json::Value entry = json::Value::MakeObject();
      entry.Set("path", json::Value::String(t.path));
      entry.Set("dtype",
                json::Value::String(std::string(DTypeName(t.tensor->dtype))));
      json::Value shape = json::Value::MakeArray();
      for (uint64_t d : t.tensor->shape) shape.Append(json::Value::Uint(d));
      entry.Set("shape", std::move(shape));
      entry.Set("num_elements", json::Value::Uint(t.tensor->NumElements()));
      entry.Set("bytes", json::Value::Uint(t.tensor->bytes.size()));
      list.Append(std::move(entry));
    }
    doc.Set("tensors", std::move(list));
    out << json::Write(doc) << "\n";
    return absl::OkStatus();
  }

  auto row = [&out](absl::string_view key, const std::string& value) {
    out << key << std::string(14 - key.size(), ' ') << value << "\n";
  };
  row("file", absl::StrCat(path_, " (", Grouped(file_size), " bytes)"));
  row("burn version", meta.version.empty() ? "(none)" : meta.version);
  row("settings",
      absl::StrCat(meta.settings.empty() ? "(none)" : meta.settings, " (float ",
                   meta.float_type, ", int ", meta.int_type, ")"));
  row("precision", precision_name);
  row("recorder", meta.format.empty() ? "(none)" : meta.format);
  row("layout", layout == "tensor_data"
                    ? "tensor_data ({bytes, shape, dtype}, Burn >= 0.14)"
                : layout == "value_shape"
                    ? "value_shape ({value, shape}, Burn <= 0.13)"
                    : layout);
  row("compressed", compressed ? "yes (gzip)" : "no");
  row("_b key", record.has_phantom_b() ? "yes" : "no (Burn <= 0.11)");
  out << "\nmodules:\n";
  PrintTree("", record.item(), 1, out);
  out << "\n";
  row("tensors", Grouped(tensors.size()));
  row("parameters", Grouped(parameters));
  row("bytes", absl::StrCat(Grouped(bytes), " (", HumanBytes(bytes), ")"));
  return absl::OkStatus();
}

std::unique_ptr<Command> MakeInspectCommand() {
  return std::make_unique<InspectCommand>();
}

}  // namespace ember::client
