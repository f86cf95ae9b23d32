// DynamoDB storm benchmark: the 2015 metadata retry storm at fleet scale. 1,002 storage nodes
// (3 zones x 334), 78 metadata hosts, 334 tables with 3 GSIs each (120 membership entries per
// node), customers at 28 requests/s; one zone loses the metadata service for 2 minutes at
// 19 min and the storm then runs, unpaused, until 6 h. The fleet is the scenario file's
// (scenarios/dynamodb-2015-retry-storm.json) scaled by 5.57, with the same ~12.9 storage nodes
// per metadata host, so its plateau is a second draw of the same layout rule.
//
// Reports wall-clock and process-CPU seconds for the whole 6 simulated hours, events, and the
// storm itself (customer error rate and storage nodes in service at the end), so a faster run
// that lost the storm is visible. Target (issue #8): under 60 s on the project machine.
//
// Usage: dynamodb_storm [--hours H] [--seed S]
// Wall-clock time is read here, outside the simulation, only to measure the simulator.
#include "bench_util.hpp"

#include <faultline/sim/dynamodb/cluster.hpp>
#include <faultline/world/world.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

using namespace faultline;
using namespace faultline::literals;
using namespace faultline::sim::dynamodb;

using faultline::bench::cpu_seconds;
using faultline::bench::median_by_cpu;
using faultline::bench::peak_rss_mib;

namespace {

DynamoDbParams fleet() {
  DynamoDbParams p;
  TableParams t;
  t.name = "customer";
  t.count = 334;
  t.partitions = 30;
  t.gsis = 3;
  p.tables = {t};
  p.metadata.instances = 78;
  use_2015_storm_calibration(p);
  p.storage.nodes_per_zone = 334;
  CustomerParams c;
  c.rate_per_s = 28;
  c.processes = 6;
  c.table = "customer";
  p.customers = {c};
  p.sample_interval = 1_min;
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  double hours = 6.0;
  std::uint64_t seed = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--hours") == 0 && i + 1 < argc) {
      hours = std::atof(argv[++i]);
    } else if (std::strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else {
      std::fprintf(stderr, "usage: dynamodb_storm [--hours H] [--seed S]\n");
      return 2;
    }
  }
  const auto wall0 = std::chrono::steady_clock::now();
  const double cpu0 = cpu_seconds();

  Simulation sim({.seed = seed});
  world::WorldParams wp;
  wp.host_defaults.clock.ntp_enabled = false;  // clocks play no part in this story
  world::World world(sim, wp);
  DynamoDbCluster cluster(fleet());
  cluster.build(world);
  world::FaultSpec f;
  f.at = 19_min;
  f.kind = world::FaultKind::kPartition;
  f.target = {world::TargetKind::kGroup, "storage/us-east-1a"};
  f.peer = {world::TargetKind::kGroup, "metadata"};
  f.duration = 2_min;
  world.faults().schedule(f);
  const double build_s = cpu_seconds() - cpu0;

  const auto names = client_metric_names("customers");
  auto counts = [&] {
    return std::pair{sim.metrics().counter(names.successes).value(),
                     sim.metrics().counter(names.failures).value()};
  };
  sim.run_until(Time::zero() + 1_h);
  const auto [ok1, bad1] = counts();
  sim.run_until(Time::zero() + Duration::from_seconds(hours * 3600.0));
  const auto [ok2, bad2] = counts();

  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  const double cpu = cpu_seconds() - cpu0;
  const double storm_errors =
      static_cast<double>(bad2 - bad1) / static_cast<double>(ok2 - ok1 + bad2 - bad1);
  std::printf("dynamodb_storm: %d storage nodes, %zu partitions, %.1f h simulated, seed %llu\n",
              cluster.storage_nodes(), cluster.partitions().size(), hours,
              static_cast<unsigned long long>(seed));
  std::printf("  wall %.2f s, process CPU %.2f s (build %.2f s), %llu events, %.0f ns CPU/event\n",
              wall, cpu, build_s, static_cast<unsigned long long>(sim.events_run()),
              cpu * 1e9 / static_cast<double>(sim.events_run()));
  std::printf("  storm: customer error rate 1h-%.0fh %.3f, storage nodes in service at end %.3f, "
              "metadata check-ins %llu\n",
              hours, storm_errors, cluster.storage_in_service_fraction(),
              static_cast<unsigned long long>(
                  sim.metrics().counter("dynamodb/metadata/checkins").value()));
  return 0;
}
