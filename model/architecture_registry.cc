#include "model/architecture_registry.h"

#include <map>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "model/architectures/burn_book_mlp.h"
#include "model/architectures/modern_lstm.h"

namespace ember::model {
namespace {

class Registry {
 public:
  Registry() {
    factories_["burn_book_mlp"] = &BuildBurnBookMlp;
    factories_["modern_lstm"] = &BuildModernLstm;
  }

  absl::Status Register(const std::string& name, ArchitectureFactory f) {
    if (name.empty() || f == nullptr) {
      return absl::InvalidArgumentError(
          "an architecture needs a name and a factory");
    }
    absl::MutexLock lock(&mu_);
    if (!factories_.emplace(name, std::move(f)).second) {
      return absl::AlreadyExistsError(
          absl::StrCat("architecture '", name, "' is already registered"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<ArchitectureFactory> Find(absl::string_view name) {
    absl::MutexLock lock(&mu_);
    auto it = factories_.find(std::string(name));
    if (it != factories_.end()) return it->second;
    std::vector<std::string> names;
    for (const auto& [known, f] : factories_) names.push_back(known);
    return absl::NotFoundError(
        absl::StrCat("unknown architecture '", name,
                     "' (known: ", absl::StrJoin(names, ", "), ")"));
  }

  std::vector<std::string> Names() {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> names;
    for (const auto& [name, f] : factories_) names.push_back(name);
    return names;
  }

 private:
  // Held only to read or insert one map entry.
  absl::Mutex mu_;
  std::map<std::string, ArchitectureFactory> factories_ ABSL_GUARDED_BY(mu_);
};

Registry& GetRegistry() {
  static Registry* registry = new Registry();
  return *registry;
}

}  // namespace

absl::Status RegisterArchitecture(const std::string& name,
                                  ArchitectureFactory factory) {
  return GetRegistry().Register(name, std::move(factory));
}

absl::StatusOr<ArchitectureFactory> FindArchitecture(absl::string_view name) {
  return GetRegistry().Find(name);
}

std::vector<std::string> ArchitectureNames() { return GetRegistry().Names(); }

}  // namespace ember::model
