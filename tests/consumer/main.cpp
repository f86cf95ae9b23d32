// Runs a small simulation through the installed package and checks it ran.
#include <faultline/simulation.hpp>
#include <faultline/task.hpp>

#include <cstdio>

using namespace faultline::literals;

static faultline::Task<int> work(faultline::Simulation& sim) {
  co_await sim.sleep(5_ms);
  co_return 7;
}

static faultline::Task<void> root(faultline::Simulation& sim, int& out) {
  out = co_await work(sim);
}

int main() {
  faultline::Simulation sim({.seed = 1});
  faultline::Process proc(sim, "consumer");
  int result = 0;
  proc.spawn(root(sim, result));
  sim.run();
  if (result != 7 || sim.now() != faultline::Time::from_ns(5'000'000)) {
    std::fprintf(stderr, "consumer: unexpected result %d at %s\n", result,
                 sim.now().to_string().c_str());
    return 1;
  }
  std::printf("consumer: ok, simulation ran to %s\n", sim.now().to_string().c_str());
  return 0;
}
