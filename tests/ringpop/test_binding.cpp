// The ringpop binding maps JSON onto ClusterParams and reports mistakes at their JSON path.
#include "binding_fixtures.hpp"

#include <faultline/report/perfetto.hpp>
#include <faultline/scenario/registry.hpp>
#include <faultline/scenario/runner.hpp>
#include <faultline/scenario/scenario.hpp>

#include <catch2/catch.hpp>

#include <sstream>

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

namespace {

Json with_dispatch(int drivers) {
  Json doc = small_ringpop();
  doc["duration"] = "40s";
  doc["model"]["params"]["dispatch"] = {{"cells_x", 4},          {"cells_y", 4},
                                        {"drivers", drivers},    {"rider_interval", "50ms"},
                                        {"report_interval", "4s"}};
  doc["faults"] = Json::parse(R"([{"kind": "crash", "at": "10s", "target": "node:ringpop-3"}])");
  doc["expectations"] = Json::parse(R"([
    {"metric": "availability", "of": "riders", "window": ["2s", "10s"], "min": 0.95},
    {"metric": "latency_p99", "of": "riders", "window": ["2s", "10s"], "max": "10ms"},
    {"metric": "availability", "of": "riders", "window": ["25s", "end"], "min": 0.95},
    {"metric": "checker", "checker": "membership"}])");
  return doc;
}

}  // namespace

// The dispatch section through the scenario file: riders are a measure ("of": "riders"), matched
// at their cell's owner within the seed's 10 ms, and matched again once the crash of ringpop-3
// at 10 s has moved its cells and the drivers have reported to the new owners. With no drivers
// nobody is matched, and the rider expectations fail: the measure is the matching, not a count
// of requests.
TEST_CASE("ringpop binding: dispatch runs on the ring; riders are a measure", "[ringpop][binding]") {
  auto reg = testing::builtin_registry();
  auto run = [&](int drivers) {
    auto spec = ScenarioFile::parse(with_dispatch(drivers).dump(), "s.json").resolve("base", {}, reg);
    return run_scenario(spec, reg);
  };
  const auto with = run(200);
  REQUIRE(with.expectations.size() == 4);
  for (const auto& e : with.expectations) {
    INFO(e.description << " " << e.bound << " measured " << e.measured);
    CHECK(e.ok);
  }
  const auto without = run(0);
  REQUIRE(without.expectations.size() == 4);
  CHECK_FALSE(without.expectations[0].ok);
  CHECK_FALSE(without.expectations[2].ok);
  CHECK(without.expectations[3].ok);  // membership does not care
}

TEST_CASE("ringpop binding: dispatch mistakes name their path; riders need dispatch",
          "[ringpop][binding]") {
  Json doc = with_dispatch(200);
  doc["model"]["params"]["dispatch"]["move_percent"] = 120;
  doc["model"]["params"]["dispatch"]["cels_x"] = 4;
  const std::string e = error_of(doc);
  CHECK_THAT(e, Catch::Contains("/model/params/dispatch/move_percent"));
  CHECK_THAT(e, Catch::Contains("/model/params/dispatch/cels_x") &&
                    Catch::Contains("did you mean \"cells_x\""));
  doc = with_dispatch(200);
  doc["model"]["params"].erase("dispatch");
  CHECK_THAT(error_of(doc), Catch::Contains("riders"));
}

TEST_CASE("ringpop binding: a maps service for ETAs; its mistakes name their path",
          "[ringpop][binding][eta]") {
  Json doc = with_dispatch(200);
  doc["model"]["params"]["maps"] = Json::parse(R"({
    "tiers": [{"name": "maps", "instances": 2, "cores": 2}],
    "policy": {"timeout": {"timeout": "300ms"}}})");
  auto reg = testing::builtin_registry();
  const auto ok = run_scenario(ScenarioFile::parse(doc.dump(), "s.json").resolve("base", {}, reg), reg);
  bool saw_latency = false;
  for (const auto& e : ok.expectations) {
    INFO(e.description << " " << e.bound << " measured " << e.measured);
    if (e.description.find("latency") != std::string::npos) {
      // The ETA call (maps: 10 ms of CPU per request, queueing) is part of the match now, so
      // the ring-only 10 ms match bound no longer holds.
      saw_latency = true;
      CHECK_FALSE(e.ok);
    } else {
      CHECK(e.ok);
    }
  }
  CHECK(saw_latency);
  Json bad = doc;
  bad["model"]["params"]["maps"]["target"] = "mapz";
  CHECK_THAT(error_of(bad), Catch::Contains("/model/params/maps/target: no tier named \"mapz\""));
  bad = doc;
  bad["model"]["params"]["maps"]["policy"]["timeout"]["timout"] = "1s";
  CHECK_THAT(error_of(bad), Catch::Contains("/model/params/maps/policy/timeout/timout"));
  bad = doc;
  bad["model"]["params"]["dispatch"]["enabled"] = false;
  bad["expectations"] = Json::array();
  CHECK_THAT(error_of(bad), Catch::Contains("/model/params/maps") &&
                                Catch::Contains("needs \"dispatch\""));
}

// The Perfetto export shows each detection as a slice a person can find: "ringpop detection" on
// the failed member's track, from the first suspicion to every live member holding it faulty
// (and the declarations as instants). Without the detection records there is no such slice.
TEST_CASE("ringpop: a crash shows in the Perfetto trace as a detection slice", "[ringpop][binding]") {
  auto reg = testing::builtin_registry();
  auto spec = ScenarioFile::parse(small_ringpop().dump(), "s.json").resolve("base", {}, reg);
  faultline::report::PerfettoTraceSink perfetto("small / base");
  RunOptions options;
  options.sinks.push_back(&perfetto);
  const auto result = run_scenario(spec, reg, options);
  REQUIRE(result.expectations.size() == 1);
  CHECK(result.expectations[0].ok);
  std::ostringstream out;
  perfetto.write(out);
  const std::string trace = out.str();
  const auto slice = trace.find("\"name\":\"ringpop detection\"");
  REQUIRE(slice != std::string::npos);
  CHECK(trace.find("\"ph\":\"X\"", slice) < trace.find('}', slice));
  CHECK(trace.find("\"name\":\"ringpop declare\"") != std::string::npos);
}
