// faultline sweep.
#include "sweep_command.hpp"

#include "coverage.hpp"
#include "report_command.hpp"
#include "run_output.hpp"
#include "swarm.hpp"
#include "sweep_cluster.hpp"

#include <faultline/report/json_results.hpp>
#include <faultline/report/output_file.hpp>
#include <faultline/scenario/runner.hpp>
#include <faultline/scenario/scenario.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <limits>
#include <map>
#include <system_error>
#include <thread>

namespace faultline::cli {

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

}  // namespace faultline::cli
