// The contention binding: scenario JSON maps onto ContentionParams, mistakes name their JSON
// path, and the measure scopes "clients" and "trials" carry the blog's two figures.
#include "binding_fixtures.hpp"

#include <faultline/scenario/registry.hpp>
#include <faultline/scenario/runner.hpp>
#include <faultline/scenario/scenario.hpp>

#include <catch2/catch.hpp>

#include <string>

using namespace faultline;
using namespace faultline::scenario;

namespace {

ModelRegistry registry() {
  return faultline::scenario::testing::builtin_registry();
}

Json small(std::string_view jitter) {
  Json doc = Json::parse(R"({
    "format_version": 1, "name": "small", "duration": "60s", "seed": 3,
    "model": {"name": "contention", "params": {
      "clients": 20, "trials": 10, "net_delay_mean": "10ms", "net_delay_sd": "2ms",
      "retry": {"max_attempts": 100, "base": "5ms", "cap": "2s", "jitter": "full"}}},
    "observations": [{"name": "pending", "kind": "probe", "probe": "clients_pending",
                      "every": "1s"}],
    "expectations": [{"metric": "availability", "of": "clients", "min": 1.0},
                     {"metric": "retry_amplification", "of": "clients", "min": 1.0}]
  })");
  doc["model"]["params"]["retry"]["jitter"] = std::string(jitter);
  return doc;
}

std::string error_of(const Json& doc) {
  return faultline::scenario::testing::resolve_error(doc, registry());
}

RunResult run(const Json& doc) {
  auto reg = registry();
  auto spec = ScenarioFile::parse(doc.dump(), "s.json").resolve("base", {}, reg);
  return run_scenario(spec, reg);
}

}  // namespace

TEST_CASE("contention binding: every client writes once; trials measure calls per run",
          "[contention][scenario]") {
  const RunResult r = run(small("full"));
  for (const auto& e : r.expectations) {
    INFO(e.description << " " << e.bound << " measured " << e.measured);
    CHECK(e.ok);
  }
  CHECK(r.key.requests == 200);
  CHECK(r.key.successes == 200);
  CHECK(r.key.attempts >= 200);
  // 20 clients each land one write per row: the pending probe ends at zero.
  REQUIRE(!r.series.empty());
  CHECK(r.series.front().samples.back().value == 0.0);
}

TEST_CASE("contention binding: an expectation the run contradicts fails",
          "[contention][scenario]") {
  Json doc = small("none");
  // Un-jittered clients collide: they cannot average a single write each.
  doc["expectations"] = Json::parse(
      R"([{"metric": "retry_amplification", "of": "clients", "max": 1.0},
          {"metric": "latency_p50", "of": "trials", "max": "40ms"}])");
  const RunResult r = run(doc);
  REQUIRE(r.expectations.size() == 2);
  CHECK_FALSE(r.expectations[0].ok);
  CHECK_FALSE(r.expectations[1].ok);
  CHECK_FALSE(r.ok());
}

TEST_CASE("contention binding: mistakes name their JSON path and the fix",
          "[contention][scenario][errors]") {
  Json doc = small("full");
  doc["model"]["params"]["retry"]["jiter"] = "full";
  CHECK_THAT(error_of(doc), Catch::Contains("s.json: /model/params/retry/jiter: unknown key "
                                            "\"jiter\"; did you mean \"jitter\"?"));
  doc = small("ful");
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/retry/jitter: \"ful\" is not a valid "
                                            "choice; did you mean \"full\"?"));
  doc = small("full");
  doc["model"]["params"]["clients"] = 0;
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/clients: 0 is out of range"));
  doc = small("full");
  doc["model"]["params"]["client"] = 3;
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/client: unknown key"));
  doc = small("full");
  doc["model"]["params"]["retry"]["cap"] = "1ms";
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/retry/cap"));
  doc = small("full");
  doc["expectations"][0]["of"] = "client";
  CHECK_THAT(error_of(doc), Catch::Contains("did you mean \"clients\"?"));
}
