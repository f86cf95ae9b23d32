// The "evcache" scenario binding: JSON onto EvcacheParams, mistakes reported at their JSON path
// with a fix, and a small scenario whose zone loss the replicated cache absorbs.
#include "binding_fixtures.hpp"

#include <faultline/scenario/registry.hpp>
#include <faultline/scenario/runner.hpp>
#include <faultline/scenario/scenario.hpp>

#include <catch2/catch.hpp>

#include <string>

using namespace faultline;
using namespace faultline::scenario;

namespace {

Json small_evcache() {
  return Json::parse(R"({
    "format_version": 1, "name": "small", "duration": "40s",
    "model": {"name": "evcache", "params": {
      "client": {"ops_per_s": 300, "keys": 2000}}},
    "faults": [
      {"kind": "crash", "at": "20s", "target": "host:evcache-b-0"},
      {"kind": "crash", "at": "20s", "target": "host:evcache-b-1"},
      {"kind": "crash", "at": "20s", "target": "host:evcache-b-2"},
      {"kind": "crash", "at": "20s", "target": "host:evcache-b-3"}],
    "expectations": [
      {"metric": "availability", "of": "cache", "window": ["10s", "20s"], "min": 0.8},
      {"metric": "availability", "of": "cache", "window": ["22s", "40s"], "min": 0.8},
      {"metric": "availability", "of": "fallback", "window": ["22s", "40s"], "min": 0.25},
      {"metric": "availability", "of": "reads", "min": 0.99}]
  })");
}

ModelRegistry registry() { return faultline::scenario::testing::builtin_registry(); }

std::string error_of(const Json& doc) {
  return faultline::scenario::testing::resolve_error(doc, registry());
}

}  // namespace

TEST_CASE("evcache binding: a small cluster runs and absorbs the loss of a zone",
          "[evcache][binding]") {
  auto reg = registry();
  auto spec = ScenarioFile::parse(small_evcache().dump(), "s.json").resolve("base", {}, reg);
  auto result = run_scenario(spec, reg);
  for (const auto& e : result.expectations) {
    INFO(e.description << " " << e.bound << " measured " << e.measured);
    CHECK(e.ok);
  }
}

TEST_CASE("evcache binding: mistakes name their JSON path and the fix", "[evcache][binding]") {
  auto doc = small_evcache();
  doc["model"]["params"]["client"]["fallback_on_mis"] = true;
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/client/fallback_on_mis") &&
                                Catch::Contains("fallback_on_miss"));

  doc = small_evcache();
  doc["faults"][0]["target"] = "group:evcache/d";  // the zones are a, b, c
  CHECK_THAT(error_of(doc), Catch::Contains("/faults/0/target") &&
                                Catch::Contains("evcache/a"));

  doc = small_evcache();
  doc["model"]["params"]["server"]["memory_bytes"] = 2000;  // smaller than one 1 KB item + header
  doc["model"]["params"]["client"]["value_bytes"] = 4096;
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/client/value_bytes") &&
                                Catch::Contains("make server.memory_bytes hold"));

  doc = small_evcache();
  doc["model"]["params"]["client"]["write_ratio"] = 1.5;
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/client/write_ratio"));

  doc = small_evcache();
  doc["model"]["params"]["warmup"] = {{"until_fill", 1.2}};  // a fraction of the peers' items
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/warmup/until_fill"));

  doc = small_evcache();
  doc["model"]["params"]["discovery"] = {{"enabled", true}, {"lease", "10s"}};
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/discovery/lease") &&
                                Catch::Contains("at least one heartbeat interval"));

  doc = small_evcache();
  doc["model"]["params"]["discovery"] = {{"enabled", true}, {"expiry", "three-leases"}};
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/discovery/expiry") &&
                                Catch::Contains("two-leases"));
}

