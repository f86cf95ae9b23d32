// The services binding maps JSON onto ServiceGraphParams and reports its mistakes at their
// JSON path; the Perfetto sink turns trace records into tracks, slices and instants.
#include "binding_fixtures.hpp"
#include "scenario_fixtures.hpp"

#include <faultline/report/perfetto.hpp>
#include <faultline/scenario/runner.hpp>
#include <faultline/scenario/scenario.hpp>

#include <catch2/catch.hpp>

#include <set>
#include <sstream>

using namespace faultline;
using namespace faultline::scenario;
using faultline::scenario::testing::test_registry;

namespace {

Json small_services() {
  return Json::parse(R"({
    "format_version": 1, "name": "small", "duration": "5s",
    "model": {"name": "services", "params": {
      "tiers": [{"name": "api", "instances": 2, "cores": 2,
                 "service_time": {"kind": "fixed", "mean": "2ms"}}],
      "clients": [{"name": "web", "target": "api", "rate_per_s": 200, "processes": 2,
                   "policy": {"timeout": {"timeout": "100ms"}, "retry": {"max_attempts": 2}}}]}},
    "faults": [{"kind": "crash", "at": "2s", "for": "1s", "target": "group:tier/api"}],
    "observations": [{"name": "availability", "of": "web", "every": "500ms"}],
    "expectations": [{"metric": "availability", "of": "web", "window": ["0s", "2s"], "min": 0.99},
                     {"metric": "availability", "of": "web", "window": ["2100ms", "3s"],
                      "max": 0.1}]
  })");
}

std::string error_of(const Json& doc) {
  return faultline::scenario::testing::resolve_error(doc, test_registry());
}

}  // namespace

TEST_CASE("services binding: a small graph runs and a whole-tier crash is measured",
          "[scenario][services]") {
  auto registry = test_registry();
  auto spec = ScenarioFile::parse(small_services().dump(), "s.json").resolve("base", {}, registry);
  auto result = run_scenario(spec, registry);
  for (const auto& e : result.expectations) {
    INFO(e.description << " " << e.bound << " measured " << e.measured);
    CHECK(e.ok);
  }
  CHECK(result.key.requests > 800);
}

TEST_CASE("services binding: mistakes in params and faults name their JSON path",
          "[scenario][services][errors]") {
  Json doc = small_services();
  doc["model"]["params"]["clients"][0]["policy"]["retry"]["jiter"] = "full";
  CHECK_THAT(error_of(doc), Catch::Contains("s.json: /model/params/clients/0/policy/retry/jiter: "
                                            "unknown key \"jiter\"; did you mean \"jitter\"?"));
  doc = small_services();
  doc["model"]["params"]["clients"][0]["policy"]["balancer"] = "round-robin";
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/clients/0/policy/balancer: "
                                            "\"round-robin\" is not a valid choice; did you mean "
                                            "\"round_robin\"?"));
  doc = small_services();
  doc["model"]["params"]["clients"][0]["target"] = "apii";
  CHECK_THAT(error_of(doc), Catch::Contains("s.json: /model/params/clients/0"));
  doc = small_services();
  doc["faults"][0]["target"] = "group:tier/apy";
  CHECK_THAT(error_of(doc), Catch::Contains("/faults/0/target: no node group \"tier/apy\" in this "
                                            "model; did you mean \"tier/api\"?"));
  doc = small_services();
  doc["faults"][0]["kind"] = "crsh";
  CHECK_THAT(error_of(doc), Catch::Contains("/faults/0/kind: unknown fault kind \"crsh\"; did you "
                                            "mean \"crash\"?"));
  doc = small_services();
  doc["model"]["params"]["tiers"][0]["cores"] = 0;
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/tiers/0/cores: 0 is out of range"));
  doc = small_services();
  doc["observations"][0]["of"] = "wbe";
  CHECK_THAT(error_of(doc), Catch::Contains("did you mean \"web\"?"));
}

TEST_CASE("services binding: host clocks and leap seconds are read, and mistakes named",
          "[scenario][services][errors]") {
  Json doc = small_services();
  doc["model"]["params"]["leap_seconds"] = Json::array({"2012-07-01T00:00:00Z"});
  doc["model"]["params"]["tiers"][0]["timed_wait_threads"] = 4;
  doc["model"]["params"]["tiers"][0]["cpu_slice"] = "3ms";
  doc["model"]["params"]["tiers"][0]["clock"] = Json::parse(
      R"({"leap_mode": "kernel-2012", "ntp_enabled": false, "smear": {"before": "1h"}})");
  CHECK(error_of(doc) == "no error");
  doc["model"]["params"]["tiers"][0]["clock"]["leap_mode"] = "kernel2012";
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/tiers/0/clock/leap_mode: "
                                            "\"kernel2012\" is not a valid choice; did you mean "
                                            "\"kernel-2012\"?"));
  doc = small_services();
  doc["model"]["params"]["tiers"][0]["clock"] = Json::parse(R"({"smear": {"befor": "1h"}})");
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/tiers/0/clock/smear/befor: unknown key"));
  doc = small_services();
  doc["model"]["params"]["leap_seconds"] = Json::array({"2012-06-30T23:59:60Z"});
  CHECK_THAT(error_of(doc), Catch::Contains("/model/params/leap_seconds/0: "
                                            "\"2012-06-30T23:59:60Z\" is not a UTC instant"));
}

TEST_CASE("services binding: a fault on a node that does not exist is bad input, not a crash",
          "[scenario][services][errors]") {
  Json doc = small_services();
  doc["faults"][0]["target"] = "node:api-9";
  auto registry = test_registry();
  auto spec = ScenarioFile::parse(doc.dump(), "s.json").resolve("base", {}, registry);
  try {
    run_scenario(spec, registry);
    FAIL("a fault on an unknown node was accepted");
  } catch (const ScenarioError& e) {
    CHECK_THAT(std::string(e.what()), Catch::Contains("s.json: /faults/0/target: "));
  }
}

TEST_CASE("perfetto: begin/end pairs become slices and faults global instants",
          "[scenario][report]") {
  Simulation sim;
  report::PerfettoTraceSink sink("test", 3);
  sim.trace().attach(&sink);
  sim.trace().record(Time::from_ns(1000), "rpc", "call.begin", {{"id", 7}, {"host", 2}});
  sim.trace().record(Time::from_ns(5000), "rpc", "call.end", {{"id", 7}, {"host", 2}});
  sim.trace().record(Time::from_ns(6000), "fault", "crash", {{"target", "host:h1"}});
  sim.trace().record(Time::from_ns(7000), "net", "deliver", {{"dst", 4}});
  sim.trace().detach(&sink);
  std::ostringstream out;
  sink.write(out);
  Json j = Json::parse(out.str());
  int slices = 0;
  int globals = 0;
  std::set<std::string> tracks;
  for (const auto& e : j["traceEvents"]) {
    CHECK(e["pid"] == 3);
    if (e["ph"] == "X") {
      ++slices;
      CHECK(e["name"] == "rpc call");
      CHECK(e["ts"].get<double>() == Approx(1.0));
      CHECK(e["dur"].get<double>() == Approx(4.0));
    }
    if (e["ph"] == "i" && e["s"] == "g") {
      ++globals;
    }
    if (e["name"] == "thread_name") {
      tracks.insert(e["args"]["name"].get<std::string>());
    }
  }
  CHECK(slices == 1);
  CHECK(globals == 1);
  CHECK(tracks == std::set<std::string>{"host/2", "fault", "node/4"});
}

TEST_CASE("perfetto: node tracks are all named node/<x>, whether a record names the node or "
          "addresses it",
          "[scenario][report]") {
  Simulation sim;
  report::PerfettoTraceSink sink("test", 1);
  sim.trace().attach(&sink);
  sim.trace().record(Time::from_ns(1000), "node", "start", {{"node", "api-0"}});
  sim.trace().record(Time::from_ns(2000), "rpc", "call",
                     {{"node", "api-0"}, {"to", 4}, {"latency_ns", 500}});
  sim.trace().record(Time::from_ns(3000), "net", "deliver", {{"src", 1}, {"dst", 4}});
  sim.trace().record(Time::from_ns(4000), "node", "pause", {{"node", 4}});
  sim.trace().detach(&sink);
  std::ostringstream out;
  sink.write(out);
  Json j = Json::parse(out.str());
  std::set<std::string> tracks;
  for (const auto& e : j["traceEvents"]) {
    if (e["name"] == "thread_name") {
      tracks.insert(e["args"]["name"].get<std::string>());
    }
  }
  // One track per node identity, every one with the same prefix: the node named in a record
  // and the receiver of a message never end up as "node api-0" beside "node/4".
  CHECK(tracks == std::set<std::string>{"node/api-0", "node/4"});
}
