// The bytes an MPI sweep's ranks send to rank 0 decode to the very result that was run.
#include "run_result_codec.hpp"
#include "sweep_cluster.hpp"

#include <faultline/report/json_results.hpp>
#include <faultline/scenario/registry.hpp>
#include <faultline/scenario/runner.hpp>
#include <faultline/scenario/scenario.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

using namespace faultline;

TEST_CASE("sweep codec: a real run survives encoding exactly", "[farm][codec]") {
  scenario::ModelRegistry registry;
  scenario::register_builtin_models(registry);
  auto file =
      scenario::ScenarioFile::load(FAULTLINE_SOURCE_DIR "/scenarios/ringpop-cpu-starvation.json");
  auto spec = file.resolve("base", {}, registry);
  cli::SweepTask task;
  task.spec = &spec;
  task.seed = 7;
  cli::run_sweep_task(task, registry);
  REQUIRE(task.result);
  REQUIRE_FALSE(task.result->series.empty());
  REQUIRE_FALSE(task.result->expectations.empty());
  const auto decoded = cli::decode_run_result(cli::encode_run_result(*task.result));
  CHECK(decoded.trace_hash == task.result->trace_hash);
  CHECK(decoded.series.size() == task.result->series.size());
  // The JSON results (every field the reports read) are the same text.
  CHECK(report::run_to_json(decoded, {}).dump() == report::run_to_json(*task.result, {}).dump());
}

TEST_CASE("sweep codec: NaN, extreme integers and evidence keep their bits", "[farm][codec]") {
  scenario::RunResult run;
  run.seed = std::numeric_limits<std::uint64_t>::max();
  run.trace_hash = 0x8000000000000001ULL;
  run.key.retry_amplification = std::numeric_limits<double>::quiet_NaN();
  run.key.availability = 0.1 + 0.2;  // not representable in fewer bits
  run.key.latency_p99 = Duration::nanos(-3);
  run.expectations.push_back({"n", "d", ">= 1", "0.5", 0.5, "op 1\nop 2", false});
  run.faults_fired = {{"crash node:n1", 2}};
  run.probes = {{"spanner/paxos/leader-change", 5}};
  const auto back = cli::decode_run_result(cli::encode_run_result(run));
  CHECK(back.seed == run.seed);
  CHECK(back.trace_hash == run.trace_hash);
  CHECK(std::isnan(back.key.retry_amplification));
  CHECK(back.key.availability == run.key.availability);
  CHECK(back.key.latency_p99.ns() == -3);
  REQUIRE(back.expectations.size() == 1);
  CHECK(back.expectations[0].evidence == "op 1\nop 2");
  CHECK_FALSE(back.ok());
  CHECK(back.faults_fired == run.faults_fired);
  CHECK(back.probes == run.probes);
}

TEST_CASE("sweep codec: bytes that are not a result are rejected", "[farm][codec]") {
  CHECK_THROWS_AS(cli::decode_run_result({0x01, 0x02}), std::runtime_error);
  CHECK_THROWS_AS(cli::decode_run_result({}), std::runtime_error);
}

TEST_CASE("sweep tasks: variants in order, then seeds, inclusive of the largest seed",
          "[farm]") {
  std::vector<scenario::ScenarioSpec> specs(2);
  const auto max = std::numeric_limits<std::uint64_t>::max();
  auto tasks = cli::sweep_tasks(specs, max - 1, max);
  REQUIRE(tasks.size() == 4);
  CHECK(tasks[0].spec == &specs[0]);
  CHECK(tasks[1].seed == max);
  CHECK(tasks[2].spec == &specs[1]);
  CHECK(tasks[2].seed == max - 1);
}
