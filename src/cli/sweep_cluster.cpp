#include "sweep_cluster.hpp"

#include <exception>

namespace faultline::cli {

void run_sweep_task(SweepTask& task, const scenario::ModelRegistry& registry) {
  try {
    scenario::RunOptions options;
    options.seed = task.seed;
    task.result = scenario::run_scenario(task.run_spec != nullptr ? *task.run_spec : *task.spec,
                                         registry, options);
  } catch (const std::exception& e) {
    task.error = e.what();
  }
}

std::vector<SweepTask> sweep_tasks(const std::vector<scenario::ScenarioSpec>& specs,
                                   std::uint64_t lo, std::uint64_t hi) {
  std::vector<SweepTask> tasks;
  for (const auto& spec : specs) {
    // An inclusive loop: hi may be the largest seed.
    for (std::uint64_t s = lo;; ++s) {
      tasks.push_back({&spec, s, std::nullopt, {}, nullptr, {}, {}});
      if (s == hi) {
        break;
      }
    }
  }
  return tasks;
}

}  // namespace faultline::cli
