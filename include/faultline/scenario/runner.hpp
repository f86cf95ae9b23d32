// Running a resolved scenario and measuring it.
//
// run_scenario builds a fresh Simulation from the spec (seed, epoch), prepares and starts the
// model, records the observations, runs for the scenario's duration, then evaluates every
// expectation against what was measured: windowed counters, histograms, series and checker
// verdicts of this run. Nothing is restated from the file. Each call owns its Simulation, so
// runs can proceed in parallel on different threads.
#pragma once

#include <faultline/determinism.hpp>
#include <faultline/metrics.hpp>
#include <faultline/scenario/registry.hpp>
#include <faultline/scenario/scenario.hpp>
#include <faultline/trace.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace faultline::scenario {

struct ExpectationResult {
  std::string name;         // the expectation's "name" in the file, "" when it has none
  std::string description;  // "availability over [2h19m, end]"
  std::string bound;        // ">= 0.99"
  std::string measured;     // "0.4312" or "312ms" or "not linearizable: ..."
  double value = 0.0;       // measured value (seconds for durations; 1/0 for checkers)
  /// A checker's evidence of a violation (the offending operations), several lines; empty
  /// for other expectations and for a checker that found nothing.
  std::string evidence;
  bool ok = false;
  /// Which side of its bounds the measured value fell: -1 below `min`, +1 above `max`, 0
  /// within them (or no numeric bound). Only the shrinker uses it (not in the JSON results).
  int miss = 0;
};

/// Whole-run availability of one population (a client, a tier or a call edge).
struct PopulationMetrics {
  std::string name;
  std::uint64_t requests = 0;
  double availability = 0.0;  // 1 when no request completed
};

/// Whole-run figures shown side by side for every variant.
struct KeyMetrics {
  /// Which population the figures below are of: the model's default scope ("" when it is not
  /// one of its named scopes).
  std::string population;
  std::uint64_t requests = 0;
  std::uint64_t successes = 0;
  std::uint64_t attempts = 0;
  double availability = 0.0;        // successes / requests (1 when no requests)
  double retry_amplification = 0.0;  // attempts / requests; NaN when attempts are not measured
  double throughput_per_s = 0.0;     // successes per simulated second
  Duration latency_p50;
  Duration latency_p99;
  /// Availability of every population the model names, in its order (at most 16).
  std::vector<PopulationMetrics> populations;
};

struct SeriesResult {
  std::string name;
  std::vector<TimeSeries::Sample> samples;
};

struct RunResult {
  std::string file;
  std::string scenario;
  std::string variant;
  std::uint64_t seed = 0;
  std::uint64_t config_hash = 0;
  std::uint64_t trace_hash = 0;
  std::uint64_t trace_records = 0;
  std::uint64_t events = 0;
  Duration duration;
  KeyMetrics key;
  std::string key_series;
  std::vector<SeriesResult> series;
  std::vector<ExpectationResult> expectations;
  /// Fault coverage: how often each fault kind fired on each target ("crash node:api-0"),
  /// and each code probe reached (faultline/probe.hpp) how often; both sorted by name.
  std::vector<std::pair<std::string, std::uint64_t>> faults_fired;
  std::vector<std::pair<std::string, std::uint64_t>> probes;
  bool ok() const;
};

struct RunOptions {
  /// Replaces the scenario's seed.
  std::optional<std::uint64_t> seed;
  /// Attached to the simulation's trace for the whole run (not owned).
  std::vector<TraceSink*> sinks;
  /// Called now and then with the simulated time reached (for a progress bar).
  std::function<void(Time now, Time end)> progress;
};

/// Runs one spec in a fresh simulation. Throws ScenarioError for input problems discovered
/// while preparing the model.
RunResult run_scenario(const ScenarioSpec& spec, const ModelRegistry& registry,
                       const RunOptions& options = {});

/// Runs the spec twice and compares the traces record by record.
DeterminismReport check_scenario_determinism(const ScenarioSpec& spec,
                                             const ModelRegistry& registry,
                                             std::optional<std::uint64_t> seed = {});

/// The quantile q of the samples recorded into a histogram between two copies of it, `before`
/// and `after` (windowed latency percentiles from cumulative histograms); nullopt when no
/// sample was recorded in between. Exact to the histogram's resolution.
std::optional<std::int64_t> quantile_between(const Histogram& before, const Histogram& after,
                                             double q);

/// A duration to three significant digits for reports: "19.8ms", "1.62s", "2h19m".
std::string short_duration(Duration d);

/// Formats the command that replays this run ("faultline run FILE --variant V --seed N"); the
/// variant is named even for "base", which alone would run every variant.
std::string reproduce_command(const std::string& file, const std::string& variant,
                              std::uint64_t seed, const std::vector<std::string>& sets = {});

}  // namespace faultline::scenario
