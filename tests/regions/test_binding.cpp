// The "regions" scenario binding: JSON onto RegionsParams, mistakes reported at their JSON path
// with a fix, and a small drill that runs.
#include "binding_fixtures.hpp"

#include <faultline/scenario/registry.hpp>
#include <faultline/scenario/runner.hpp>
#include <faultline/scenario/scenario.hpp>

#include <catch2/catch.hpp>

#include <string>

using namespace faultline;
using namespace faultline::scenario;

namespace {

Json small_drill() {
  return Json::parse(R"({
    "format_version": 1, "name": "small", "duration": "1h30m",
    "model": {"name": "regions", "params": {
      "populations": [{"name": "east", "home": "us-east-1", "rate_per_s": 20},
                      {"name": "west", "home": "us-west-2", "rate_per_s": 20}],
      "regions": [{"name": "us-east-1", "servers": 4, "server_rate_per_s": 10},
                  {"name": "us-west-2", "servers": 4, "server_rate_per_s": 10}],
      "evacuation": {"enabled": true, "region": "us-east-1", "to": "us-west-2",
                     "start": "10m", "over": "40m", "steps": 8}}},
    "expectations": [
      {"metric": "availability", "of": "east", "min": 0.99},
      {"metric": "probe_mean", "probe": "share/east/us-west-2", "window": ["1h", "1h30m"],
       "min": 0.99},
      {"metric": "probe_mean", "probe": "servers/us-west-2", "window": ["1h", "1h30m"],
       "min": 6}]
  })");
}

std::string error_of(const Json& doc) { return faultline::scenario::testing::resolve_error(doc); }

}  // namespace

TEST_CASE("regions binding: a small drill runs and moves the members", "[regions][binding]") {
  auto reg = faultline::scenario::testing::builtin_registry();
  auto spec = ScenarioFile::parse(small_drill().dump(), "s.json").resolve("base", {}, reg);
  auto result = run_scenario(spec, reg);
  for (const auto& e : result.expectations) {
    INFO(e.description << " " << e.bound << " measured " << e.measured);
    CHECK(e.ok);
  }
}

TEST_CASE("regions binding: mistakes name their JSON path and the fix", "[regions][binding]") {
  auto doc = small_drill();
  doc["model"]["params"]["dns"] = {{"tll", "60s"}};
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/dns/tll") && Catch::Contains("ttl"));

  doc = small_drill();
  doc["model"]["params"]["failover"] = {{"mode", "isthmos"}};
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/failover/mode") &&
                                Catch::Contains("isthmus"));

  doc = small_drill();
  doc["model"]["params"]["populations"][0]["home"] = "us-east-2";
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/populations/0/home") &&
                                Catch::Contains("not a region"));

  doc = small_drill();
  doc["model"]["params"]["populations"][0]["name"] = "us-west-2";
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/populations") &&
                                Catch::Contains("distinct names"));

  doc = small_drill();
  doc["model"]["params"]["evacuation"]["steps"] = 0;
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/evacuation/steps"));
}
