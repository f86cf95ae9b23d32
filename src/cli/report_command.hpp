// `faultline report` (an HTML page from saved --json results) and the HTML half of
// `faultline run --html` / `faultline sweep --html`. Kept out of cli.cpp so that file only
// hooks these in.
#pragma once

#include <faultline/report/html.hpp>
#include <faultline/scenario/registry.hpp>
#include <faultline/scenario/runner.hpp>
#include <faultline/scenario/scenario.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace faultline::cli {

extern const char* const kReportHelp;

/// `faultline report RESULTS.json -o OUT.html [...]`; args[first..] are its arguments.
int cmd_report(const std::vector<std::string>& args, std::size_t first,
               const scenario::ModelRegistry& registry, std::ostream& out, std::ostream& err);

/// The page of `faultline run FILE --html OUT`: gives the space-time recorder to attach to the
/// first variant's run, then writes the page (all-or-nothing) from the runs.
class RunHtmlWriter {
public:
  explicit RunHtmlWriter(std::string path) : path_(std::move(path)) {}
  /// The sink for the run of `spec` with `seed`: the recorder for the first run asked about,
  /// nullptr for the others.
  TraceSink* sink_for(const scenario::ScenarioSpec& spec, std::uint64_t seed);
  void write(const std::vector<scenario::ScenarioSpec>& specs,
             const std::vector<scenario::RunResult>& runs, const std::vector<std::string>& sets);
  const std::string& path() const { return path_; }

private:
  std::string path_;
  std::unique_ptr<report::SpaceTimeRecorder> recorder_;
  std::string variant_;
  std::uint64_t seed_ = 0;
};

/// The page of `faultline sweep FILE --html OUT` from the sweep's results JSON and the seeds
/// that ended in an error, per variant.
void write_sweep_html(const std::string& path, const nlohmann::json& results,
                      const report::SweepErrors& errors);

}  // namespace faultline::cli
