// Runs a shipped scenario file over a range of seeds, for the [.slow] sweeps that back a
// story's "Seeds" section with the scenario file itself (not a shortened copy).
#pragma once

#include <faultline/scenario/registry.hpp>
#include <faultline/scenario/runner.hpp>
#include <faultline/scenario/scenario.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

namespace faultline::scenario::testing {

/// scenarios/<name> of the source tree (the test target defines FAULTLINE_SOURCE_DIR).
inline ScenarioFile load_shipped_scenario(const std::string& name) {
  return ScenarioFile::load(std::string(FAULTLINE_SOURCE_DIR) + "/scenarios/" + name);
}

/// One run of `variant` of `file` on `seed`.
inline RunResult run_seed(const ScenarioFile& file, const std::string& variant,
                          std::uint64_t seed, const ModelRegistry& registry) {
  auto spec = file.resolve(variant, {}, registry);
  spec.seed = seed;
  return run_scenario(spec, registry);
}

/// Every expectation of `result` holds; a failure names the seed, the expectation, its bound
/// and what was measured.
inline void require_all_hold(const RunResult& result, std::uint64_t seed) {
  for (const auto& e : result.expectations) {
    INFO("seed " << seed << ": " << e.description << " " << e.bound << " measured "
                 << e.measured);
    REQUIRE(e.ok);
  }
}

/// Every expectation of `variant` holds on each seed of first..last (inclusive).
inline void require_all_hold_on_seeds(const ScenarioFile& file, const std::string& variant,
                                      std::uint64_t first, std::uint64_t last,
                                      const ModelRegistry& registry) {
  for (std::uint64_t seed = first; seed <= last; ++seed) {
    require_all_hold(run_seed(file, variant, seed, registry), seed);
  }
}

}  // namespace faultline::scenario::testing
