// Small status helpers shared by every Ember component.
//
// Debian 12's Abseil (20220623) ships absl::Status but not the
// return-if-error macros, so Ember keeps its own two.
//
//   absl::Status Load(const std::string& path) {
//     EMBER_RETURN_IF_ERROR(CheckPath(path));
//     EMBER_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
//     ...
//   }

#ifndef EMBER_COMMON_STATUS_MACROS_H_
#define EMBER_COMMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Returns from the enclosing function when `expr` is not OK.
#define EMBER_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::absl::Status ember_status_ = (expr);         \
    if (!ember_status_.ok()) return ember_status_; \
  } while (false)

#define EMBER_STATUS_CONCAT_INNER_(a, b) a##b
#define EMBER_STATUS_CONCAT_(a, b) EMBER_STATUS_CONCAT_INNER_(a, b)

// Evaluates `rexpr` (an absl::StatusOr<T>); returns its status when not OK,
// otherwise moves the value into `lhs` (a declaration or an lvalue).
#define EMBER_ASSIGN_OR_RETURN(lhs, rexpr) \
  EMBER_ASSIGN_OR_RETURN_IMPL_(            \
      EMBER_STATUS_CONCAT_(ember_statusor_, __LINE__), lhs, rexpr)

#define EMBER_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                 \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // EMBER_COMMON_STATUS_MACROS_H_
