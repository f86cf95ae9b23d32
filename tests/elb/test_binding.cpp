// The "elb" scenario binding: JSON onto ElbParams, mistakes reported at their JSON path with a
// fix, and a small run of the incident.
#include "binding_fixtures.hpp"

#include <faultline/scenario/registry.hpp>
#include <faultline/scenario/runner.hpp>
#include <faultline/scenario/scenario.hpp>

#include <catch2/catch.hpp>

#include <string>

using namespace faultline;
using namespace faultline::scenario;

namespace {

Json small_elb() {
  return Json::parse(R"({
    "format_version": 1, "name": "small", "duration": "3h",
    "model": {"name": "elb", "params": {
      "fleet": {"elbs": 100},
      "families": [{"name": "tv", "rate_per_s": 1, "state_deleted": true},
                   {"name": "web", "rate_per_s": 1}],
      "incident": {"deleted_at": "10m", "workflows_disabled_at": "2h", "restored_at": "2h",
                   "merged_at": "2h", "reenable_over": "10m"}}},
    "expectations": [
      {"metric": "availability", "of": "tv", "window": ["0s", "10m"], "min": 0.999},
      {"metric": "availability", "of": "tv", "window": ["1h", "2h"], "max": 0.5},
      {"metric": "availability", "of": "web", "min": 0.999},
      {"metric": "availability", "of": "tv", "window": ["2h20m", "3h"], "min": 0.999},
      {"metric": "error_rate", "of": "control-plane", "window": ["10m", "2h"], "min": 0.01}]
  })");
}

ModelRegistry registry() { return faultline::scenario::testing::builtin_registry(); }

std::string error_of(const Json& doc) {
  return faultline::scenario::testing::resolve_error(doc, registry());
}

}  // namespace

TEST_CASE("elb binding: a small region runs the incident and recovers", "[elb][binding]") {
  auto reg = registry();
  auto spec = ScenarioFile::parse(small_elb().dump(), "s.json").resolve("base", {}, reg);
  auto result = run_scenario(spec, reg);
  for (const auto& e : result.expectations) {
    INFO(e.description << " " << e.bound << " measured " << e.measured);
    CHECK(e.ok);
  }
}

TEST_CASE("elb binding: mistakes name their JSON path and the fix", "[elb][binding]") {
  auto doc = small_elb();
  doc["model"]["params"]["control_plane"] = {{"fail_statik", true}};
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/control_plane/fail_statik") &&
                                Catch::Contains("fail_static"));

  doc = small_elb();
  doc["model"]["params"]["families"][1]["name"] = "tv";
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/families/1/name") &&
                                Catch::Contains("used twice"));

  doc = small_elb();
  doc["model"]["params"]["incident"]["merged_at"] = "1h";  // before the restore
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/incident/merged_at") &&
                                Catch::Contains("merge after"));

  doc = small_elb();
  doc["model"]["params"]["incident"]["deleted_fraction"] = 2;
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/incident/deleted_fraction"));

  doc = small_elb();
  doc["model"]["params"]["failover"] = {{"enabled", true}, {"mode", "isthmos"}};
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/failover/mode") &&
                                Catch::Contains("isthmus"));

  doc = small_elb();
  doc["model"]["params"]["failover"] = {{"sticky_fraction", 1.5}};
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/failover/sticky_fraction"));

  doc = small_elb();
  doc["expectations"][0]["of"] = "tvv";
  CHECK_THAT(error_of(doc), Catch::Contains("tv"));
}
