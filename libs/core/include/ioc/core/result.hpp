#pragma once
/// Result<T>: the error channel of per-record and per-request paths.
///
/// Startup code throws ioc::ConfigError; hot paths return Result<T> instead of
/// throwing, so a bad record costs a branch, not an unwind. Thread-safety: a
/// value type, same rules as std::variant.

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace ioc {

enum class ErrorCode {
  kInvalidArgument,   // the caller's input is wrong (bad field, bad record)
  kNotFound,          // a looked-up thing does not exist
  kOutOfRange,        // a value is outside what is allowed (time, coordinate)
  kUnavailable,       // a dependency (broker, disk) is not reachable now; retry later
  kDeadlineExceeded,  // the operation did not finish in time
  kDataLoss,          // data was corrupt or truncated (bad snapshot, bad checksum)
  kInternal,          // a bug or an unexpected failure of a library we call
};

/// Stable lower-case name of an ErrorCode, used in logs and JSON bodies.
constexpr const char* to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid_argument";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kOutOfRange: return "out_of_range";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kDeadlineExceeded: return "deadline_exceeded";
    case ErrorCode::kDataLoss: return "data_loss";
    case ErrorCode::kInternal: return "internal";
  }
  return "unknown";
}

struct Error {
  ErrorCode code;
  std::string message;

  friend bool operator==(const Error&, const Error&) = default;
};

inline Error invalid_argument(std::string message) {
  return {ErrorCode::kInvalidArgument, std::move(message)};
}
inline Error unavailable(std::string message) {
  return {ErrorCode::kUnavailable, std::move(message)};
}
inline Error data_loss(std::string message) {
  return {ErrorCode::kDataLoss, std::move(message)};
}

/// Either a T or an Error. Construct from either; check ok() before value().
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(implicit)
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT(implicit)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { assert(!ok()); return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

/// Result of an operation that produces no value.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT(implicit)

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { assert(!ok_); return error_; }

 private:
  Error error_{ErrorCode::kInternal, {}};
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace ioc
