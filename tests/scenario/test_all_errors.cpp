// One `faultline validate` lists every bad value inside a model's params, not just the first:
// the binding's readers record each error, keep the default and read on (json_reader.hpp).
// Before they did, each file below reported only its first error.
#include "cli.hpp"
#include "scenario_fixtures.hpp"

#include <faultline/scenario/scenario.hpp>

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

using namespace faultline::scenario;
using faultline::scenario::testing::TempDir;
using faultline::scenario::testing::test_registry;

namespace {

int validate(const std::string& path, std::string& err) {
  auto registry = test_registry();
  std::ostringstream o;
  std::ostringstream e;
  int code = faultline::cli::run_cli({"validate", path}, registry, o, e, {});
  err = e.str();
  return code;
}

const std::string kSource = FAULTLINE_SOURCE_DIR;

struct Planted {
  const char* pointer;  // a key inside /model/params
  Json value;           // a bad value for it
  const char* message;  // part of its error
};

struct Case {
  const char* file;  // a shipped scenario of the model
  std::vector<Planted> bad;
};

std::vector<Case> cases() {
  return {
      {"backoff-jitter-contention.json",
       {{"/model/params/clients", 0, "between 1 and 10000"},
        {"/model/params/trials", "many", "expected an integer"},
        {"/model/params/net_delay_mean", "5 ms", "is not a duration"},
        {"/model/params/clientz", 3, "did you mean \"clients\"?"}}},
      {"dynamodb-2015-retry-storm.json",
       {{"/model/params/metadata/instances", 0, "between 1 and 10000"},
        {"/model/params/metadata/cores", "two", "expected an integer"},
        {"/model/params/storage/replication", 99, "between 1 and 16"},
        {"/model/params/routers", -1, "between 1 and 10000"}}},
      {"metastable-retry-storm.json",
       {{"/model/params/sample_interval", "soon", "is not a duration"},
        {"/model/params/tiers/0/instances", 0, "out of range"},
        {"/model/params/tiers/0/cores", 1.5, "not a whole number"},
        {"/model/params/clients/0/processes", -2, "out of range"}}},
      {"dynamo-shopping-cart-partition.json",
       {{"/model/params/nodes", 0, "out of range"},
        {"/model/params/anti_entropy_interval", 10, "not a duration"},
        {"/model/params/reconcile", "merge", "not a valid choice"}}},
      {"spanner-leader-hard-kill.json",
       {{"/model/params/replicas", 0, "out of range"},
        {"/model/params/lease", "long", "not a duration"},
        {"/model/params/workload/think_time", 5, "not a duration"}}},
      {"ringpop-partition-heal.json",
       {{"/model/params/members", 0, "out of range"},
        {"/model/params/zones", "zone-a", "expected an array"},
        {"/model/params/membrs", 3, "unknown key"}}},
  };
}

}  // namespace

TEST_CASE("errors: every bad value inside one model's params is reported in one pass",
          "[scenario][errors]") {
  TempDir dir("all-errors");
  for (const auto& c : cases()) {
    DYNAMIC_SECTION(c.file) {
      std::ifstream in(kSource + "/scenarios/" + c.file);
      Json doc = Json::parse(in);
      for (const auto& b : c.bad) {
        doc[Json::json_pointer(b.pointer)] = b.value;
      }
      const std::string path = dir.write(c.file, doc.dump(2));
      std::string err;
      CHECK(validate(path, err) == 2);
      INFO(err);
      for (const auto& b : c.bad) {
        // Each error on its own line: file, pointer, problem and fix.
        const std::string head = path + ": " + b.pointer + ": ";
        const auto at = err.find(head);
        CHECK(at != std::string::npos);
        if (at != std::string::npos) {
          const auto line = err.substr(at, err.find('\n', at) - at);
          CHECK(line.find(b.message) != std::string::npos);
        }
      }
    }
  }
}
