// Every kind of bad input gives exit code 2 and a message naming the file, the JSON path and
// the fix, through the same `faultline validate` path a user takes.
#include "cli_fixture.hpp"
#include "scenario_fixtures.hpp"

#include <faultline/scenario/scenario.hpp>

#include <catch2/catch.hpp>

#include <functional>
#include <sstream>
#include <utility>

using namespace faultline::scenario;
using faultline::scenario::testing::kToyScenario;
using faultline::scenario::testing::TempDir;
using faultline::scenario::testing::test_registry;

namespace {

struct BadCase {
  const char* what;
  std::function<void(Json&)> mutate;
  const char* pointer;   // must appear in the message
  const char* message;   // must appear in the message
};

std::vector<BadCase> bad_cases() {
  return {
      {"a misspelt top-level key", [](Json& j) { j["durration"] = "1s"; }, ": /durration:",
       "did you mean \"duration\"?"},
      {"a misspelt model param", [](Json& j) { j["model"]["params"]["timout"] = "1s"; },
       ": /model/params/timout:", "did you mean \"timeout\"?"},
      {"a duration with a space", [](Json& j) { j["model"]["params"]["timeout"] = "25 0ms"; },
       ": /model/params/timeout:", "\"25 0ms\" is not a duration; use e.g. \"250ms\""},
      {"a duration given as a number", [](Json& j) { j["duration"] = 60; }, ": /duration:",
       "write a string with a unit"},
      {"a number given as a string",
       [](Json& j) { j["model"]["params"]["rate_per_s"] = "fast"; },
       ": /model/params/rate_per_s:", "expected a number"},
      {"an impossible value", [](Json& j) { j["model"]["params"]["max_attempts"] = 0; },
       ": /model/params/max_attempts:", "it must be between 1 and 100"},
      {"a fault after the end of the run", [](Json& j) { j["faults"][0]["at"] = "2h"; },
       ": /faults/0/at:", "at most 1m"},
      {"a window past the end of the run",
       [](Json& j) { j["expectations"][0]["window"] = {"20s", "2h"}; },
       ": /expectations/0/window:", "after the run ends"},
      {"an unknown metric", [](Json& j) { j["expectations"][1]["metric"] = "availabilty"; },
       ": /expectations/1/metric:", "did you mean \"availability\"?"},
      {"an expectation without a bound",
       [](Json& j) { j["expectations"][1].erase("min"); }, ": /expectations/1:",
       "needs a bound"},
      {"min above max", [](Json& j) { j["expectations"][1]["max"] = 0.5; },
       ": /expectations/1/min:", "min is greater than max"},
      {"an unknown variant in \"in\"", [](Json& j) { j["expectations"][0]["in"][0] = "bse"; },
       ": /expectations/0/in/0:", "did you mean \"base\"?"},
      {"an unobserved series", [](Json& j) { j["expectations"][4]["series"] = "avail"; },
       ": /expectations/4/series:", "is not an observed series"},
      {"an unknown measure scope", [](Json& j) { j["observations"][0]["of"] = "clinet"; },
       ": /observations/0/of:", "did you mean \"client\"?"},
      {"an unknown probe", [](Json& j) { j["observations"][2]["probe"] = "inflight"; },
       ": /observations/2/probe:", "did you mean \"in_flight\"?"},
      {"an unknown checker",
       [](Json& j) { j["expectations"][5]["checker"] = "always_okay"; },
       ": /expectations/5/checker:", "did you mean \"always_ok\"?"},
      {"an unknown model", [](Json& j) { j["model"]["name"] = "tyo"; }, ": /model/name:",
       "did you mean \"toy\"?"},
      {"a section the model does not read", [](Json& j) { j["workload"] = Json::object(); },
       ": /workload:", "does not read"},
      {"an unsupported format version", [](Json& j) { j["format_version"] = 2; },
       ": /format_version:", "format_version 1"},
      {"a bad epoch", [](Json& j) { j["epoch"] = "yesterday"; }, ": /epoch:",
       "ISO 8601"},
      {"a missing name", [](Json& j) { j.erase("name"); }, ": /:",
       "missing required key \"name\""},
      {"a misspelt required key",
       [](Json& j) {
         j["duraton"] = j["duration"];
         j.erase("duration");
       },
       ": /duraton:", "unknown key \"duraton\"; did you mean \"duration\"?"},
      {"a duplicated variant name", [](Json& j) { j["variants"][1]["name"] = "no-outage"; },
       ": /variants/1/name:", "is used twice"},
      {"a variant with neither patch nor overrides",
       [](Json& j) { j["variants"][1].erase("overrides"); }, ": /variants/1:",
       "exactly one of"},
      {"a bad duration inside a variant's overrides",
       [](Json& j) {
         j["variants"][1]["overrides"] = {{"model.params.timeout", "25 0ms"}};
       },
       ": /variants/1/overrides/model.params.timeout:",
       "\"25 0ms\" is not a duration; use e.g. \"250ms\""},
      {"an override through a misspelt key",
       [](Json& j) { j["variants"][1]["overrides"] = {{"model.parms.timeout", "1s"}}; },
       ": /variants/1/overrides/model.parms.timeout:", "did you mean \"params\"?"},
      {"a typo inside a merge-patch",
       [](Json& j) { j["variants"][0]["patch"] = {{"model", {{"params", {{"timout", "1s"}}}}}}; },
       ": /variants/0/patch/model/params/timout:", "did you mean \"timeout\"?"},
  };
}

int run(const std::vector<std::string>& args, std::string& out, std::string& err) {
  auto r = faultline::testing::run_cli_captured(args, test_registry());
  out = std::move(r.out);
  err = std::move(r.err);
  return r.code;
}

}  // namespace

TEST_CASE("errors: every bad input exits 2 naming the file, the JSON path and the fix",
          "[scenario][errors]") {
  TempDir dir("errors");
  for (const auto& c : bad_cases()) {
    DYNAMIC_SECTION(c.what) {
      Json doc = Json::parse(kToyScenario);
      c.mutate(doc);
      std::string path = dir.write("bad.json", doc.dump(2));
      std::string out;
      std::string err;
      CHECK(run({"validate", path}, out, err) == 2);
      INFO(err);
      CHECK(err.find(path + c.pointer) != std::string::npos);
      CHECK(err.find(c.message) != std::string::npos);
      // `run` refuses the same file before anything runs, and writes no result file.
      std::string json_out = dir.file("results.json");
      CHECK(run({"run", path, "--json", json_out}, out, err) == 2);
      CHECK_FALSE(std::filesystem::exists(json_out));
    }
  }
}

TEST_CASE("errors: a missing file, broken JSON and bad --set overrides exit 2",
          "[scenario][errors]") {
  TempDir dir("errors2");
  std::string out;
  std::string err;
  CHECK(run({"validate", dir.file("nope.json")}, out, err) == 2);
  CHECK(err.find("nope.json: /: cannot open the file") != std::string::npos);

  std::string broken = dir.write("broken.json", "{\n  \"name\": \"x\",\n}\n");
  CHECK(run({"validate", broken}, out, err) == 2);
  CHECK(err.find("line 3") != std::string::npos);
  CHECK(err.find("trailing commas") != std::string::npos);

  std::string good = dir.write("good.json", kToyScenario);
  CHECK(run({"run", good, "--set", "model.params.timeout=25 0ms"}, out, err) == 2);
  CHECK(err.find("--set model.params.timeout") != std::string::npos);
  CHECK(run({"run", good, "--set", "model.parms.x=1"}, out, err) == 2);
  CHECK(err.find("did you mean \"params\"?") != std::string::npos);
  CHECK(run({"run", good, "--variant", "retires"}, out, err) == 2);
  CHECK(err.find("did you mean \"retries\"?") != std::string::npos);
  CHECK(run({"run", good, "--sed", "3"}, out, err) == 2);
  CHECK(err.find("did you mean \"--seed\"?") != std::string::npos);
  CHECK(run({"run", good, "--seed", "-3"}, out, err) == 2);
  CHECK(run({"sweep", good, "--seeds", "9..1"}, out, err) == 2);
  CHECK(run({"run", good, "--json", dir.file("no/such/dir/out.json")}, out, err) == 2);
  CHECK(err.find("no/such/dir/out.json") != std::string::npos);
}
