#include "cli.hpp"
#include "describe.hpp"
#include "check_command.hpp"
#include "report_command.hpp"
#include "shrink_command.hpp"
#include "sweep_cluster.hpp"
#include "swarm.hpp"
#include "coverage.hpp"

#include <faultline/report/json_results.hpp>
#include <faultline/report/output_file.hpp>
#include <faultline/report/perfetto.hpp>
#include <faultline/report/terminal.hpp>
#include <faultline/scenario/runner.hpp>
#include <faultline/scenario/scenario.hpp>
#include <faultline/simulation.hpp>
#include <faultline/task.hpp>

#include <fmt/format.h>
#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/ostream_sink.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <deque>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <system_error>
#include <thread>

namespace faultline::cli {
namespace {

namespace fs = std::filesystem;
using scenario::ScenarioError;

// --- help -----------------------------------------------------------------------------------

constexpr const char* kMainHelp = R"(faultline — a deterministic simulator that replays distributed-systems outages

usage: faultline <command> [options]

commands:
  run FILE|DIR       run a scenario (every variant by default) and report side by side
  validate FILE...   check scenario files without running them
  list [DIR]         list models, and the scenarios and variants in DIR (default scenarios/)
  describe MODEL [--json]
                     a model's params (type, default, range), populations, probes, checkers
  check-determinism FILE
                     run each variant twice and name the first diverging trace record
  sweep FILE --seeds A..B
                     run many seeds in parallel and report the failing ones
  shrink FILE --seed N
                     a smaller scenario that fails the same way (delta debugging)
  check HISTORY --model M
                     check a recorded history (ours, Jepsen EDN, Porcupine) offline
  report RESULTS.json -o OUT.html
                     a self-contained HTML report (plots, space-time diagram) of saved results
  demo               a tiny kernel demo

`faultline <command> --help` describes a command's options.
exit codes: 0 all expectations met, 1 an expectation failed, 2 bad input,
            3 nondeterminism or internal error (check: inconclusive), 4 an output could
            not be written
)";

constexpr const char* kRunHelp = R"(usage: faultline run FILE|DIR [options]

Runs the scenario (or every *.json in DIR) and prints the variants side by side, each
expectation with its measured value, a sparkline of the key series, and reproduce: lines.

options:
  --variant NAME      run only this variant ("base" is the scenario without variants);
                      may be given more than once
  --all-variants      run the base and every variant (the default)
  --seed N            replace the scenario's seed
  --set PATH=VALUE    override a value, e.g. --set model.params.timeout=250ms
                      (VALUE is JSON when it parses as JSON, else a string)
  --trace OUT.jsonl   write the trace as JSON lines (one file per run when several:
                      OUT.<scenario>.<variant>.jsonl)
  --perfetto OUT.json write a Chrome/Perfetto trace (open it in https://ui.perfetto.dev)
  --json OUT.json     write machine-readable results
  --html OUT.html     write a self-contained HTML report of one scenario file: plots, the
                      expectations, the story and a space-time diagram (docs/report.md)
  --quiet             print only failures and errors
)";

constexpr const char* kValidateHelp = R"(usage: faultline validate FILE...

Parses every file, resolves every variant (including the model's params) and builds its model
without running an event. Prints "ok" per file, or every error of the file, each naming the
file, the JSON path and the fix (exit code 2).
)";

constexpr const char* kListHelp = R"(usage: faultline list [DIR]

Lists the registered models, and each scenario in DIR (default: scenarios/) with its variants.
)";

constexpr const char* kDescribeHelp = R"(usage: faultline describe MODEL [--json] [--dir DIR]
       faultline describe --schema | --reference

Lists what a scenario file can say to MODEL: every parameter its binding reads (JSON path,
type, default, range or choices, and what it is), the sections it reads, and, for each scenario
of the model in DIR (default scenarios/), its populations (for "of"), probes and checkers; then
the observation kinds and expectation metrics. The parameters are recorded while the binding
reads, so the list is what the parser reads. --json prints the same as JSON.

--schema prints the JSON Schema of every model's params ($defs entries "<model>_params") and
--reference the Markdown of docs/models.md; tools/model_reference.py writes both into docs/.
)";

constexpr const char* kDeterminismHelp = R"(usage: faultline check-determinism FILE [options]

Runs each selected variant twice from the same seed and compares the traces record by record.
Exit code 3, naming the first diverging record, when they differ.

options:
  --variant NAME | --all-variants (default) | --seed N | --set PATH=VALUE
)";

constexpr const char* kSweepHelp = R"(usage: faultline sweep FILE --seeds A..B [options]

Runs every seed in A..B (inclusive) for each selected variant on a pool of worker threads,
each with its own Simulation, then lists the failing seeds each with the command that
replays it, and a summary.

options:
  --seeds A..B        the seed range (required), e.g. 1..200
  -j N, --jobs N      worker threads, 1 to 512 (default: every local core); at most
                      1,000,000 runs (seeds x variants) per sweep
  --variant NAME | --all-variants (default) | --set PATH=VALUE
  --json OUT.json     write every run's results
  --html OUT.html     write the pass/fail matrix of variants × seeds with replay commands
  --quiet             print only the summary and failures
  --swarm             swarm testing: each seed runs a subset of the fault kinds (the file's
                      "swarm" section turns it on too); failing seeds name their combination

Under an MPI launcher (mpirun -np N faultline sweep ..., or srun) the runs are spread over
the ranks, each running -j threads; rank 0 prints the same report (docs/cli.md).
)";

// --- argument parsing -------------------------------------------------------------------------

struct BadUsage : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Beyond a few hundred threads a sweep only adds contention; the bound keeps thread creation
// from failing half-way.
constexpr std::uint64_t kMaxJobs = 512;
// A sweep keeps every run's results in memory for the summary and --json.
constexpr std::uint64_t kMaxSweepRuns = 1'000'000;

struct Args {
  std::vector<std::string> positional;
  std::vector<std::string> variants;
  bool all_variants = false;
  std::optional<std::uint64_t> seed;
  std::vector<std::string> sets;
  std::string trace;
  std::string perfetto;
  std::string json;
  std::string html;
  bool quiet = false;
  bool swarm = false;
  bool help = false;
  std::optional<std::pair<std::uint64_t, std::uint64_t>> seeds;
  unsigned jobs = 0;
};

std::uint64_t parse_u64(const std::string& flag, const std::string& text) {
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec == std::errc::result_out_of_range && ptr == text.data() + text.size()) {
    throw BadUsage(flag + ": " + text + " is out of range; it must be between 0 and " +
                   std::to_string(std::numeric_limits<std::uint64_t>::max()));
  }
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) {
    throw BadUsage(flag + ": \"" + text + "\" is not a non-negative integer");
  }
  return v;
}

Args parse_args(const std::vector<std::string>& args, std::size_t first,
                const std::vector<std::string>& allowed) {
  Args a;
  auto allowed_flag = [&](const std::string& f) {
    return std::find(allowed.begin(), allowed.end(), f) != allowed.end();
  };
  for (std::size_t i = first; i < args.size(); ++i) {
    std::string arg = args[i];
    std::optional<std::string> inline_value;
    if (arg.rfind("--", 0) == 0 && arg.find('=') != std::string::npos) {
      inline_value = arg.substr(arg.find('=') + 1);
      arg = arg.substr(0, arg.find('='));
    } else if (arg.size() > 2 && arg.rfind("-j", 0) == 0) {
      inline_value = arg.substr(2);  // -j2, as make and ctest take it
      arg = "-j";
    }
    auto value = [&]() -> std::string {
      if (inline_value) {
        return *inline_value;
      }
      if (i + 1 >= args.size()) {
        throw BadUsage(arg + " needs a value");
      }
      return args[++i];
    };
    if (arg == "--help" || arg == "-h") {
      a.help = true;
      continue;
    }
    if (arg.empty() || arg[0] != '-') {
      a.positional.push_back(arg);
      continue;
    }
    if (!allowed_flag(arg)) {
      std::string hint = scenario::suggestion(arg, allowed);
      throw BadUsage("unknown option " + arg + (hint.empty() ? "" : " (" + hint + ")"));
    }
    if (arg == "--variant") {
      a.variants.push_back(value());
    } else if (arg == "--all-variants") {
      a.all_variants = true;
    } else if (arg == "--seed") {
      a.seed = parse_u64("--seed", value());
    } else if (arg == "--set") {
      a.sets.push_back(value());
    } else if (arg == "--trace") {
      a.trace = value();
    } else if (arg == "--perfetto") {
      a.perfetto = value();
    } else if (arg == "--json") {
      a.json = value();
    } else if (arg == "--html") {
      a.html = value();
    } else if (arg == "--quiet") {
      a.quiet = true;
    } else if (arg == "--swarm") {
      a.swarm = true;
    } else if (arg == "--seeds") {
      std::string v = value();
      auto dots = v.find("..");
      if (dots == std::string::npos) {
        throw BadUsage("--seeds: \"" + v + "\" is not a range; write A..B, e.g. 1..200");
      }
      auto lo = parse_u64("--seeds", v.substr(0, dots));
      auto hi = parse_u64("--seeds", v.substr(dots + 2));
      if (lo > hi) {
        throw BadUsage("--seeds: the range " + v + " is empty; write the smaller seed first");
      }
      a.seeds = {lo, hi};
    } else if (arg == "-j" || arg == "--jobs") {
      const std::uint64_t jobs = parse_u64(arg, value());
      if (jobs == 0 || jobs > kMaxJobs) {
        throw BadUsage(fmt::format("{} {}: it must be between 1 and {} worker threads", arg, jobs,
                                   kMaxJobs));
      }
      a.jobs = static_cast<unsigned>(jobs);
    }
  }
  if (a.all_variants && !a.variants.empty()) {
    throw BadUsage("--variant and --all-variants exclude each other");
  }
  return a;
}

// --- logging with simulated time --------------------------------------------------------------

// The %* flag prints the simulated time of the run being logged about.
class SimTimeFlag : public spdlog::custom_flag_formatter {
public:
  explicit SimTimeFlag(std::shared_ptr<std::atomic<std::int64_t>> now) : now_(std::move(now)) {}
  void format(const spdlog::details::log_msg&, const std::tm&, spdlog::memory_buf_t& dest) override {
    std::string t = "sim " + Duration::nanos(now_->load()).to_string();
    dest.append(t.data(), t.data() + t.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<SimTimeFlag>(now_);
  }

private:
  std::shared_ptr<std::atomic<std::int64_t>> now_;
};

struct RunLog {
  std::shared_ptr<std::atomic<std::int64_t>> now = std::make_shared<std::atomic<std::int64_t>>(0);
  std::shared_ptr<spdlog::logger> logger;

  RunLog(std::ostream& err, bool quiet) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(err);
    logger = std::make_shared<spdlog::logger>("faultline", sink);  // not registered: no globals
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<SimTimeFlag>('*', now).set_pattern("[%*] %l: %v");
    logger->set_formatter(std::move(formatter));
    logger->set_level(quiet ? spdlog::level::warn : spdlog::level::info);
  }
};

// --- progress bar (terminal only; the one place that reads the wall clock) -----------------

class ProgressBar {
public:
  ProgressBar(std::ostream& err, bool enabled) : err_(err), enabled_(enabled) {}
  ~ProgressBar() { clear(); }

  void update(double fraction, const std::string& label) {
    if (!enabled_) {
      return;
    }
    auto now = std::chrono::steady_clock::now();  // determinism-ok: progress display only
    if (now - start_ < std::chrono::seconds(1) || now - last_ < std::chrono::milliseconds(100)) {
      return;
    }
    last_ = now;
    constexpr int kWidth = 30;
    int filled = static_cast<int>(std::clamp(fraction, 0.0, 1.0) * kWidth);
    std::string bar;
    for (int i = 0; i < kWidth; ++i) {
      bar += i < filled ? "█" : "░";
    }
    err_ << "\r" << bar << fmt::format(" {:5.1f}% ", fraction * 100) << label << "\x1b[K"
         << std::flush;
    drawn_ = true;
  }
  void clear() {
    if (drawn_) {
      err_ << "\r\x1b[K" << std::flush;
      drawn_ = false;
    }
  }

private:
  std::ostream& err_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();  // determinism-ok
  std::chrono::steady_clock::time_point last_{};
};

// --- helpers ------------------------------------------------------------------------------------

// Output paths are checked before anything runs: a typo in a directory name costs nothing.
void check_outputs(std::initializer_list<std::string> paths) {
  for (const auto& path : paths) {
    if (!path.empty()) {
      try {
        report::check_writable(path);
      } catch (const report::OutputError& e) {
        throw BadUsage(e.what());
      }
    }
  }
}

// One line per error, as compilers print them, and a count when there are several.
void print_errors(std::ostream& err, const ScenarioError& e) {
  const auto all = scenario::each_error(e);
  for (const auto& one : all) {
    err << "error: " << one.what() << "\n";
  }
  if (all.size() > 1) {
    err << all.size() << " errors" << (e.file().empty() ? "" : " in " + e.file()) << "\n";
  }
}

std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs) {
  std::vector<std::string> files;
  for (const auto& in : inputs) {
    std::error_code ec;
    if (fs::is_directory(in, ec)) {
      std::vector<std::string> found;
      for (const auto& entry : fs::directory_iterator(in, ec)) {
        if (entry.is_regular_file() && entry.path().extension() == ".json") {
          found.push_back(entry.path().string());
        }
      }
      std::sort(found.begin(), found.end());
      if (found.empty()) {
        throw ScenarioError(in, "", "the directory holds no *.json scenario files",
                            "pass a scenario file or a directory of them");
      }
      files.insert(files.end(), found.begin(), found.end());
    } else {
      files.push_back(in);
    }
  }
  return files;
}

std::vector<std::string> selected_variants(const scenario::ScenarioFile& file, const Args& a) {
  if (a.variants.empty()) {
    return file.variant_names();
  }
  auto names = file.variant_names();
  for (const auto& v : a.variants) {
    if (std::find(names.begin(), names.end(), v) == names.end()) {
      throw ScenarioError(file.path(), "/variants",
                          "--variant " + v + ": no such variant",
                          scenario::suggestion(v, names));
    }
  }
  return a.variants;
}

std::string with_variant(const std::string& path, const std::string& variant) {
  fs::path p(path);
  return (p.parent_path() / (p.stem().string() + "." + variant + p.extension().string())).string();
}

// --- commands -----------------------------------------------------------------------------------

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

int cmd_sweep(const Args& a, const scenario::ModelRegistry& registry, std::ostream& out,
              std::ostream& err, const Environment& env) {
  if (a.positional.size() != 1) {
    throw BadUsage("sweep needs exactly one scenario file");
  }
  if (!a.seeds) {
    throw BadUsage("sweep needs --seeds A..B, e.g. --seeds 1..200");
  }
  // Under mpirun/srun the other ranks take runs from this one (sweep_cluster.hpp).
  auto cluster = SweepCluster::join_if_launched();
  if (cluster && cluster->rank() != 0) {
    return cluster->serve(registry, a.jobs, env.cores);
  }
  auto file = scenario::ScenarioFile::load(a.positional.front());
  std::vector<scenario::ScenarioSpec> specs;
  for (const auto& v : selected_variants(file, a)) {
    specs.push_back(file.resolve(v, a.sets, registry));
  }
  check_outputs({a.json, a.html});
  const auto [lo, hi] = *a.seeds;
  // hi - lo + 1 can wrap for 0..2^64-1: compare the span itself.
  const std::uint64_t span = hi - lo;
  if (span >= kMaxSweepRuns || (span + 1) * specs.size() > kMaxSweepRuns) {
    throw BadUsage(fmt::format("--seeds {}..{}: {} seeds x {} variants is more than the {} runs "
                               "one sweep holds in memory; split the range into several sweeps",
                               lo, hi, span == std::numeric_limits<std::uint64_t>::max()
                                           ? std::string("2^64")
                                           : std::to_string(span + 1),
                               specs.size(), kMaxSweepRuns));
  }
  std::vector<SweepTask> tasks = sweep_tasks(specs, lo, hi);
  std::deque<scenario::ScenarioSpec> swarm_specs;  // one per variant and fault combination
  if (auto swarm = swarm_config(file, a.swarm)) {
    apply_swarm(tasks, file, a.sets, registry, *swarm, swarm_specs);
  }
  unsigned jobs = a.jobs ? a.jobs : std::max(1u, env.cores);
  jobs = static_cast<unsigned>(std::min<std::size_t>(jobs, tasks.size()));
  auto wall_start = std::chrono::steady_clock::now();  // determinism-ok: reports wall time
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> done{0};
  if (cluster) {
    cluster->start(
        {file.path(), file.raw(), selected_variants(file, a), a.sets, lo, hi, a.swarm});
    ProgressBar bar(err, env.stderr_is_tty && !a.quiet);
    cluster->run(tasks, registry, jobs, [&](std::size_t n) {
      bar.update(static_cast<double>(n) / static_cast<double>(tasks.size()),
                 fmt::format("{}/{} runs", n, tasks.size()));
    });
  } else {
    // Each task builds its own Simulation inside run_scenario: nothing is shared but the
    // read-only specs and registry. Workers take the next task index until none is left.
    auto work = [&] {
      for (std::size_t i = next.fetch_add(1); i < tasks.size(); i = next.fetch_add(1)) {
        run_sweep_task(tasks[i], registry);
        done.fetch_add(1);
      }
    };
    std::vector<std::thread> workers;
    for (unsigned i = 0; i < jobs; ++i) {
      try {
        workers.emplace_back(work);
      } catch (const std::system_error& e) {
        if (workers.empty()) {
          throw std::runtime_error(std::string("cannot start a worker thread: ") + e.what());
        }
        err << fmt::format("warning: started only {} of {} worker threads ({})\n",
                           workers.size(), jobs, e.what());
        jobs = static_cast<unsigned>(workers.size());
        break;
      }
    }
    ProgressBar bar(err, env.stderr_is_tty && !a.quiet);
    while (done.load() < tasks.size()) {
      bar.update(static_cast<double>(done.load()) / static_cast<double>(tasks.size()),
                 fmt::format("{}/{} runs", done.load(), tasks.size()));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    for (auto& w : workers) {
      w.join();
    }
  }
  double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start)
                      .count();  // determinism-ok

  int exit = kExitOk;
  std::vector<scenario::RunResult> results;
  // Swarm testing: a failing seed's fault combination, and the --set that replays it.
  auto swarm_line = [](const SweepTask& t) {
    return t.swarm.empty() ? std::string() : "\n    swarm: " + t.swarm;
  };
  auto replay_sets = [&](const SweepTask& t) {
    auto sets = a.sets;
    if (!t.swarm_set.empty()) {
      sets.push_back(t.swarm_set);
    }
    return sets;
  };
  for (const auto& spec : specs) {
    std::size_t passed = 0;
    std::size_t failed = 0;
    std::size_t errors = 0;
    std::vector<double> availability;
    std::map<std::string, std::size_t> failures_by_expectation;
    std::vector<std::string> failing_lines;
    for (const auto& t : tasks) {
      if (t.spec != &spec) {
        continue;
      }
      if (!t.result) {
        ++errors;
        failing_lines.push_back(fmt::format("  seed {}: error: {}{}\n    reproduce: {}", t.seed,
                                            t.error, swarm_line(t),
                                            scenario::reproduce_command(file.path(), spec.variant,
                                                                        t.seed, replay_sets(t))));
        continue;
      }
      availability.push_back(t.result->key.availability);
      if (t.result->ok()) {
        ++passed;
      } else {
        ++failed;
        std::string first;
        for (const auto& e : t.result->expectations) {
          if (!e.ok) {
            ++failures_by_expectation[e.description + " " + e.bound];
            if (first.empty()) {
              first = e.description + " " + e.bound + ", measured " + e.measured;
            }
          }
        }
        failing_lines.push_back(fmt::format(
            "  seed {}: ✗ {}{}\n    reproduce: {}", t.seed, first, swarm_line(t),
            scenario::reproduce_command(file.path(), spec.variant, t.seed, replay_sets(t))));
      }
      results.push_back(*t.result);
    }
    std::sort(availability.begin(), availability.end());
    out << fmt::format("{} / {}: {} passed, {} failed{}", spec.name, spec.variant, passed, failed,
                       errors ? fmt::format(", {} errors", errors) : std::string()) << "\n";
    if (!availability.empty()) {
      out << fmt::format("  availability across seeds: min {:.4f}  median {:.4f}  max {:.4f}\n",
                         availability.front(), availability[availability.size() / 2],
                         availability.back());
    }
    for (const auto& [what, n] : failures_by_expectation) {
      out << fmt::format("  {} seeds failed: {}\n", n, what);
    }
    std::vector<const scenario::RunResult*> variant_runs;
    for (const auto& t : tasks) {
      if (t.spec == &spec && t.result) {
        variant_runs.push_back(&*t.result);
      }
    }
    out << sweep_coverage(variant_runs, spec.model, a.quiet);
    for (const auto& line : failing_lines) {
      out << line << "\n";
    }
    if (errors) {
      exit = kExitInternal;
    } else if (failed && exit == kExitOk) {
      exit = kExitExpectationFailed;
    }
  }
  std::size_t total_failed = 0;
  for (const auto& t : tasks) {
    total_failed += (!t.result || !t.result->ok()) ? 1 : 0;
  }
  out << fmt::format("summary: {} runs ({} seeds × {} variants) on {} in {:.1f}s wall: "
                     "{} passed, {} failed\n",
                     tasks.size(), hi - lo + 1, specs.size(),
                     cluster ? fmt::format("{} ranks × {} threads", cluster->size(), jobs)
                             : fmt::format("{} threads", jobs),
                     wall_s,
                     tasks.size() - total_failed, total_failed);
  if (!a.json.empty()) {
    report::write_file_atomically(a.json,
                                  report::results_to_json(results, a.sets).dump(2) + "\n");
  }
  if (!a.html.empty()) {
    report::SweepErrors errors;
    for (const auto& t : tasks) {
      if (!t.result) {
        errors[t.spec->variant].emplace_back(t.seed, t.error);
      }
    }
    write_sweep_html(a.html, report::results_to_json(results, a.sets), errors);
  }
  return exit;
}

int cmd_describe(const std::vector<std::string>& args, std::size_t first,
                 const scenario::ModelRegistry& registry, std::ostream& out,
                 const Environment& env) {
  std::vector<std::string> models;
  bool json = false;
  std::string generate;
  std::string dir = env.scenario_dir;
  for (std::size_t i = first; i < args.size(); ++i) {
    if (args[i] == "--json") {
      json = true;
    } else if (args[i] == "--schema" || args[i] == "--reference") {
      generate = args[i];
    } else if (args[i] == "--help" || args[i] == "-h") {
      out << kDescribeHelp;
      return kExitOk;
    } else if (args[i] == "--dir" && i + 1 < args.size()) {
      dir = args[++i];
    } else if (!args[i].empty() && args[i][0] == '-') {
      throw BadUsage("unknown option " + args[i]);
    } else {
      models.push_back(args[i]);
    }
  }
  if (!generate.empty()) {
    if (!models.empty()) {
      throw BadUsage(generate + " covers every model; give no model name");
    }
    if (generate == "--schema") {
      out << params_schema(registry).dump(2) << "\n";
    } else {
      print_reference(out, registry);
    }
    return kExitOk;
  }
  if (models.size() != 1) {
    throw BadUsage("describe needs exactly one model; `faultline list` names them");
  }
  auto description = describe_model(registry, models.front(), dir);
  if (json) {
    out << description.dump(2) << "\n";
  } else {
    print_description(out, description);
  }
  return kExitOk;
}

faultline::Task<void> demo_ping(Simulation& sim, int id, int rounds) {
  for (int i = 0; i < rounds; ++i) {
    co_await sim.sleep(Duration::millis(10 + id));
    sim.record("demo", "tick", {{"task", id}, {"round", i}});
  }
}

int cmd_demo(std::ostream& out) {
  Simulation sim({.seed = 42});
  Process proc(sim, "demo");
  for (int id = 0; id < 3; ++id) {
    proc.spawn(demo_ping(sim, id, 5));
  }
  sim.run();
  out << fmt::format("kernel demo: {} events, {} trace records, trace hash {:016x}, ended at {}\n",
                     sim.events_run(), sim.trace().count(), sim.trace().hash(),
                     sim.utc_now().to_string());
  return kExitOk;
}

int dispatch(const std::vector<std::string>& args, const scenario::ModelRegistry& registry,
             std::ostream& out, std::ostream& err, const Environment& env);

}  // namespace

int run_cli(const std::vector<std::string>& args, const scenario::ModelRegistry& registry,
            std::ostream& out, std::ostream& err, const Environment& env) {
  int code = dispatch(args, registry, out, err, env);
  // A report that never reached its reader (a full disk behind `> file`, /dev/full, a closed
  // pipe) is a failure, not a success.
  out.flush();
  if (!out) {
    err << "error: cannot write the report to standard output (disk full or closed?)\n";
    return kExitOutput;
  }
  return code;
}

namespace {

int dispatch(const std::vector<std::string>& args, const scenario::ModelRegistry& registry,
             std::ostream& out, std::ostream& err, const Environment& env) {
  const std::vector<std::string> run_flags = {"--variant", "--all-variants", "--seed", "--set",
                                              "--trace", "--perfetto", "--json", "--html",
                                              "--quiet"};
  const std::vector<std::string> det_flags = {"--variant", "--all-variants", "--seed", "--set"};
  const std::vector<std::string> sweep_flags = {"--seeds", "-j", "--jobs", "--variant",
                                                "--all-variants", "--set", "--json", "--html",
                                                "--quiet", "--swarm"};
  const std::vector<std::string> commands = {"run",   "validate", "list",   "check-determinism",
                                             "sweep", "describe", "check",  "report", "shrink",
                                             "demo",  "help"};
  if (!args.empty() && args[0] == "check") {
    return run_check_command({args.begin() + 1, args.end()}, out, err);
  }
  if (!args.empty() && args[0] == "shrink") {
    return run_shrink_command({args.begin() + 1, args.end()}, registry, out, err);
  }
  if (args.size() == 2 && args[0] == "help" && args[1] == "shrink") {
    return run_shrink_command({"--help"}, registry, out, err);
  }
  if (args.size() == 2 && args[0] == "help" && args[1] == "check") {
    return run_check_command({"--help"}, out, err);
  }
  if (args.empty() || args[0] == "--help" || args[0] == "-h" ||
      (args[0] == "help" && args.size() == 1)) {
    out << kMainHelp;
    return args.empty() ? kExitBadInput : kExitOk;
  }
  std::string cmd = args[0];
  std::size_t first = 1;
  if (cmd == "help") {
    cmd = args[1];
    first = args.size();
    if (cmd == "run") {
      out << kRunHelp;
    } else if (cmd == "validate") {
      out << kValidateHelp;
    } else if (cmd == "list") {
      out << kListHelp;
    } else if (cmd == "check-determinism") {
      out << kDeterminismHelp;
    } else if (cmd == "sweep") {
      out << kSweepHelp;
    } else if (cmd == "describe") {
      out << kDescribeHelp;
    } else if (cmd == "report") {
      out << kReportHelp;
    } else {
      out << kMainHelp;
    }
    return kExitOk;
  }
  try {
    if (cmd == "run") {
      Args a = parse_args(args, first, run_flags);
      if (a.help) {
        out << kRunHelp;
        return kExitOk;
      }
      return cmd_run(a, registry, out, err, env);
    }
    if (cmd == "validate") {
      Args a = parse_args(args, first, {});
      if (a.help) {
        out << kValidateHelp;
        return kExitOk;
      }
      return cmd_validate(a, registry, out, err);
    }
    if (cmd == "list") {
      Args a = parse_args(args, first, {});
      if (a.help) {
        out << kListHelp;
        return kExitOk;
      }
      return cmd_list(a, registry, out, env);
    }
    if (cmd == "check-determinism") {
      Args a = parse_args(args, first, det_flags);
      if (a.help) {
        out << kDeterminismHelp;
        return kExitOk;
      }
      return cmd_check_determinism(a, registry, out);
    }
    if (cmd == "sweep") {
      Args a = parse_args(args, first, sweep_flags);
      if (a.help) {
        out << kSweepHelp;
        return kExitOk;
      }
      return cmd_sweep(a, registry, out, err, env);
    }
    if (cmd == "report") {
      return cmd_report(args, first, registry, out, err);
    }
    if (cmd == "demo") {
      return cmd_demo(out);
    }
    if (cmd == "describe") {
      return cmd_describe(args, first, registry, out, env);
    }
    err << "faultline: unknown command \"" << cmd << "\"";
    std::string hint = scenario::suggestion(cmd, commands);
    err << (hint.empty() ? "" : " (" + hint + ")") << "; see faultline --help\n";
    return kExitBadInput;
  } catch (const BadUsage& e) {
    err << "faultline " << cmd << ": " << e.what() << " (see faultline " << cmd << " --help)\n";
    return kExitBadInput;
  } catch (const ScenarioError& e) {
    print_errors(err, e);
    return kExitBadInput;
  } catch (const report::OutputError& e) {
    err << "error: " << e.what() << "\n";
    return kExitOutput;
  } catch (const std::exception& e) {
    err << "internal error: " << e.what() << "\n";
    return kExitInternal;
  }
}

}  // namespace

}  // namespace faultline::cli
