#include <faultline/report/json_results.hpp>
#include <faultline/report/terminal.hpp>

#include <algorithm>
#include <cmath>

namespace faultline::report {
namespace {

nlohmann::json number_or_null(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

}  // namespace

nlohmann::json run_to_json(const scenario::RunResult& run, const std::vector<std::string>& sets) {
  nlohmann::json j;
  j["file"] = run.file;
  j["scenario"] = run.scenario;
  j["variant"] = run.variant;
  j["seed"] = run.seed;
  j["config_hash"] = hex64(run.config_hash);
  j["trace_hash"] = hex64(run.trace_hash);
  j["trace_records"] = run.trace_records;
  j["events"] = run.events;
  j["duration"] = run.duration.to_string();
  j["ok"] = run.ok();
  j["reproduce"] = scenario::reproduce_command(run.file, run.variant, run.seed, sets);
  const auto& k = run.key;
  j["key"] = {{"requests", k.requests},
              {"successes", k.successes},
              {"attempts", k.attempts},
              {"availability", number_or_null(k.availability)},
              {"retry_amplification", number_or_null(k.retry_amplification)},
              {"throughput_per_s", number_or_null(k.throughput_per_s)},
              {"latency_p50_s", k.latency_p50.to_seconds()},
              {"latency_p99_s", k.latency_p99.to_seconds()}};
  if (!k.population.empty()) {
    j["key"]["population"] = k.population;
  }
  j["populations"] = nlohmann::json::array();
  for (const auto& p : k.populations) {
    j["populations"].push_back({{"name", p.name},
                                {"requests", p.requests},
                                {"availability", number_or_null(p.availability)}});
  }
  // Fault coverage: {"crash node:api-0": 2, ...} and {"spanner/paxos/leader-change": 3, ...}.
  j["faults_fired"] = nlohmann::json::object();
  for (const auto& [what, n] : run.faults_fired) {
    j["faults_fired"][what] = n;
  }
  j["probes"] = nlohmann::json::object();
  for (const auto& [name, n] : run.probes) {
    j["probes"][name] = n;
  }
  j["expectations"] = nlohmann::json::array();
  for (const auto& e : run.expectations) {
    nlohmann::json x = {{"description", e.description},
                        {"bound", e.bound},
                        {"measured", e.measured},
                        {"value", number_or_null(e.value)},
                        {"ok", e.ok}};
    if (!e.name.empty()) {
      x["name"] = e.name;
    }
    if (!e.evidence.empty()) {
      x["evidence"] = e.evidence;  // the whole of it; the terminal shows the first lines
    }
    j["expectations"].push_back(std::move(x));
  }
  j["series"] = nlohmann::json::object();
  for (const auto& s : run.series) {
    auto& arr = j["series"][s.name] = nlohmann::json::array();
    for (const auto& sample : s.samples) {
      arr.push_back({sample.time.to_seconds(), number_or_null(sample.value)});
    }
  }
  return j;
}

nlohmann::json results_to_json(const std::vector<scenario::RunResult>& runs,
                               const std::vector<std::string>& sets) {
  nlohmann::json j;
  j["format"] = "faultline-results";
  j["version"] = 1;
  j["ok"] = std::all_of(runs.begin(), runs.end(), [](const auto& r) { return r.ok(); });
  j["runs"] = nlohmann::json::array();
  for (const auto& r : runs) {
    j["runs"].push_back(run_to_json(r, sets));
  }
  return j;
}

}  // namespace faultline::report
