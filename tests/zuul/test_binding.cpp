// The "zuul" scenario binding: JSON onto StackParams, mistakes reported at their JSON path with
// a fix, and a small scenario that runs and measures.
#include "binding_fixtures.hpp"

#include <faultline/scenario/registry.hpp>
#include <faultline/scenario/runner.hpp>
#include <faultline/scenario/scenario.hpp>

#include <catch2/catch.hpp>

using namespace faultline;
using namespace faultline::scenario;

namespace {

Json small_edge() {
  return Json::parse(R"({
    "format_version": 1, "name": "small", "duration": "60s",
    "model": {"name": "zuul", "params": {
      "zuul": {"instances": 2, "mode": "thread_per_request", "threads": 50,
               "routes": [{"family": "tv", "origin": "api"}],
               "throttles": [{"family": "tv", "rate_per_s": 1000}]},
      "tiers": [{"name": "api", "instances": 3, "calls": [{"tier": "ratings"}]},
                {"name": "ratings", "instances": 2, "cache_reads": 1}],
      "families": [{"name": "tv", "rate_per_s": 20}],
      "evcache": {"keys": 100},
      "chaos_monkey": {"enabled": false, "groups": ["tier/api"]}}},
    "faults": [{"kind": "crash", "at": "20s", "target": "node:api-0", "for": "20s"}],
    "expectations": [
      {"metric": "availability", "of": "devices", "window": ["0s", "end"], "min": 0.999},
      {"metric": "availability", "of": "cache", "window": ["30s", "end"], "min": 0.5},
      {"metric": "probe_mean", "probe": "retries", "window": ["50s", "end"], "min": 1},
      {"metric": "probe_mean", "probe": "zuul_memory_peak_bytes", "window": ["50s", "end"],
       "min": 1}]
  })");
}

std::string error_of(const Json& doc) { return testing::resolve_error(doc); }

}  // namespace

TEST_CASE("zuul binding: a small stack with a crashed API instance runs and measures",
          "[zuul][binding]") {
  auto reg = testing::builtin_registry();
  auto spec = ScenarioFile::parse(small_edge().dump(), "s.json").resolve("base", {}, reg);
  auto result = run_scenario(spec, reg);
  for (const auto& e : result.expectations) {
    INFO(e.description << " " << e.bound << " measured " << e.measured);
    CHECK(e.ok);
  }
  CHECK(result.key.requests > 1000);
}

TEST_CASE("zuul binding: mistakes name their JSON path and the fix", "[zuul][binding]") {
  auto doc = small_edge();
  doc["model"]["params"]["zuul"]["mode"] = "zuul1";
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/zuul/mode") &&
                                Catch::Contains("thread_per_request"));

  doc = small_edge();
  doc["model"]["params"]["zuul"]["routes"][0]["origin"] = "apii";
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/zuul/routes/0/origin") &&
                                Catch::Contains("not a tier"));

  doc = small_edge();
  doc["model"]["params"]["tiers"][1]["calls"] = Json::parse(R"([{"tier": "api"}])");
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/tiers/1/calls/0/tier") &&
                                Catch::Contains("no cycles"));

  doc = small_edge();
  doc["model"]["params"]["families"][0]["name"] = "web";
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/families/0/name") &&
                                Catch::Contains("zuul.routes"));

  doc = small_edge();
  doc["model"]["params"]["chaos_monkey"]["groups"] = Json::parse(R"(["api"])");
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/chaos_monkey/groups") &&
                                Catch::Contains("tier/api"));

  doc = small_edge();
  doc["model"]["params"]["zuul"]["thread"] = 10;
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/zuul/thread") &&
                                Catch::Contains("did you mean \"threads\""));

  doc = small_edge();
  doc["faults"][0]["target"] = "group:api";
  CHECK_THAT(error_of(doc), Catch::Contains("/faults/0/target"));
}

TEST_CASE("zuul binding: several regions' mistakes name their JSON path and the fix",
          "[zuul][binding][regions]") {
  auto regional = [] {
    auto doc = small_edge();
    doc["model"]["params"]["multi_region"] = Json::parse(R"({
      "regions": [{"name": "us-east", "zones": ["us-east-1a", "us-east-1b", "us-east-1c"]},
                  {"name": "us-west", "zones": ["us-west-2a", "us-west-2b", "us-west-2c"]}],
      "failover": "isthmus",
      "evacuation": {"enabled": true, "region": "us-east", "to": "us-west", "start": "10s",
                     "over": "20s", "steps": 4}})");
    doc["model"]["params"]["families"][0]["home"] = "us-east";
    return doc;
  };
  // The well-formed one resolves and runs.
  auto reg = testing::builtin_registry();
  auto spec = ScenarioFile::parse(regional().dump(), "s.json").resolve("base", {}, reg);
  CHECK(run_scenario(spec, reg).key.requests > 500);

  auto doc = regional();
  doc["model"]["params"]["families"][0]["home"] = "eu-west";
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/families/0/home") &&
                                Catch::Contains("us-east, us-west"));

  doc = regional();
  doc["model"]["params"]["multi_region"]["regions"][1]["zones"] =
      Json::parse(R"(["us-west-2a"])");
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/multi_region/regions/1/zones") &&
                                Catch::Contains("three zone names"));

  doc = regional();
  doc["model"]["params"]["multi_region"]["regions"][1]["name"] = "us-east";
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/multi_region/regions/1/name") &&
                                Catch::Contains("used twice"));

  doc = regional();
  doc["model"]["params"]["multi_region"]["failover"] = "active-active";
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/multi_region/failover") &&
                                Catch::Contains("active_active"));

  doc = regional();
  doc["model"]["params"]["multi_region"]["evacuation"]["to"] = "eu-west";
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/multi_region/evacuation/to") &&
                                Catch::Contains("us-east, us-west"));

  doc = regional();
  doc["model"]["params"]["multi_region"]["regions"].erase(1);
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/multi_region/evacuation:") &&
                                Catch::Contains("two regions"));

  doc = regional();
  doc["model"]["params"]["multi_region"]["evacuation"]["enabled"] = false;
  doc["model"]["params"]["multi_region"]["cache_replication"] =
      Json::parse(R"({"enabled": true, "lag_mean": "-1s"})");
  CHECK_THAT(error_of(doc),
             Catch::Contains("/model/params/multi_region/cache_replication/lag_mean"));
  doc["model"]["params"]["multi_region"]["cache_replication"]["lag_mean"] = "100ms";
  doc["model"]["params"]["multi_region"]["regions"].erase(1);
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/multi_region/cache_replication") &&
                                Catch::Contains("two regions"));

  doc = regional();
  doc["model"]["params"]["multi_region"]["failback"] = true;
  doc["model"]["params"]["multi_region"]["probe_timeout"] = "0s";
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/multi_region/probe_timeout"));
  doc["model"]["params"]["multi_region"]["probe_timeout"] = "4s";
  doc["model"]["params"]["multi_region"]["evacuation"]["enabled"] = false;
  doc["model"]["params"]["multi_region"]["regions"].erase(1);
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/multi_region/failback") &&
                                Catch::Contains("two regions"));

  doc = regional();
  doc["model"]["params"]["multi_region"]["failback"] = true;
  doc["model"]["params"]["multi_region"]["failback_steps"] = 0;
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/multi_region/failback_steps"));
  doc["model"]["params"]["multi_region"]["failback_steps"] = 5;
  doc["model"]["params"]["multi_region"]["failback_over"] = "-1s";
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/multi_region/failback_over"));

  doc = regional();  // the relay's group is a fault target only with replication on
  doc["faults"][0]["target"] = "group:evcache-relay@us-west";
  CHECK_THAT(error_of(doc), Catch::Contains("/faults/0/target"));
  doc["model"]["params"]["multi_region"]["cache_replication"] = Json::parse(R"({"enabled": true})");
  spec = ScenarioFile::parse(doc.dump(), "s.json").resolve("base", {}, reg);
  CHECK(run_scenario(spec, reg).key.requests > 500);

  doc = regional();
  doc["faults"][0]["target"] = "group:tier/api@eu-west";
  CHECK_THAT(error_of(doc), Catch::Contains("/faults/0/target") &&
                                Catch::Contains("tier/api@us-west"));
}


TEST_CASE("zuul binding: the families' ELBs run, and their mistakes name their JSON path and "
          "the fix",
          "[zuul][binding][elb]") {
  auto with_elb = [] {
    auto doc = small_edge();
    doc["model"]["params"]["elb"] = Json::parse(R"({
      "enabled": true, "nodes": 3, "touch_mean": "5s",
      "control_plane": {"scale_ratio": 0, "call_timeout": "1s"},
      "state_loss": {"at": "10s", "families": ["tv"], "restored_at": "50s"}})");
    doc["faults"] = Json::array();
    doc["expectations"] = Json::parse(R"([
      {"metric": "availability", "of": "tv", "window": ["25s", "50s"], "max": 0.1},
      {"metric": "probe_mean", "probe": "elb_broken/tv/us-east", "window": ["25s", "50s"],
       "min": 2},
      {"metric": "availability", "of": "control-plane", "window": ["25s", "50s"], "max": 0.5}])");
    return doc;
  };
  auto reg = testing::builtin_registry();
  auto spec = ScenarioFile::parse(with_elb().dump(), "s.json").resolve("base", {}, reg);
  auto result = run_scenario(spec, reg);
  for (const auto& e : result.expectations) {
    INFO(e.description << " " << e.bound << " measured " << e.measured);
    CHECK(e.ok);
  }
  // Fail static: the same expectations fail (tv stays served), so they can.
  auto doc = with_elb();
  doc["model"]["params"]["elb"]["control_plane"]["fail_static"] = true;
  spec = ScenarioFile::parse(doc.dump(), "s.json").resolve("base", {}, reg);
  result = run_scenario(spec, reg);
  CHECK_FALSE(result.expectations.at(0).ok);
  CHECK_FALSE(result.expectations.at(1).ok);

  doc = with_elb();
  doc["model"]["params"]["elb"]["state_loss"]["families"] = Json::parse(R"(["ps3"])");
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/elb/state_loss/families/0") &&
                                Catch::Contains("not a family"));
  doc = with_elb();
  doc["model"]["params"]["elb"]["state_loss"]["region"] = "eu-west";
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/elb/state_loss/region") &&
                                Catch::Contains("not a region"));
  doc = with_elb();
  doc["model"]["params"]["elb"]["state_loss"]["restored_at"] = "5s";
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/elb/state_loss/restored_at") &&
                                Catch::Contains("before the deletion"));
  doc = with_elb();
  doc["model"]["params"]["elb"]["nodes"] = 0;
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/elb/nodes"));
  doc = with_elb();
  doc["model"]["params"]["elb"]["control_plane"]["scale_ratio"] = 2;
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/elb/control_plane/scale_ratio"));
  doc = with_elb();
  doc["model"]["params"]["elb"]["state_loss"]["at"] = "2h";
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/elb/state_loss/at"));
  doc = with_elb();  // the ELB's groups are fault targets only with ELBs on
  doc["faults"] = Json::parse(R"([{"kind": "crash", "at": "5s", "target": "group:elb/api-tv"}])");
  CHECK_NOTHROW(ScenarioFile::parse(doc.dump(), "s.json").resolve("base", {}, reg));
  doc["model"]["params"]["elb"]["enabled"] = false;
  CHECK_THAT(error_of(doc), Catch::Contains("/faults/0/target"));
}
