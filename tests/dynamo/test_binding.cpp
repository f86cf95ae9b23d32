// The dynamo binding maps JSON onto DynamoParams and reports mistakes at their JSON path.
#include "binding_fixtures.hpp"

#include <faultline/scenario/registry.hpp>
#include <faultline/scenario/runner.hpp>
#include <faultline/scenario/scenario.hpp>

#include <catch2/catch.hpp>

using namespace faultline;
using namespace faultline::scenario;

namespace {

Json small_dynamo() {
  return Json::parse(R"({
    "format_version": 1, "name": "small", "duration": "5s",
    "model": {"name": "dynamo", "params": {
      "nodes": 4, "zones": ["a", "b"], "ring": {"placement": "random_tokens", "tokens_per_node": 8},
      "clients": [{"name": "shop", "zone": "a", "rate_per_s": 20}]}},
    "faults": [{"kind": "crash", "at": "2s", "for": "1s", "target": "node:dynamo-1"}],
    "expectations": [{"metric": "checker", "checker": "cart-adds-kept"}]
  })");
}

std::string error_of(const Json& doc) {
  return faultline::scenario::testing::resolve_error(doc);
}

}  // namespace

TEST_CASE("dynamo binding: a valid file resolves", "[dynamo][binding]") {
  REQUIRE(error_of(small_dynamo()) == "no error");
}

TEST_CASE("dynamo binding: mistakes name their JSON path and the fix", "[dynamo][binding]") {
  Json doc = small_dynamo();
  doc["model"]["params"]["ring"]["tokns_per_node"] = 3;
  CHECK_THAT(error_of(doc), Catch::Contains("s.json: /model/params/ring/tokns_per_node: unknown "
                                            "key \"tokns_per_node\"; did you mean "
                                            "\"tokens_per_node\"?"));
  doc = small_dynamo();
  doc["model"]["params"]["r"] = 5;
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/r: must be within [1, n]"));
  doc = small_dynamo();
  doc["model"]["params"]["clients"][0]["zone"] = "c";
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/clients/0/zone: \"c\" is not one of "
                                            "zones"));
  doc = small_dynamo();
  doc["model"]["params"]["reconcile"] = "lww";
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/reconcile"));
  doc = small_dynamo();
  doc["model"]["params"]["nodes"] = 0;
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/nodes: 0 is out of range"));
  doc = small_dynamo();
  doc["faults"][0]["target"] = "group:dynamoo";
  CHECK_THAT(error_of(doc), Catch::Contains("did you mean \"dynamo\"?"));
  doc = small_dynamo();
  doc["model"]["params"]["cpu"] = Json::parse(R"({"workers": 0})");
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/cpu/workers: 0 is out of range"));
  doc = small_dynamo();
  doc["model"]["params"]["cpu"] = Json::parse(R"({"coordinat": "1ms"})");
  CHECK_THAT(error_of(doc), Catch::Contains("did you mean \"coordinate\"?"));
  doc = small_dynamo();
  doc["model"]["params"]["storage"] = Json::parse(R"({"sigma": 1.3})");
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/storage/sigma: unknown key"));
  doc = small_dynamo();
  doc["model"]["params"]["storage"] = Json::parse(R"({"disks": 2, "read_sigma": 1, "write_sigma": 1})");
  doc["model"]["params"]["cpu"] = Json::parse(R"({"workers": 4, "load_balancer": "0s"})");
  doc["model"]["params"]["load_balancers"] = 2;
  doc["model"]["params"]["handoff_in_flight"] = 8;
  CHECK(error_of(doc) == "no error");
  doc = small_dynamo();
  doc["expectations"][0]["checker"] = "cart-adds-kep";
  CHECK_THAT(error_of(doc), Catch::Contains("is not a checker of this model"));
}

// The paper's imbalance figure (§6.2: a node is out of balance when its load is more than 15 %
// from the mean; the share of such nodes was about 20 % at low load and 10 % at high load) is
// an average over time on one ring. Here each seed is a different random ring, and a ring's
// own luck sets most of its figure (0-28 % across seeds 1-12 for one 7 s window, which is why
// the scenario bounds each run at 30 %); the comparable quantity is the average over rings.
TEST_CASE("dynamo vnodes scenario: with 150 random tokens per node, the share of out-of-balance "
          "nodes after a failure averages within the paper's 10-20 % over seeds 1-12",
          "[dynamo][binding][.slow]") {
  const auto file =
      ScenarioFile::load(std::string(FAULTLINE_SCENARIOS_DIR) + "/dynamo-vnodes-node-failure.json");
  const auto registry = faultline::scenario::testing::builtin_registry();
  double sum = 0;
  int runs = 0;
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    ScenarioSpec spec = file.resolve("random-150-vnodes", {}, registry);
    spec.seed = seed;
    const RunResult r = run_scenario(spec, registry);
    const ExpectationResult* found = nullptr;
    for (const auto& e : r.expectations) {
      if (e.description.find("out_of_balance_fraction") != std::string::npos) {
        found = &e;
      }
    }
    REQUIRE(found != nullptr);
    INFO("seed " << seed << ": " << found->measured);
    sum += found->value;
    ++runs;
  }
  const double mean = sum / runs;
  INFO("mean out-of-balance share over seeds 1-12: " << mean);
  CHECK(mean >= 0.10);
  CHECK(mean <= 0.20);
}
