// docs/kernel.md's determinism check, compiled and run; tests/examples/doc_blocks.py checks
// that the page holds the block verbatim.
#include <faultline/determinism.hpp>
#include <faultline/simulation.hpp>

#include <catch2/catch.hpp>

using namespace faultline;
using namespace faultline::literals;

namespace {

// A stand-in for a real cluster: 100 seeded events that record into the trace.
void build_my_cluster(Simulation& sim) {
  Rng rng = sim.rng("cluster");
  Duration t = Duration::zero();
  for (int i = 0; i < 100; ++i) {
    t += Duration::from_seconds(rng.exponential(1.0));
    sim.schedule_at(Time::zero() + t, [&sim, i] { sim.record("cluster", "tick", {{"i", i}}); });
  }
}

}  // namespace

TEST_CASE("docs/kernel.md: check_determinism runs a body twice", "[examples][docs]") {
auto report = faultline::check_determinism({.seed = 42}, [](Simulation& sim) {
  build_my_cluster(sim);
  sim.run_for(10_min);
});
REQUIRE(report.deterministic);   // report.describe() explains a failure
}
