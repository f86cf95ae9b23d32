// A sweep across the ranks of an MPI job: `mpirun -np N faultline sweep FILE --seeds A..B`.
//
// Rank 0 parses and checks the input exactly as the thread-pool sweep does, then sends the
// scenario document to the other ranks (so only rank 0 needs the file) and hands out runs one
// at a time to whichever rank asks (a slow seed holds only the thread running it); its own
// worker threads take runs from the same counter. Every rank runs `-j` threads (default: its
// own cores). Results come back as exact bytes (run_result_codec.hpp), rank 0 prints the
// report; the other ranks print nothing and exit 0 (2 when rank 0 rejected the input).
//
// Without MPI at build time (FAULTLINE_MPI=OFF), or when the process was not started by an MPI
// launcher (mpirun, mpiexec, srun), join_if_launched returns nullptr and the sweep runs on the
// local thread pool as before.
#pragma once

#include <faultline/scenario/registry.hpp>
#include <faultline/scenario/runner.hpp>
#include <faultline/scenario/scenario.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace faultline::cli {

/// One run of a sweep: a variant's spec and a seed, and what came of it.
struct SweepTask {
  const scenario::ScenarioSpec* spec = nullptr;  // the variant, as the report groups runs
  std::uint64_t seed = 0;
  std::optional<scenario::RunResult> result;
  std::string error;
  /// Swarm testing (swarm.hpp): the spec with this seed's faults, its combination
  /// ("crash+latency (off: partition)") and the --set that replays it; null/empty otherwise.
  const scenario::ScenarioSpec* run_spec = nullptr;
  std::string swarm;
  std::string swarm_set;
};

/// Runs the task in place; an exception becomes task.error.
void run_sweep_task(SweepTask& task, const scenario::ModelRegistry& registry);

/// What every rank needs to build the same task list in the same order.
struct SweepPlan {
  std::string path;
  nlohmann::json document;  // the scenario file as rank 0 read it
  std::vector<std::string> variants;
  std::vector<std::string> sets;
  std::uint64_t lo = 0;
  std::uint64_t hi = 0;
  bool swarm = false;  // sweep --swarm
};

/// The task list of a plan: each variant (in order) × each seed lo..hi.
std::vector<SweepTask> sweep_tasks(const std::vector<scenario::ScenarioSpec>& specs,
                                   std::uint64_t lo, std::uint64_t hi);

class SweepCluster {
public:
  /// Joins the MPI job when this process was started by an MPI launcher and faultline was
  /// built with MPI; nullptr otherwise.
  static std::unique_ptr<SweepCluster> join_if_launched();
  /// Whether this build can join an MPI job.
  static bool available();

  virtual ~SweepCluster() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;

  /// Rank 0: sends the plan to the other ranks (call once the input is known to be good).
  /// Until it is called, destroying the cluster tells them the input was rejected.
  virtual void start(const SweepPlan& plan) = 0;
  /// Rank 0: runs every task across the ranks, `jobs` threads here, filling in the results.
  /// `progress(done)` is called now and then from this thread.
  virtual void run(std::vector<SweepTask>& tasks, const scenario::ModelRegistry& registry,
                   unsigned jobs, const std::function<void(std::size_t done)>& progress) = 0;
  /// Ranks other than 0: waits for the plan, runs what rank 0 hands out on `jobs` threads
  /// (0: every local core) until it says stop; returns the rank's exit code.
  virtual int serve(const scenario::ModelRegistry& registry, unsigned jobs,
                    unsigned cores) = 0;
};

}  // namespace faultline::cli
