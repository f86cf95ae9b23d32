// FAULTLINE_ASSERT: the one macro of the code base. A violated assertion is a bug in the
// caller (scheduling in the past, a negative delay), so it prints where and aborts; it is on
// in every build type because a simulator that silently continues gives wrong answers.
#pragma once

namespace faultline::detail {
[[noreturn]] void assertion_failed(const char* expr, const char* message, const char* file,
                                   int line);
}  // namespace faultline::detail

#define FAULTLINE_ASSERT(expr, message)                                                  \
  do {                                                                                   \
    if (!(expr)) [[unlikely]] {                                                          \
      ::faultline::detail::assertion_failed(#expr, message, __FILE__, __LINE__);         \
    }                                                                                    \
  } while (false)
