// `faultline shrink FILE --seed N [--variant V]`: from a failing run to a smaller scenario that
// fails the same expectation (or the same checker) on the same seed.
//
// Delta debugging over the scenario document, deterministic (no randomness of its own: the
// same input gives the same minimal scenario), bounded by a budget of runs:
//   1. random faults ("mean_interval") are materialised into the explicit faults that fired in
//      the failing run, when those alone reproduce the failure;
//   2. fewer faults (ddmin over /faults);
//   3. shorter fault windows ("for" halved while it still fails);
//   4. a shorter run ("duration" halved while it still fails);
//   5. smaller populations: integer params named like a count of clients, nodes or keys
//      (instances, nodes, clients, keys, processes, members, ...) halved, then decreased by one.
// It writes the minimal scenario next to the original (atomically), prints what it removed and
// the replay command, and for a checker failure the checker's evidence in the minimal run (the
// linearizability checker's evidence is already its minimal failing sub-history).
//
// Exit codes: 0 a smaller (or equal) failing scenario was written, or the seed passes and there
// is nothing to shrink (said so); 2 bad input; 3 an internal error; 4 the output could not be
// written.
#pragma once

#include <faultline/scenario/registry.hpp>

#include <ostream>
#include <string>
#include <vector>

namespace faultline::cli {

/// `args` excludes "shrink" itself.
int run_shrink_command(const std::vector<std::string>& args,
                       const scenario::ModelRegistry& registry, std::ostream& out,
                       std::ostream& err);

}  // namespace faultline::cli
