// The commands that run or check scenario files one run at a time: run, validate, list and
// check-determinism (sweep_command.hpp runs many seeds).
#pragma once

#include "cli.hpp"
#include "command_args.hpp"

#include <faultline/scenario/registry.hpp>

#include <ostream>

namespace faultline::cli {

int cmd_run(const Args& a, const scenario::ModelRegistry& registry, std::ostream& out,
            std::ostream& err, const Environment& env);
int cmd_validate(const Args& a, const scenario::ModelRegistry& registry, std::ostream& out,
                 std::ostream& err);
int cmd_list(const Args& a, const scenario::ModelRegistry& registry, std::ostream& out,
             const Environment& env);
int cmd_check_determinism(const Args& a, const scenario::ModelRegistry& registry,
                          std::ostream& out);

}  // namespace faultline::cli
