// The "cadence" scenario binding: JSON onto CadenceParams, mistakes reported at their JSON path
// with a fix, and a small scenario that runs, measures and checks.
#include "binding_fixtures.hpp"

#include <faultline/scenario/registry.hpp>
#include <faultline/scenario/runner.hpp>
#include <faultline/scenario/scenario.hpp>

#include <catch2/catch.hpp>

using namespace faultline;
using namespace faultline::scenario;

namespace {

Json small_cadence() {
  return Json::parse(R"({
    "format_version": 1, "name": "small", "duration": "1h30m",
    "model": {"name": "cadence", "params": {
      "riders": {"trips_per_s": 0.1, "stop_at": "20m"}}},
    "faults": [{"kind": "crash", "at": "10m", "target": "node:history-1", "for": "1m"},
               {"kind": "crash", "at": "12m", "target": "node:worker-0", "for": "1m"}],
    "expectations": [
      {"metric": "probe_mean", "probe": "open_workflows", "window": ["85m", "end"], "max": 0},
      {"metric": "probe_mean", "probe": "double_charges", "window": ["85m", "end"], "max": 0},
      {"metric": "checker", "checker": "workflows-end"},
      {"metric": "checker", "checker": "timers-fire"},
      {"metric": "checker", "checker": "exactly-once"}]
  })");
}

std::string error_of(const Json& doc) { return testing::resolve_error(doc); }

}  // namespace

TEST_CASE("cadence binding: a small cluster with a history-host crash runs and its checkers pass",
          "[cadence][binding]") {
  auto reg = testing::builtin_registry();
  auto spec = ScenarioFile::parse(small_cadence().dump(), "s.json").resolve("base", {}, reg);
  auto result = run_scenario(spec, reg);
  for (const auto& e : result.expectations) {
    INFO(e.description << " " << e.bound << " measured " << e.measured);
    CHECK(e.ok);
  }
  CHECK(result.key.requests > 80);
}

TEST_CASE("cadence binding: mistakes name their JSON path and the fix", "[cadence][binding]") {
  auto doc = small_cadence();
  doc["model"]["params"]["history"] = {{"persistance", "fsync"}};
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/history/persistance") &&
                                Catch::Contains("did you mean \"persistence\""));

  doc = small_cadence();
  doc["model"]["params"]["history"] = {{"persistence", "disk"}};
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/history/persistence") &&
                                Catch::Contains("ack_then_sync"));

  doc = small_cadence();
  doc["model"]["params"]["trip"] = {{"payment", {{"retry", {{"base", "10s"}, {"cap", "1s"}}}}}};
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/trip/payment/retry/cap"));

  doc = small_cadence();
  doc["model"]["params"]["riders"]["stop_at"] = "80m";
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/riders/stop_at") &&
                                Catch::Contains("leaves too little time"));

  doc = small_cadence();
  doc["faults"][0]["target"] = "group:histroy";
  CHECK_THAT(error_of(doc), Catch::Contains("/faults/0/target"));
}

// The riders' trip rate goes through the shared bench-scale check (check_request_count), so the
// error names the key and the largest rate that fits, as every other binding's rate does.
TEST_CASE("cadence binding: a trip rate too large for one run is refused at riders.trips_per_s",
          "[cadence][binding]") {
  auto doc = small_cadence();
  doc["duration"] = "3h";
  doc["model"]["params"]["riders"] = {{"trips_per_s", 10000}, {"stop_at", "0s"}};
  const std::string e = error_of(doc);
  CHECK_THAT(e, Catch::Contains("/model/params/riders/trips_per_s") &&
                    Catch::Contains("one client may issue") &&
                    Catch::Contains("lower the rate to at most"));

  // Within the limit when new trips stop early enough: stop_at bounds the count, not duration.
  doc["model"]["params"]["riders"]["stop_at"] = "1h";
  CHECK_THAT(error_of(doc), !Catch::Contains("one client may issue"));
}
