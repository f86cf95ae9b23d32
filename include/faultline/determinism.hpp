// Determinism, checked rather than assumed: run the same simulation twice and compare.
//
// The check runs `body` in two fresh Simulations built from the same options and compares the
// trace record by record. On a divergence it names the first record that differs, with both
// versions, in the manner of madsim's check_determinism and FoundationDB's unseed.
#pragma once

#include <faultline/simulation.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace faultline {

struct DeterminismReport {
  bool deterministic = true;
  std::uint64_t hash_first = 0;
  std::uint64_t hash_second = 0;
  std::uint64_t records_first = 0;
  std::uint64_t records_second = 0;
  /// Index of the first record that differs (or where one run ended early).
  std::optional<std::uint64_t> first_divergence;
  std::string record_first;   // that record in the first run ("<end of trace>" if none)
  std::string record_second;  // that record in the second run

  /// A paragraph a person can act on.
  std::string describe() const;
};

/// Runs `body(sim)` twice on fresh simulations with `options`; `body` must build everything it
/// needs inside the given simulation and run it.
DeterminismReport check_determinism(const Simulation::Options& options,
                                    const std::function<void(Simulation&)>& body);

}  // namespace faultline
