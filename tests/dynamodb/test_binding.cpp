// The "dynamodb" scenario binding: JSON onto DynamoDbParams, mistakes reported at their JSON
// path with a fix, and a small scenario that runs and measures customers and the queue service.
#include "binding_fixtures.hpp"

#include <faultline/scenario/registry.hpp>
#include <faultline/scenario/runner.hpp>
#include <faultline/scenario/scenario.hpp>

#include <catch2/catch.hpp>

#include <string>

using namespace faultline;
using namespace faultline::scenario;

namespace {

Json small_dynamodb() {
  return Json::parse(R"({
    "format_version": 1, "name": "small", "duration": "3m",
    "model": {"name": "dynamodb", "params": {
      "tables": [{"name": "t", "count": 2, "partitions": 6, "gsis": 1}],
      "metadata": {"instances": 2, "cores": 2},
      "storage": {"nodes_per_zone": 3, "checkin_interval": "30s", "checkin_timeout": "1s"},
      "customers": [{"name": "app", "rate_per_s": 40, "table": "t"}],
      "queue": {"enabled": true, "name": "sqs", "table": "t", "rate_per_s": 10}}},
    "faults": [{"kind": "crash", "at": "60s", "for": "60s", "target": "group:storage/us-east-1a"},
               {"kind": "crash", "at": "60s", "for": "60s", "target": "group:storage/us-east-1b"}],
    "observations": [{"name": "errors", "kind": "error_rate", "of": "app", "every": "10s"},
                     {"name": "in_service", "kind": "probe", "probe": "storage_in_service",
                      "every": "10s"}],
    "expectations": [
      {"metric": "error_rate", "of": "app", "window": ["0s", "60s"], "max": 0.001},
      {"metric": "error_rate", "of": "app", "window": ["70s", "120s"], "min": 0.99},
      {"metric": "error_rate", "of": "sqs-clients", "window": ["70s", "120s"], "min": 0.99},
      {"metric": "probe_mean", "probe": "storage_in_service", "window": ["70s", "120s"],
       "max": 0.34},
      {"metric": "error_rate", "of": "app", "window": ["150s", "3m"], "max": 0.001}]
  })");
}

ModelRegistry registry() { return faultline::scenario::testing::builtin_registry(); }

std::string error_of(const Json& doc) {
  return faultline::scenario::testing::resolve_error(doc, registry());
}

}  // namespace

TEST_CASE("dynamodb binding: a small cluster runs; losing two zones' storage nodes fails every "
          "request until they restart and check in again",
          "[dynamodb][binding]") {
  auto reg = registry();
  auto spec = ScenarioFile::parse(small_dynamodb().dump(), "s.json").resolve("base", {}, reg);
  auto result = run_scenario(spec, reg);
  for (const auto& e : result.expectations) {
    INFO(e.description << " " << e.bound << " measured " << e.measured);
    CHECK(e.ok);
  }
  CHECK(result.key.requests > 5000);
}

TEST_CASE("dynamodb binding: mistakes name their JSON path and the fix", "[dynamodb][binding]") {
  auto doc = small_dynamodb();
  doc["model"]["params"]["metadata"]["instancez"] = 3;
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/metadata/instancez") &&
                                Catch::Contains("did you mean \"instances\""));

  doc = small_dynamodb();
  doc["model"]["params"]["storage"]["checkin_timeout"] = 3;
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/storage/checkin_timeout"));

  doc = small_dynamodb();
  doc["model"]["params"]["tables"][0]["throughput"] = {{"mode", "ondemand"}};
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/tables/0/throughput/mode") &&
                                Catch::Contains("on_demand"));

  doc = small_dynamodb();
  doc["model"]["params"]["metadata"]["cells"] = 3;  // more cells than the 2 instances
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/metadata/cells"));

  doc = small_dynamodb();
  doc["model"]["params"]["customers"][0]["table"] = "orders";
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/customers/0/table") &&
                                Catch::Contains("no table named"));

  doc = small_dynamodb();
  doc["model"]["params"]["storage"]["replica_write_bytes_per_s"] = -1;
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/storage/replica_write_bytes_per_s"));

  doc = small_dynamodb();  // missed writes but no way to re-replicate them
  doc["model"]["params"]["storage"]["replica_write_bytes_per_s"] = 40000;
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/storage/rereplication_bytes_per_s") &&
                                Catch::Contains("give a rate"));

  doc = small_dynamodb();
  doc["faults"][0]["target"] = "group:storage/us-east-1x";
  CHECK_THAT(error_of(doc), Catch::Contains("/faults/0/target"));

  doc = small_dynamodb();
  doc["observations"][1]["probe"] = "storage_in_servce";
  CHECK_THAT(error_of(doc), Catch::Contains("storage_in_service"));
}
