#include "report_command.hpp"

#include "cli.hpp"

#include <faultline/report/json_results.hpp>
#include <faultline/report/output_file.hpp>
#include <faultline/report/terminal.hpp>

#include <charconv>
#include <set>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace faultline::cli {

const char* const kReportHelp = R"(usage: faultline report RESULTS.json -o OUT.html [options]

Writes one self-contained HTML page (it opens offline) from results saved by
`faultline run FILE --json RESULTS.json`: every observation as a plot with the variants
overlaid, fault windows and expectation bounds drawn, the expectations table, the run facts
and the story, and a space-time diagram of one variant. The scenario file named in the
results must still match them (its config hash is checked). The diagram comes from running
that variant again with the same seed; its trace hash is checked against the saved one.
Results of `faultline sweep --json` give the sweep's pass/fail matrix instead.

options:
  -o, --output OUT.html     where to write the page (required)
  --diagram-variant NAME    the variant the diagram shows (default: the first run's)
  --diagram-window A..B     the diagram's window since the start, e.g. 19m..19m02s
                            (default: 2 s from half a second before the first fault)
  --diagram-max-messages N  draw at most N messages (default 250)
)";

namespace {

using nlohmann::json;

struct ReportError : std::runtime_error {
  ReportError(int code, const std::string& what) : std::runtime_error(what), exit_code(code) {}
  int exit_code;
};

// The --set arguments of a reproduce command (reproduce_command writes each as --set 'X').
std::vector<std::string> sets_of(const std::string& reproduce) {
  std::vector<std::string> sets;
  const std::string marker = " --set '";
  for (auto pos = reproduce.find(marker); pos != std::string::npos;
       pos = reproduce.find(marker, pos)) {
    pos += marker.size();
    auto end = reproduce.find("' --set '", pos);
    if (end == std::string::npos) {
      end = reproduce.rfind('\'');
    }
    if (end == std::string::npos || end < pos) {
      break;
    }
    sets.push_back(reproduce.substr(pos, end - pos));
    pos = end;
  }
  return sets;
}

json load_results(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw ReportError(kExitBadInput, path + ": cannot read the file; pass the results written by "
                                            "faultline run FILE --json RESULTS.json");
  }
  std::stringstream text;
  text << in.rdbuf();
  json j = json::parse(text.str(), nullptr, false);
  if (j.is_discarded()) {
    throw ReportError(kExitBadInput, path + ": not JSON; pass the results written by "
                                            "faultline run FILE --json RESULTS.json");
  }
  if (!j.is_object() || j.value("format", std::string()) != "faultline-results" ||
      !j.contains("runs") || !j["runs"].is_array()) {
    throw ReportError(kExitBadInput,
                      path + ": /format is not \"faultline-results\"; pass the results written "
                             "by faultline run FILE --json RESULTS.json");
  }
  if (j["runs"].empty()) {
    throw ReportError(kExitBadInput, path + ": /runs is empty; there is nothing to report");
  }
  for (std::size_t i = 0; i < j["runs"].size(); ++i) {
    const auto& r = j["runs"][i];
    for (const char* key : {"file", "variant", "seed", "config_hash", "trace_hash", "reproduce"}) {
      if (!r.is_object() || !r.contains(key)) {
        throw ReportError(kExitBadInput, path + ": /runs/" + std::to_string(i) + " has no \"" +
                                             key + "\"; the file is not faultline's results");
      }
    }
  }
  return j;
}

bool is_sweep(const json& results) {
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& r : results["runs"]) {
    if (!seen.emplace(r["file"].get<std::string>(), r["variant"].get<std::string>()).second) {
      return true;  // one variant with several seeds
    }
  }
  return false;
}

std::string write_page(const std::string& path, const std::string& page) {
  report::write_file_atomically(path, page);
  return path;
}

}  // namespace

TraceSink* RunHtmlWriter::sink_for(const scenario::ScenarioSpec& spec, std::uint64_t seed) {
  if (recorder_) {
    return nullptr;
  }
  recorder_ = std::make_unique<report::SpaceTimeRecorder>(report::default_diagram_window(spec));
  variant_ = spec.variant;
  seed_ = seed;
  return recorder_.get();
}

void RunHtmlWriter::write(const std::vector<scenario::ScenarioSpec>& specs,
                          const std::vector<scenario::RunResult>& runs,
                          const std::vector<std::string>& sets) {
  report::RunPageInput input;
  input.runs = report::results_to_json(runs, sets)["runs"];
  input.specs = specs;
  if (recorder_) {
    input.diagram = recorder_->to_json();
    input.diagram["variant"] = variant_;
    input.diagram["seed"] = seed_;
  }
  write_page(path_, report::render_run_page(input));
}

void write_sweep_html(const std::string& path, const json& results,
                      const report::SweepErrors& errors) {
  write_page(path, report::render_sweep_page(results, errors));
}

int cmd_report(const std::vector<std::string>& args, std::size_t first,
               const scenario::ModelRegistry& registry, std::ostream& out, std::ostream& err) {
  std::string input_path;
  std::string output;
  std::string diagram_variant;
  std::optional<report::DiagramWindow> window;
  std::optional<std::size_t> max_messages;
  auto usage = [&](const std::string& what) {
    err << "faultline report: " << what << " (see faultline report --help)\n";
    return kExitBadInput;
  };
  for (std::size_t i = first; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= args.size()) {
        return std::nullopt;
      }
      return args[++i];
    };
    if (a == "--help" || a == "-h") {
      out << kReportHelp;
      return kExitOk;
    }
    if (a == "-o" || a == "--output" || a == "--diagram-variant" || a == "--diagram-window" ||
        a == "--diagram-max-messages") {
      auto v = value();
      if (!v) {
        return usage(a + " needs a value");
      }
      if (a == "-o" || a == "--output") {
        output = *v;
      } else if (a == "--diagram-variant") {
        diagram_variant = *v;
      } else if (a == "--diagram-window") {
        try {
          window = report::parse_diagram_window(*v);
        } catch (const std::invalid_argument& e) {
          return usage(e.what());
        }
      } else {
        std::size_t n = 0;
        auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
        if (ec != std::errc() || ptr != v->data() + v->size() || n == 0) {
          return usage("--diagram-max-messages: \"" + *v + "\" is not a positive integer");
        }
        max_messages = n;
      }
      continue;
    }
    if (!a.empty() && a[0] == '-') {
      return usage("unknown option " + a);
    }
    if (!input_path.empty()) {
      return usage("one results file at a time (got " + input_path + " and " + a + ")");
    }
    input_path = a;
  }
  if (input_path.empty()) {
    return usage("report needs a results file written by faultline run FILE --json RESULTS.json");
  }
  if (output.empty()) {
    return usage("report needs -o OUT.html");
  }
  try {
    {
      report::OutputFile probe(output);  // refuse an unwritable path before any work
    }
    json results = load_results(input_path);
    if (is_sweep(results)) {
      write_sweep_html(output, results, {});
      out << "sweep report: " << output << "\n";
      return kExitOk;
    }
    const std::string file = results["runs"][0]["file"].get<std::string>();
    for (const auto& r : results["runs"]) {
      if (r["file"] != file) {
        throw ReportError(kExitBadInput,
                          input_path + ": the results hold runs of several scenario files (" +
                              file + ", " + r["file"].get<std::string>() +
                              "); save one file's runs per --json to report them");
      }
    }
    auto scenario_file = scenario::ScenarioFile::load(file);
    report::RunPageInput input;
    input.runs = results["runs"];
    std::size_t chosen = 0;
    bool found = diagram_variant.empty();
    for (std::size_t i = 0; i < input.runs.size(); ++i) {
      const auto& r = input.runs[i];
      const auto variant = r["variant"].get<std::string>();
      auto spec = scenario_file.resolve(variant, sets_of(r["reproduce"].get<std::string>()),
                                        registry);
      if (report::hex64(spec.config_hash) != r["config_hash"].get<std::string>()) {
        throw ReportError(
            kExitBadInput,
            input_path + ": /runs/" + std::to_string(i) + " (" + variant + ") has config hash " +
                r["config_hash"].get<std::string>() + " but " + file + " now gives " +
                report::hex64(spec.config_hash) +
                ": the scenario changed since the results were saved; run it again with --json");
      }
      if (variant == diagram_variant) {
        chosen = i;
        found = true;
      }
      input.specs.push_back(std::move(spec));
    }
    if (!found) {
      std::vector<std::string> names;
      for (const auto& s : input.specs) {
        names.push_back(s.variant);
      }
      throw ReportError(kExitBadInput, "--diagram-variant " + diagram_variant +
                                           ": no run of that variant in " + input_path +
                                           scenario::suggestion(diagram_variant, names));
    }
    // The diagram: the chosen run again, same seed, with the recorder; the same trace hash
    // shows it is the same run.
    const auto& spec = input.specs[chosen];
    const auto& run = input.runs[chosen];
    report::DiagramWindow w = window ? *window : report::default_diagram_window(spec);
    if (max_messages) {
      w.max_messages = *max_messages;
    }
    if (w.from >= spec.duration) {
      throw ReportError(kExitBadInput, "--diagram-window starts at " + w.from.to_string() +
                                           ", after the run ends (" +
                                           spec.duration.to_string() + ")");
    }
    report::SpaceTimeRecorder recorder(w);
    scenario::RunOptions options;
    options.seed = run["seed"].get<std::uint64_t>();
    options.sinks.push_back(&recorder);
    auto again = scenario::run_scenario(spec, registry, options);
    if (report::hex64(again.trace_hash) != run["trace_hash"].get<std::string>()) {
      throw ReportError(kExitInternal,
                        "running " + spec.variant + " again gave trace hash " +
                            report::hex64(again.trace_hash) + ", not the saved " +
                            run["trace_hash"].get<std::string>() +
                            ": the build differs from the one that saved the results, or the "
                            "run is not deterministic (faultline check-determinism " +
                            file + ")");
    }
    input.diagram = recorder.to_json();
    input.diagram["variant"] = spec.variant;
    input.diagram["seed"] = options.seed.value();
    write_page(output, report::render_run_page(input));
    out << "report: " << output << "\n";
    return kExitOk;
  } catch (const ReportError& e) {
    err << (e.exit_code == kExitBadInput ? "error: " : "internal error: ") << e.what() << "\n";
    return e.exit_code;
  } catch (const scenario::ScenarioError& e) {
    err << "error: " << e.what() << "\n";
    return kExitBadInput;
  } catch (const std::runtime_error& e) {
    err << "error: " << e.what() << "\n";
    return kExitBadInput;
  }
}

}  // namespace faultline::cli
