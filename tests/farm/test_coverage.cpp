// Fault coverage and code probes: what fired on which target, which probes a run reached, and
// the probes a sweep never reached.
#include "cli_fixture.hpp"
#include "coverage.hpp"

#include <faultline/probe.hpp>
#include <faultline/scenario/registry.hpp>
#include <faultline/simulation.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;
using namespace faultline;

namespace {

const ProbePoint kReached("farmtest/reached");
const ProbePoint kNeverReached("farmtest/never-reached");

faultline::testing::CliOutcome faultline_cli(const std::vector<std::string>& args) {
  static const scenario::ModelRegistry registry = [] {
    scenario::ModelRegistry r;
    scenario::register_builtin_models(r);
    return r;
  }();
  return faultline::testing::run_cli_captured(args, registry);
}

std::uint64_t trace_hash_with_hits(int hits) {
  Simulation sim({.seed = 9});
  for (int i = 0; i < 3; ++i) {
    sim.schedule_at(Time::zero() + Duration::millis(i), [&sim, i, hits] {
      sim.record("test", "tick", {{"i", i}});
      if (i < hits) {
        FAULTLINE_PROBE(sim, kReached);
      }
    });
  }
  sim.run();
  const auto* c = sim.metrics().find_counter("probe/farmtest/reached");
  REQUIRE((c != nullptr ? c->value() : 0) == static_cast<std::uint64_t>(hits));
  return sim.trace().hash();
}

}  // namespace

TEST_CASE("probes: registered before any run, counted per run, invisible to the trace",
          "[farm][probe]") {
  const auto all = registered_probes();
  CHECK(std::is_sorted(all.begin(), all.end()));
  CHECK(std::count(all.begin(), all.end(), "farmtest/reached") == 1);
  CHECK(std::count(all.begin(), all.end(), "farmtest/never-reached") == 1);
  // The models' recovery paths are marked.
  for (const char* name : {"spanner/paxos/leader-change", "spanner/placement/move-resumed",
                           "dynamo/hinted-handoff/replayed", "dynamodb/storage/re-replication",
                           "stripe/ledger/standby-promoted", "stripe/completer/finished-abandoned-key",
                           "ringpop/swim/suspicion-refuted", "ringpop/swim/partition-healed"}) {
    INFO(name);
    CHECK(std::count(all.begin(), all.end(), name) == 1);
  }
  // Counting does not touch the trace: the same hash with and without hits.
  CHECK(trace_hash_with_hits(0) == trace_hash_with_hits(3));
}

TEST_CASE("coverage: a sweep tallies faults and probes across seeds and names the probes no "
          "seed reached",
          "[farm][probe]") {
  scenario::RunResult a;
  a.faults_fired = {{"crash node:n1", 1}, {"restart node:n1", 1}};
  a.probes = {{"farmtest/reached", 2}};
  scenario::RunResult b;
  b.faults_fired = {{"crash node:n1", 2}};
  const auto text = cli::sweep_coverage({&a, &b}, "farmtest", false);
  CHECK(text.find("faults fired: crash node:n1 ×3 in 2/2 seeds, restart node:n1 ×1 in 1/2 seeds")
        != std::string::npos);
  CHECK(text.find("probes reached: farmtest/reached ×2 in 1/2 seeds") != std::string::npos);
  CHECK(text.find("probes no seed reached: farmtest/never-reached\n") != std::string::npos);
  // Quiet: only what no seed reached.
  CHECK(cli::sweep_coverage({&a, &b}, "farmtest", true) ==
        "  probes no seed reached: farmtest/never-reached\n");
}

TEST_CASE("coverage: run --json counts each fault per target and the probes a real model "
          "reached",
          "[farm][probe]") {
  const fs::path dir = fs::path(FAULTLINE_BINARY_DIR) / "coverage";
  fs::create_directories(dir);
  const auto json = (dir / "planted.json").string();
  faultline_cli({"run", FAULTLINE_SOURCE_DIR "/tests/farm/fixtures/planted-crash.json",
                 "--seed", "3", "--quiet", "--json", json});
  std::ifstream in(json);
  const auto results = nlohmann::json::parse(in);
  const auto& fired = results["runs"][0]["faults_fired"];
  CHECK(fired["crash node:api-0"] == 1);
  CHECK_FALSE(fired.contains("restart node:api-0"));  // the crash's undo is not a fault
  CHECK(fired["latency node:api-1"] == 1);
  // The random latency fault, once per victim it picked (seed 3: api-0 and api-3), besides
  // the scheduled one on api-3.
  CHECK(fired["latency node:api-0"] == 1);
  CHECK(fired["latency node:api-3"] == 2);
  CHECK(results["runs"][0]["probes"].empty());  // the services model marks none

  // A Paxos leader is killed: the new leader's election is a probe reached.
  const auto spanner = (dir / "spanner.json").string();
  faultline_cli({"run", FAULTLINE_SOURCE_DIR "/scenarios/spanner-leader-hard-kill.json",
                 "--variant", "base", "--quiet", "--json", spanner});
  std::ifstream in2(spanner);
  const auto r2 = nlohmann::json::parse(in2);
  CHECK(r2["runs"][0]["probes"].value("spanner/paxos/leader-change", 0) > 0);
}
