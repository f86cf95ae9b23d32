#include <faultline/determinism.hpp>
#include <faultline/task.hpp>

#include <catch2/catch.hpp>

using namespace faultline;
using namespace faultline::literals;

namespace {

// A small randomized workload: tasks sleep random times and record what they do.
void workload(Simulation& sim) {
  Process proc(sim, "w");
  for (int id = 0; id < 5; ++id) {
    proc.spawn([](Simulation& s, int me) -> Task<void> {
      Rng rng = s.rng("worker/" + std::to_string(me));
      for (int i = 0; i < 20; ++i) {
        co_await s.sleep(Duration::from_seconds(rng.exponential(0.01)));
        s.record("worker", "tick", {{"id", me}, {"i", i}, {"v", rng.uniform_int(0, 99)}});
      }
    }(sim, id));
  }
  sim.run();
}

}  // namespace

TEST_CASE("determinism: the same seed gives the same trace hash", "[kernel][determinism]") {
  auto report = check_determinism({.seed = 99}, workload);
  CHECK(report.deterministic);
  CHECK(report.records_first == 100);
  CHECK(report.hash_first == report.hash_second);
  CHECK_THAT(report.describe(), Catch::Contains("deterministic"));
}

TEST_CASE("determinism: different seeds give different trace hashes", "[kernel][determinism]") {
  auto a = check_determinism({.seed = 1}, workload);
  auto b = check_determinism({.seed = 2}, workload);
  CHECK(a.hash_first != b.hash_first);
}

TEST_CASE("determinism: a run that depends on hidden state is caught at the first divergence",
          "[kernel][determinism]") {
  // State that outlives one run stands in for a wall clock or an unordered container.
  int runs = 0;
  auto report = check_determinism({.seed = 5}, [&runs](Simulation& sim) {
    ++runs;
    for (int i = 0; i < 10; ++i) {
      sim.schedule_after(Duration::millis(i), [&sim, i, &runs] {
        sim.record("leaky", "step", {{"i", i}, {"run", i == 6 ? runs % 2 : 0}});
      });
    }
    sim.run();
  });
  CHECK_FALSE(report.deterministic);
  REQUIRE(report.first_divergence.has_value());
  CHECK(*report.first_divergence == 6);
  CHECK_THAT(report.record_first, Catch::Contains("run=1"));
  CHECK_THAT(report.record_second, Catch::Contains("run=0"));
  CHECK_THAT(report.describe(), Catch::Contains("diverge at trace record #6"));
}

TEST_CASE("determinism: a run that ends early is a divergence too", "[kernel][determinism]") {
  int runs = 0;
  auto report = check_determinism({.seed = 5}, [&runs](Simulation& sim) {
    const int n = ++runs == 1 ? 4 : 3;
    for (int i = 0; i < n; ++i) {
      sim.record("x", "r", {{"i", i}});
    }
  });
  CHECK_FALSE(report.deterministic);
  CHECK(report.first_divergence == std::optional<std::uint64_t>{3});
  CHECK(report.record_second == "<end of trace>");
}
