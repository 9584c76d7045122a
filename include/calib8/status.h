// calib8/status.h — Status and Result<T>: how every calib8 function that can fail on input says so.
//
// No exception crosses the calib8 API. A function that can fail on user input returns a Status (or
// a Result<T> carrying either a value or a Status). Messages say what, which and what was expected:
//   "model 'x.onnx': node 'conv1' (Conv): input 1 'w' not found: expected an initializer or a graph
//    input".
// CALIB8_RETURN_IF_ERROR and CALIB8_ASSIGN_OR_RETURN are the only two propagation macros.
#pragma once

#include <cassert>
#include <sstream>
#include <string>
#include <utility>
#include <variant>

namespace calib8 {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // the user's input (file, tensor, option) is wrong
  kNotFound,         // a file, tensor or node named by the user does not exist
  kUnimplemented,    // valid input that calib8 does not support (yet)
  kIoError,          // reading or writing a file failed
  kInternal,         // a bug in calib8 or a third-party library failure
};

// Status: ok, or a code plus a human-readable message. Cheap to copy when ok.
class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is "<prefix>: <message>" (adds context on the way up).
  Status WithContext(const std::string& prefix) const {
    if (ok()) return *this;
    return Status(code_, prefix + ": " + message_);
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

namespace detail {
template <typename... Args>
std::string StrCat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
}  // namespace detail

// Builders: InvalidArgument("line ", 7, ": expected hex, got '", text, "'").
template <typename... Args>
Status InvalidArgument(const Args&... a) {
  return Status(StatusCode::kInvalidArgument, detail::StrCat(a...));
}
template <typename... Args>
Status NotFound(const Args&... a) {
  return Status(StatusCode::kNotFound, detail::StrCat(a...));
}
template <typename... Args>
Status Unimplemented(const Args&... a) {
  return Status(StatusCode::kUnimplemented, detail::StrCat(a...));
}
template <typename... Args>
Status IoError(const Args&... a) {
  return Status(StatusCode::kIoError, detail::StrCat(a...));
}
template <typename... Args>
Status Internal(const Args&... a) {
  return Status(StatusCode::kInternal, detail::StrCat(a...));
}

// Result<T>: a T or a non-ok Status. Accessing value() of an error is a bug (asserts).
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(v_).ok() && "Result constructed from an ok Status");
  }
  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & {
    assert(ok());
    return std::get<T>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<T>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<T>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace calib8

#define CALIB8_CONCAT_INNER_(a, b) a##b
#define CALIB8_CONCAT_(a, b) CALIB8_CONCAT_INNER_(a, b)

// Returns the Status from the enclosing function if `expr` is not ok.
#define CALIB8_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::calib8::Status calib8_status_ = (expr);        \
    if (!calib8_status_.ok()) return calib8_status_; \
  } while (0)

// `lhs = value of expr` or return its Status. lhs may be a declaration: `auto x`.
#define CALIB8_ASSIGN_OR_RETURN(lhs, expr)                    \
  auto CALIB8_CONCAT_(calib8_result_, __LINE__) = (expr);     \
  if (!CALIB8_CONCAT_(calib8_result_, __LINE__).ok())         \
    return CALIB8_CONCAT_(calib8_result_, __LINE__).status(); \
  lhs = std::move(CALIB8_CONCAT_(calib8_result_, __LINE__)).value()
