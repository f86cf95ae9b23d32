// Swarm testing for sweeps (Groce et al., "Swarm Testing", ISSTA 2012; TigerBeetle's VOPR does
// the same with its fault probabilities): instead of every seed running every fault kind, each
// seed runs with a random subset of the kinds switched on, so that a fault that masks another
// (a crash that hides a slow disk) is sometimes absent. The subset is a function of the seed
// alone: seed N gives the same combination in every sweep, on every rank and machine.
//
// A scenario's "swarm" section turns it on for every sweep of the file:
//   "swarm": {"kinds": ["crash", "latency", "partition"]}
// ("kinds" omitted: every fault kind the variant's /faults uses); `sweep --swarm` turns it on
// for any file. Faults whose kind is not swarmed always stay. Each swarmed kind is on with
// probability 1/2, and at least one is on. `faultline run` ignores the section (it runs every
// fault); a failing seed's replay command names the faults the seed kept (--set faults=...).
#pragma once

#include "sweep_cluster.hpp"

#include <faultline/scenario/registry.hpp>
#include <faultline/scenario/scenario.hpp>

#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace faultline::cli {

struct SwarmConfig {
  /// The kinds switched on and off per seed; empty: every kind the variant's faults use.
  std::vector<std::string> kinds;
};

/// The file's "swarm" section, or {} when `flag` (sweep --swarm) is given without one; nullopt
/// when neither. Throws ScenarioError naming /swarm for a malformed section.
std::optional<SwarmConfig> swarm_config(const scenario::ScenarioFile& file, bool flag);

/// Which of `kinds` are on for `seed` (a pure function of both).
std::vector<bool> swarm_mask(const std::vector<std::string>& kinds, std::uint64_t seed);

/// Gives every task the spec of its seed's combination (resolved once per variant and
/// combination, kept in `storage`) and its label. Throws ScenarioError when a combination does
/// not resolve.
void apply_swarm(std::vector<SweepTask>& tasks, const scenario::ScenarioFile& file,
                 const std::vector<std::string>& sets, const scenario::ModelRegistry& registry,
                 const SwarmConfig& config, std::deque<scenario::ScenarioSpec>& storage);

}  // namespace faultline::cli
