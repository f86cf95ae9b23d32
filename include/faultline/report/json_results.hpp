// Machine-readable results of `faultline run --json` and `faultline sweep --json`.
#pragma once

#include <faultline/scenario/runner.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace faultline::report {

/// One run: identity (file, variant, seed, config and trace hashes), key metrics, every
/// expectation with measured value and verdict, observed series, and the reproduce command.
nlohmann::json run_to_json(const scenario::RunResult& run, const std::vector<std::string>& sets);

/// {"format": "faultline-results", "version": 1, "ok": ..., "runs": [...]}.
nlohmann::json results_to_json(const std::vector<scenario::RunResult>& runs,
                               const std::vector<std::string>& sets);

}  // namespace faultline::report
