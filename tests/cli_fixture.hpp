// Runs the faultline CLI in-process, as `faultline ARGS...` would, and keeps what it printed.
#pragma once

#include "cli.hpp"

#include <faultline/scenario/registry.hpp>

#include <sstream>
#include <string>
#include <vector>

namespace faultline::testing {

struct CliOutcome {
  int code = 0;
  std::string out;
  std::string err;
};

/// `cores` is what the CLI believes the machine has (its default `-j` and the `-j` checks).
inline CliOutcome run_cli_captured(const std::vector<std::string>& args,
                                   const scenario::ModelRegistry& registry, unsigned cores = 1) {
  std::ostringstream out;
  std::ostringstream err;
  cli::Environment env;
  env.cores = cores;
  const int code = cli::run_cli(args, registry, out, err, env);
  return {code, out.str(), err.str()};
}

}  // namespace faultline::testing
