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

// The check keeps one rolling hash per block of 4,096 records, not one hash per record, so its
// memory does not grow with the run; these runs span several blocks, so a divergence must be
// narrowed from its block to its record.
namespace {
void long_run(Simulation& sim, int runs, std::uint64_t records, std::uint64_t odd_one) {
  for (std::uint64_t i = 0; i < records; ++i) {
    sim.record("long", "r", {{"i", i}, {"run", i == odd_one ? runs % 2 : 0}});
  }
}
}  // namespace

TEST_CASE("determinism: a divergence deep in a long run is named at its record",
          "[kernel][determinism]") {
  // 4096 and 8191 are the first records of a block and the last; 10000 is in the trailing
  // part block, which no block checkpoint covers.
  for (std::uint64_t odd : {std::uint64_t{4096}, std::uint64_t{8191}, std::uint64_t{9000},
                            std::uint64_t{10000}}) {
    int runs = 0;
    auto report = check_determinism({.seed = 5}, [&](Simulation& sim) {
      long_run(sim, ++runs, 10'001, odd);
    });
    INFO("divergent record " << odd);
    CHECK_FALSE(report.deterministic);
    REQUIRE(report.first_divergence.has_value());
    CHECK(*report.first_divergence == odd);
    CHECK_THAT(report.record_first, Catch::Contains("i=" + std::to_string(odd)) &&
                                        Catch::Contains("run=1"));
    CHECK_THAT(report.record_second, Catch::Contains("run=0"));
  }
}

TEST_CASE("determinism: long runs that end at different records diverge where one ends",
          "[kernel][determinism]") {
  for (std::uint64_t shorter : {std::uint64_t{8192}, std::uint64_t{9000}}) {
    int runs = 0;
    // The second run is the shorter one; the third (the first configuration again) is long.
    auto report = check_determinism({.seed = 5}, [&](Simulation& sim) {
      ++runs;
      long_run(sim, 0, runs == 2 ? shorter : 10'000, ~std::uint64_t{0});
    });
    INFO("second run ends at " << shorter);
    CHECK_FALSE(report.deterministic);
    CHECK(report.first_divergence == std::optional<std::uint64_t>{shorter});
    CHECK(report.record_second == "<end of trace>");
    CHECK_THAT(report.record_first, Catch::Contains("i=" + std::to_string(shorter)));
  }
  int runs = 0;
  // The first run is the shorter one: the second goes on past its end.
  auto report = check_determinism({.seed = 5}, [&](Simulation& sim) {
    ++runs;
    long_run(sim, 0, runs % 2 == 1 ? 9000 : 12'000, ~std::uint64_t{0});
  });
  CHECK(report.first_divergence == std::optional<std::uint64_t>{9000});
  CHECK(report.record_first == "<end of trace>");
  CHECK_THAT(report.record_second, Catch::Contains("i=9000"));
}

TEST_CASE("determinism: a long deterministic run passes", "[kernel][determinism]") {
  auto report = check_determinism({.seed = 5}, [](Simulation& sim) {
    long_run(sim, 0, 20'000, ~std::uint64_t{0});
  });
  CHECK(report.deterministic);
  CHECK(report.records_first == 20'000);
}
