// The "schemaless" scenario binding: JSON onto SchemalessParams, mistakes reported at their
// JSON path with a fix, and a small scenario that runs, measures and checks.
#include "binding_fixtures.hpp"
#include "scenario_seeds.hpp"

#include <faultline/scenario/registry.hpp>
#include <faultline/scenario/runner.hpp>
#include <faultline/scenario/scenario.hpp>

#include <catch2/catch.hpp>

using namespace faultline;
using namespace faultline::scenario;

namespace {

Json small_schemaless() {
  return Json::parse(R"({
    "format_version": 1, "name": "small", "duration": "90s",
    "model": {"name": "schemaless", "params": {
      "storage": {"clusters": 3, "shards": 64},
      "clients": {"trips_per_s": 10, "stop_at": "60s", "step_time": "1s"}}},
    "faults": [{"kind": "crash", "at": "20.6s", "target": "node:store-1-0", "for": "30s"}],
    "expectations": [
      {"metric": "availability", "of": "writes", "window": ["0s", "20s"], "min": 0.99},
      {"metric": "probe_mean", "probe": "failovers", "window": ["40s", "end"], "min": 1},
      {"metric": "probe_mean", "probe": "lost_cells", "window": ["85s", "end"], "max": 0},
      {"metric": "checker", "checker": "no-lost-cells"},
      {"metric": "checker", "checker": "exactly-once"},
      {"metric": "checker", "checker": "read-your-writes"}]
  })");
}

std::string error_of(const Json& doc) { return testing::resolve_error(doc); }

}  // namespace

TEST_CASE("schemaless binding: a small cluster with a master failover runs and its checkers "
          "pass",
          "[schemaless][binding]") {
  auto reg = testing::builtin_registry();
  auto spec = ScenarioFile::parse(small_schemaless().dump(), "s.json").resolve("base", {}, reg);
  auto result = run_scenario(spec, reg);
  for (const auto& e : result.expectations) {
    INFO(e.description << " " << e.bound << " measured " << e.measured);
    CHECK(e.ok);
  }
  CHECK(result.key.requests > 1000);
}

TEST_CASE("schemaless binding: mistakes name their JSON path and the fix",
          "[schemaless][binding]") {
  auto doc = small_schemaless();
  doc["model"]["params"]["buffer"] = {{"enabeld", true}};
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/buffer/enabeld") &&
                                Catch::Contains("did you mean \"enabled\""));

  doc = small_schemaless();
  doc["model"]["params"]["worker"] = {{"read_from", "replica"}};
  CHECK_THAT(error_of(doc),
             Catch::Contains("/model/params/worker/read_from") && Catch::Contains("minion"));

  doc = small_schemaless();
  doc["model"]["params"]["storage"] = {{"clusters", 1}};  // buffered writes need two
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/buffer") &&
                                Catch::Contains("storage.clusters to 2 or more"));

  doc = small_schemaless();
  doc["model"]["params"]["storage"] = {{"minions", 0}};
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/storage") &&
                                Catch::Contains("storage.failover to false"));

  doc = small_schemaless();
  doc["model"]["params"]["storage"] = {{"clusters", 8}, {"shards", 4}};
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/storage/shards") &&
                                Catch::Contains("at least one shard per cluster"));

  doc = small_schemaless();
  doc["faults"][0]["target"] = "group:masters";
  CHECK_THAT(error_of(doc), Catch::Contains("/faults/0/target"));

  doc = small_schemaless();
  doc["expectations"][3]["checker"] = "no_lost_cells";
  CHECK_THAT(error_of(doc), Catch::Contains("no-lost-cells"));
}

// A slice of the documented sweep of scenarios/schemaless-master-failover.json (docs/stories/
// schemaless.md, "Seeds"): the scenario file itself. With buffered writes every expectation
// holds on seeds 1-20; without them the no-lost-cells checker names lost cells on every one of
// those seeds. About 40 CPU-seconds.
TEST_CASE("schemaless-master-failover.json: buffered writes lose nothing on seeds 1-20; "
          "without them cells are lost on each",
          "[schemaless][buffer][.slow]") {
  auto reg = testing::builtin_registry();
  const auto file = testing::load_shipped_scenario("schemaless-master-failover.json");
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    testing::require_all_hold(testing::run_seed(file, "base", seed, reg), seed);
    auto lost = testing::run_seed(file, "without-buffered-writes", seed, reg);
    bool caught = false;
    for (const auto& e : lost.expectations) {
      if (e.description == "checker no-lost-cells") {
        caught = e.ok && e.measured.rfind("violated", 0) == 0;
      }
    }
    INFO("seed " << seed);
    CHECK(caught);
  }
}
