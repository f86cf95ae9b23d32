// Shared helper for params validation messages.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string_view>

namespace faultline::resilience::detail {

/// Throws std::invalid_argument("<section>.<field>: <problem>; <fix>").
[[noreturn]] inline void bad_param(std::string_view section, std::string_view field,
                                   std::string_view problem, std::string_view fix) {
  throw std::invalid_argument(fmt::format("{}.{}: {}; {}", section, field, problem, fix));
}

}  // namespace faultline::resilience::detail
