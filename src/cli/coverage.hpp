// Fault coverage in a sweep's report: which faults fired on which targets across the seeds,
// how many seeds reached each code probe (faultline/probe.hpp), and the model's probes that no
// seed reached (a recovery path the sweep never exercised).
#pragma once

#include <faultline/scenario/runner.hpp>

#include <string>
#include <vector>

namespace faultline::cli {

/// Lines for one variant's runs (each "  ..." and newline-terminated); `model` names the
/// probes to expect ("<model>/..."). With `quiet`, only the probes no seed reached.
std::string sweep_coverage(const std::vector<const scenario::RunResult*>& runs,
                           const std::string& model, bool quiet);

}  // namespace faultline::cli
