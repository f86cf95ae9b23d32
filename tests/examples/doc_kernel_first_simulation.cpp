// docs/kernel.md's "A first simulation", compiled and run as a program of its own (it has
// its own main); tests/examples/doc_blocks.py checks the page holds it verbatim.
#include <faultline/simulation.hpp>
#include <faultline/task.hpp>

using namespace faultline;
using namespace faultline::literals;

Task<int> fetch(Simulation& sim) {
  co_await sim.sleep(3_ms);          // simulated, not real, time
  co_return 42;
}

Task<void> client(Simulation& sim) {
  Rng rng = sim.rng("client");       // an independent stream named "client"
  for (int i = 0; i < 10; ++i) {
    co_await sim.sleep(Duration::from_seconds(rng.exponential(0.010)));
    int v = co_await fetch(sim);
    sim.record("client", "got", {{"i", i}, {"v", v}});
    sim.metrics().counter("client.ok").inc();
  }
}

int main() {
  Simulation sim({.seed = 7, .epoch = *UtcInstant::parse("2012-06-30T23:59:00Z")});
  Process proc(sim, "client");       // declare after the Simulation
  proc.spawn(client(sim));
  sim.run();
  fmt::print("{} at {}, trace hash {:x}\n", sim.now(), sim.utc_now(), sim.trace().hash());
}
