// faultline sweep: every seed of a range for each selected variant, on a pool of threads (or
// over MPI ranks), summarised per variant.
#pragma once

#include "cli.hpp"
#include "command_args.hpp"

#include <faultline/scenario/registry.hpp>

#include <ostream>

namespace faultline::cli {

int cmd_sweep(const Args& a, const scenario::ModelRegistry& registry, std::ostream& out,
              std::ostream& err, const Environment& env);

}  // namespace faultline::cli
