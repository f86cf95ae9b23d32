// Arguments of the run-like commands (run, validate, list, check-determinism, sweep) and the
// helpers they share: output paths checked before anything runs, errors printed one a line,
// scenario inputs expanded, variants selected.
#pragma once

#include <faultline/scenario/scenario.hpp>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace faultline::cli {

struct BadUsage : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Beyond a few hundred threads a sweep only adds contention; the bound keeps thread creation
// from failing half-way.
constexpr std::uint64_t kMaxJobs = 512;
// A sweep keeps every run's results in memory for the summary and --json.
constexpr std::uint64_t kMaxSweepRuns = 1'000'000;

struct Args {
  std::vector<std::string> positional;
  std::vector<std::string> variants;
  bool all_variants = false;
  std::optional<std::uint64_t> seed;
  std::vector<std::string> sets;
  std::string trace;
  std::string perfetto;
  std::string json;
  std::string html;
  bool quiet = false;
  bool swarm = false;
  bool help = false;
  std::optional<std::pair<std::uint64_t, std::uint64_t>> seeds;
  unsigned jobs = 0;
};

/// Parses args[first..] into Args; a flag not in `allowed` is a BadUsage naming the closest.
Args parse_args(const std::vector<std::string>& args, std::size_t first,
                const std::vector<std::string>& allowed);

// Output paths are checked before anything runs: a typo in a directory name costs nothing.
void check_outputs(std::initializer_list<std::string> paths);

// One line per error, as compilers print them, and a count when there are several.
void print_errors(std::ostream& err, const scenario::ScenarioError& e);

/// Files and directories (every *.json in one, sorted) → scenario files.
std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs);

/// --variant NAMEs (each checked against the file), or every variant of the file.
std::vector<std::string> selected_variants(const scenario::ScenarioFile& file, const Args& a);

/// "out/trace.jsonl" + "base" → "out/trace.base.jsonl".
std::string with_variant(const std::string& path, const std::string& variant);

}  // namespace faultline::cli
