#include <faultline/assert.hpp>

#include <cstdio>
#include <cstdlib>

namespace faultline::detail {

void assertion_failed(const char* expr, const char* message, const char* file, int line) {
  std::fprintf(stderr, "faultline: assertion failed at %s:%d: %s (%s)\n", file, line, message,
               expr);
  std::abort();
}

}  // namespace faultline::detail
