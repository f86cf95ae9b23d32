// The ringpop binding maps JSON onto ClusterParams and reports mistakes at their JSON path.
#include "binding_fixtures.hpp"

#include <faultline/scenario/registry.hpp>
#include <faultline/scenario/runner.hpp>
#include <faultline/scenario/scenario.hpp>

#include <catch2/catch.hpp>

using namespace faultline;
using namespace faultline::scenario;

namespace {

Json small_ringpop() {
  return Json::parse(R"({
    "format_version": 1, "name": "small", "duration": "20s",
    "model": {"name": "ringpop", "params": {
      "members": 6, "zones": ["a", "b"],
      "swim": {"preset": "memberlist", "lifeguard": {"enabled": true}},
      "ring": {"replica_points": 50}}},
    "faults": [{"kind": "crash", "at": "2s", "target": "node:ringpop-3"}],
    "expectations": [{"metric": "checker", "checker": "membership"}]
  })");
}

std::string error_of(const Json& doc) { return faultline::scenario::testing::resolve_error(doc); }

}  // namespace

TEST_CASE("ringpop binding: a valid file resolves", "[ringpop][binding]") {
  REQUIRE(error_of(small_ringpop()) == "no error");
}

TEST_CASE("ringpop binding: mistakes name their JSON path and the fix", "[ringpop][binding]") {
  Json doc = small_ringpop();
  doc["model"]["params"]["swim"]["ping_timout"] = "1s";
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/swim/ping_timout: unknown key"));
  doc = small_ringpop();
  doc["model"]["params"]["members"] = 0;
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/members: 0 is out of range"));
  doc = small_ringpop();
  doc["model"]["params"]["swim"]["preset"] = "consul";
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/swim/preset"));
  doc = small_ringpop();
  doc["model"]["params"]["seeds"] = 9;
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/seeds: must be within [1, members]"));
  doc = small_ringpop();
  doc["model"]["params"]["late_joins"] = Json::parse(R"([{"member": "ringpop-1", "at": "1s"}])");
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/late_joins/0/member"));
  doc = small_ringpop();
  doc["model"]["params"]["swim"]["lifeguard"]["max_multiplier"] = 0;
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/swim/lifeguard/max_multiplier"));
  doc = small_ringpop();
  doc["faults"][0]["target"] = "group:ringpopp";
  CHECK_THAT(error_of(doc), Catch::Contains("did you mean \"ringpop\"?"));
}
