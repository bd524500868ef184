// Errors raised by native code. The N-API layer turns them into JS TypeError / RangeError /
// MixprecError objects carrying `code`.
#pragma once
#include <stdexcept>
#include <string>

namespace mp {

enum class ErrorKind { Type, Range, Mixprec };

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string code, const std::string& message)
      : std::runtime_error(message), kind_(kind), code_(std::move(code)) {}
  ErrorKind kind() const { return kind_; }
  const std::string& code() const { return code_; }

 private:
  ErrorKind kind_;
  std::string code_;
};

[[noreturn]] inline void throwTypeError(const std::string& code, const std::string& message) {
  throw Error(ErrorKind::Type, code, message);
}
[[noreturn]] inline void throwRangeError(const std::string& code, const std::string& message) {
  throw Error(ErrorKind::Range, code, message);
}
[[noreturn]] inline void throwMixprecError(const std::string& code, const std::string& message) {
  throw Error(ErrorKind::Mixprec, code, message);
}

}  // namespace mp
