// faultline run, validate, list and check-determinism.
#include "run_command.hpp"

#include "report_command.hpp"
#include "run_output.hpp"

#include <faultline/report/json_results.hpp>
#include <faultline/report/output_file.hpp>
#include <faultline/report/perfetto.hpp>
#include <faultline/report/terminal.hpp>
#include <faultline/scenario/runner.hpp>
#include <faultline/scenario/scenario.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>

namespace faultline::cli {

namespace fs = std::filesystem;
using scenario::ScenarioError;

int cmd_run(const Args& a, const scenario::ModelRegistry& registry, std::ostream& out,
            std::ostream& err, const Environment& env) {
  if (a.positional.empty()) {
    throw BadUsage("run needs a scenario file or directory");
  }
  // Resolve everything first: a bad variant is reported before anything runs.
  struct Planned {
    std::string file;
    std::vector<scenario::ScenarioSpec> specs;
  };
  std::vector<Planned> plan;
  for (const auto& path : expand_inputs(a.positional)) {
    auto file = scenario::ScenarioFile::load(path);
    Planned p{path, {}};
    for (const auto& v : selected_variants(file, a)) {
      p.specs.push_back(file.resolve(v, a.sets, registry));
    }
    plan.push_back(std::move(p));
  }
  // Refuse unwritable output paths before spending time on the runs.
  if (!a.html.empty() && plan.size() != 1) {
    throw BadUsage("--html reports one scenario file; run the files one at a time");
  }
  check_outputs({a.trace, a.perfetto, a.json, a.html});
  std::optional<RunHtmlWriter> html;
  if (!a.html.empty()) {
    html.emplace(a.html);
  }
  std::size_t total_runs = 0;
  for (const auto& p : plan) {
    total_runs += p.specs.size();
  }

  std::optional<report::OutputFile> single_trace;
  if (!a.trace.empty() && total_runs == 1) {
    single_trace.emplace(a.trace);
  }
  std::vector<std::unique_ptr<report::PerfettoTraceSink>> perfetto_sinks;
  std::vector<scenario::RunResult> all;
  std::vector<std::unique_ptr<report::OutputFile>> trace_files;
  RunLog log(err, a.quiet);
  ProgressBar bar(err, env.stderr_is_tty && !a.quiet);
  int exit = kExitOk;
  for (const auto& p : plan) {
    std::vector<scenario::RunResult> runs;
    for (const auto& spec : p.specs) {
      scenario::RunOptions options;
      options.seed = a.seed;
      std::unique_ptr<JsonLinesTraceSink> jsonl;
      if (!a.trace.empty()) {
        std::ostream* stream = nullptr;
        if (single_trace) {
          stream = &single_trace->stream();
        } else {
          trace_files.push_back(std::make_unique<report::OutputFile>(
              with_variant(a.trace, spec.name + "." + spec.variant)));
          stream = &trace_files.back()->stream();
        }
        jsonl = std::make_unique<JsonLinesTraceSink>(*stream);
        options.sinks.push_back(jsonl.get());
      }
      if (!a.perfetto.empty()) {
        perfetto_sinks.push_back(std::make_unique<report::PerfettoTraceSink>(
            spec.name + " / " + spec.variant, static_cast<int>(perfetto_sinks.size()) + 1));
        options.sinks.push_back(perfetto_sinks.back().get());
      }
      if (html) {
        if (auto* sink = html->sink_for(spec, a.seed.value_or(spec.seed))) {
          options.sinks.push_back(sink);
        }
      }
      log.now->store(0);
      log.logger->info("{} / {}: starting (seed {}, duration {})", spec.name, spec.variant,
                       a.seed.value_or(spec.seed), spec.duration.to_string());
      std::string label = spec.variant;
      options.progress = [&](Time now, Time end) {
        log.now->store(now.ns());
        bar.update(now.to_seconds() / std::max(end.to_seconds(), 1e-9),
                   label + " " + now.since_start().to_string());
      };
      auto result = scenario::run_scenario(spec, registry, options);
      bar.clear();
      log.now->store(spec.duration.ns());
      for (const auto& e : result.expectations) {
        if (!e.ok) {
          log.logger->warn("{} / {}: expectation failed: {} {} (measured {})", spec.name,
                           spec.variant, e.description, e.bound, e.measured);
        }
      }
      log.logger->info("{} / {}: done, {} events, trace {}", spec.name, spec.variant,
                       result.events, report::hex64(result.trace_hash));
      if (!result.ok()) {
        exit = kExitExpectationFailed;
      }
      // A trace that could not be written (disk full, file size limit) stops here rather than
      // after every other variant has run.
      if (single_trace && !single_trace->good()) {
        single_trace->commit();  // throws the OutputError, removing the temporary file
      }
      if (!trace_files.empty() && !trace_files.back()->good()) {
        trace_files.back()->commit();
      }
      runs.push_back(std::move(result));
    }
    if (!a.quiet || exit != kExitOk) {
      report::print_report(out, p.specs.front(), runs, a.sets,
                           {.color = env.stdout_is_tty, .sparkline_width = 48});
      out << "\n";
    }
    all.insert(all.end(), runs.begin(), runs.end());
  }
  // Outputs appear only now, complete, or not at all.
  if (single_trace) {
    single_trace->commit();
  }
  for (auto& f : trace_files) {
    f->commit();
  }
  if (!a.perfetto.empty()) {
    report::OutputFile file(a.perfetto);
    std::vector<const report::PerfettoTraceSink*> sinks;
    for (const auto& s : perfetto_sinks) {
      sinks.push_back(s.get());
    }
    report::write_perfetto_trace(file.stream(), sinks);
    file.commit();
    if (!a.quiet) {
      out << "perfetto trace: " << a.perfetto << " (open in https://ui.perfetto.dev)\n";
    }
  }
  if (!a.json.empty()) {
    report::write_file_atomically(a.json, report::results_to_json(all, a.sets).dump(2) + "\n");
  }
  if (html) {
    html->write(plan.front().specs, all, a.sets);
    if (!a.quiet) {
      out << "html report: " << a.html << "\n";
    }
  }
  return exit;
}

int cmd_validate(const Args& a, const scenario::ModelRegistry& registry, std::ostream& out,
                 std::ostream& err) {
  if (a.positional.empty()) {
    throw BadUsage("validate needs at least one scenario file");
  }
  int exit = kExitOk;
  for (const auto& path : expand_inputs(a.positional)) {
    try {
      auto file = scenario::ScenarioFile::load(path);
      scenario::validate_file(file, registry);
      out << "ok: " << path << " (" << file.variant_names().size() << " variants)\n";
    } catch (const ScenarioError& e) {
      print_errors(err, e);
      exit = kExitBadInput;
    }
  }
  return exit;
}

int cmd_list(const Args& a, const scenario::ModelRegistry& registry, std::ostream& out,
             const Environment& env) {
  out << "models:\n";
  if (registry.all().empty()) {
    out << "  (none registered)\n";
  }
  for (const auto& [name, binding] : registry.all()) {
    out << fmt::format("  {:<20} {}\n", name, binding.summary);
  }
  std::string dir = a.positional.empty() ? env.scenario_dir : a.positional.front();
  out << "\nscenarios in " << dir << ":\n";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    out << "  (no such directory)\n";
    return kExitOk;
  }
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") {
      files.push_back(entry.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    try {
      auto file = scenario::ScenarioFile::load(f);
      out << "  " << f << "  " << file.name() << "\n    variants:";
      for (const auto& v : file.variant_names()) {
        out << " " << v;
      }
      out << "\n";
    } catch (const ScenarioError& e) {
      out << "  " << f << "  (invalid: " << e.problem() << ")\n";
    }
  }
  return kExitOk;
}

int cmd_check_determinism(const Args& a, const scenario::ModelRegistry& registry,
                          std::ostream& out) {
  if (a.positional.size() != 1) {
    throw BadUsage("check-determinism needs exactly one scenario file");
  }
  auto file = scenario::ScenarioFile::load(a.positional.front());
  std::vector<scenario::ScenarioSpec> specs;
  for (const auto& v : selected_variants(file, a)) {
    specs.push_back(file.resolve(v, a.sets, registry));
  }
  int exit = kExitOk;
  for (const auto& spec : specs) {
    auto report = scenario::check_scenario_determinism(spec, registry, a.seed);
    out << spec.variant << ": " << report.describe() << "\n";
    if (!report.deterministic) {
      exit = kExitInternal;
      out << "reproduce: faultline check-determinism " << file.path() << " --variant "
          << spec.variant << " --seed " << a.seed.value_or(spec.seed) << "\n";
    }
  }
  return exit;
}

}  // namespace faultline::cli
