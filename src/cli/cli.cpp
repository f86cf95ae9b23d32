// The faultline command line: help texts, dispatch to the commands (run_command.cpp,
// sweep_command.cpp and the *_command.cpp files), describe and demo, and the exit code.
#include "cli.hpp"
#include "command_args.hpp"
#include "describe.hpp"
#include "check_command.hpp"
#include "report_command.hpp"
#include "run_command.hpp"
#include "shrink_command.hpp"
#include "sweep_command.hpp"

#include <faultline/report/output_file.hpp>
#include <faultline/scenario/scenario.hpp>
#include <faultline/simulation.hpp>
#include <faultline/task.hpp>

#include <fmt/format.h>

#include <string>
#include <vector>

namespace faultline::cli {
namespace {

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
