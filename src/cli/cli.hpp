// The faultline command line as a library function, so tests can drive every command with
// their own model registry and capture its output and exit code.
//
// Exit codes: 0 every expectation met; 1 an expectation failed; 2 bad input (usage, scenario
// file, override, an output path that cannot be created); 3 nondeterminism or an internal
// error; 4 an output could not be written (disk full, file size limit, stdout closed).
#pragma once

#include <faultline/scenario/registry.hpp>

#include <ostream>
#include <string>
#include <vector>

namespace faultline::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitExpectationFailed = 1;
inline constexpr int kExitBadInput = 2;
inline constexpr int kExitInternal = 3;
inline constexpr int kExitOutput = 4;

struct Environment {
  bool stdout_is_tty = false;  // colours in the report
  bool stderr_is_tty = false;  // progress bars
  unsigned cores = 1;          // default sweep parallelism
  std::string scenario_dir = "scenarios";  // where `list` looks by default
};

/// Runs `faultline <args...>` (args excludes the program name).
int run_cli(const std::vector<std::string>& args, const scenario::ModelRegistry& registry,
            std::ostream& out, std::ostream& err, const Environment& env);

}  // namespace faultline::cli
