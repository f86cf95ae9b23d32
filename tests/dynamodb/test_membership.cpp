// The storage nodes, their memberships and the metadata service: membership size grows with
// the partitions and GSIs a node holds; a check-in that overruns its timeout takes the node out
// of service (unless it keeps serving on its last-known membership); the 2015 storm is
// metastable in the C++ API as in scenarios/dynamodb-2015-retry-storm.json; runs are
// deterministic.
#include <faultline/determinism.hpp>
#include <faultline/sim/dynamodb/cluster.hpp>
#include <faultline/world/world.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <numeric>

using namespace faultline;
using namespace faultline::literals;
using namespace faultline::sim::dynamodb;
using faultline::world::FaultKind;
using faultline::world::TargetKind;

namespace {

TableParams table(std::string name, int count, int partitions, int gsis) {
  TableParams t;
  t.name = std::move(name);
  t.count = count;
  t.partitions = partitions;
  t.gsis = gsis;
  return t;
}

CustomerParams customers(double rate_per_s, std::string table_name) {
  CustomerParams c;
  c.rate_per_s = rate_per_s;
  c.table = std::move(table_name);
  return c;
}

world::FaultSpec fault(Duration at, FaultKind kind, std::string target, std::string peer,
                       Duration duration, Duration amount = Duration::zero()) {
  world::FaultSpec f;
  f.at = at;
  f.kind = kind;
  f.target = {TargetKind::kGroup, std::move(target)};
  if (!peer.empty()) {
    f.peer = {TargetKind::kGroup, std::move(peer)};
  }
  f.duration = duration;
  f.amount = amount;
  return f;
}

DynamoDbParams small_fleet(int gsis) {
  DynamoDbParams p;
  p.tables = {table("t", 10, 30, gsis)};
  p.storage.nodes_per_zone = 10;
  p.metadata.instances = 3;
  p.customers = {customers(20, "t")};
  return p;
}

int total_entries(const DynamoDbCluster& c) {
  int sum = 0;
  for (int i = 0; i < c.storage_nodes(); ++i) {
    sum += c.membership_entries(i);
  }
  return sum;
}

double error_ratio(const Simulation& sim, const std::string& client) {
  const auto n = client_metric_names(client);
  const double ok = static_cast<double>(sim.metrics().find_counter(n.successes)->value());
  const auto* f = sim.metrics().find_counter(n.failures);
  const double bad = f != nullptr ? static_cast<double>(f->value()) : 0.0;
  return bad / (ok + bad);
}

}  // namespace

TEST_CASE("membership: a node's membership has one entry per partition replica it holds, so "
          "GSIs multiply its size, its transfer bytes and the metadata CPU per check-in",
          "[dynamodb][membership]") {
  const DynamoDbCluster plain(small_fleet(0));
  const DynamoDbCluster indexed(small_fleet(3));
  // 10 tables x 30 partitions x 3 replicas; with 3 GSIs of 30 partitions each, 4x as many.
  CHECK(total_entries(plain) == 10 * 30 * 3);
  CHECK(total_entries(indexed) == 10 * 30 * 4 * 3);
  CHECK(plain.partitions().size() == 300);
  CHECK(indexed.partitions().size() == 1200);
  for (int i = 0; i < plain.storage_nodes(); ++i) {
    const int e = indexed.membership_entries(i);
    const auto& mp = indexed.params().metadata;
    CHECK(indexed.membership_bytes(i) == mp.response_base_bytes + static_cast<std::uint64_t>(e) * mp.bytes_per_entry);
    CHECK(indexed.checkin_cpu(i) == mp.cpu_base + mp.cpu_per_entry * e);
    // A fixed timeout does not grow with it ...
    CHECK(indexed.checkin_timeout(i) == indexed.params().storage.checkin_timeout);
  }
  // ... unless it is made to scale.
  auto scaled = small_fleet(3);
  scaled.storage.timeout_per_entry = 10_ms;
  const DynamoDbCluster s(scaled);
  CHECK(s.checkin_timeout(0) == scaled.storage.checkin_timeout + 10_ms * s.membership_entries(0));
  // Placement balances replicas over each zone's nodes: 1,200 partitions x 3 replicas over
  // 30 nodes is 120 entries each, so every node's check-in costs the same.
  for (int i = 0; i < indexed.storage_nodes(); ++i) {
    CHECK(indexed.membership_entries(i) == 120);
  }
  // Every replica of a partition is in a different zone.
  for (const auto& p : indexed.partitions()) {
    REQUIRE(p.replicas.size() == 3);
    CHECK(p.replicas[0] / 10 != p.replicas[1] / 10);
    CHECK(p.replicas[1] / 10 != p.replicas[2] / 10);
    CHECK(p.replicas[0] / 10 != p.replicas[2] / 10);
  }
}

TEST_CASE("membership: a check-in that overruns its timeout takes the node out of service; "
          "with static stability it keeps serving",
          "[dynamodb][membership]") {
  const bool evict = GENERATE(true, false);
  Simulation sim({.seed = 3});
  world::World world(sim);
  auto p = small_fleet(0);
  p.storage.checkin_interval = 20_s;
  p.storage.checkin_timeout = 1_s;
  p.storage.self_evict_on_timeout = evict;
  DynamoDbCluster cluster(p);
  cluster.build(world);
  // Every metadata reply is delayed by 2 s for a minute: longer than the 1 s timeout.
  world.faults().schedule(fault(60_s, FaultKind::kLatency, "metadata", "", 60_s, 2_s));
  sim.run_until(Time::zero() + 59_s);
  CHECK(cluster.storage_in_service() == cluster.storage_nodes());
  CHECK(cluster.partitions_unavailable_fraction() == 0.0);
  sim.run_until(Time::zero() + 115_s);
  const auto* evictions = sim.metrics().find_counter("dynamodb/storage/self_evictions");
  if (evict) {
    // Each node checked in at least once in the minute (interval 10-30 s) and timed out.
    CHECK(cluster.storage_in_service() == 0);
    REQUIRE(evictions != nullptr);
    CHECK(evictions->value() == static_cast<std::uint64_t>(cluster.storage_nodes()));
    CHECK(cluster.partitions_unavailable_fraction() == 1.0);
  } else {
    CHECK(cluster.storage_in_service() == cluster.storage_nodes());
    CHECK((evictions == nullptr || evictions->value() == 0));
  }
  CHECK(sim.metrics().find_counter("dynamodb/storage/checkin_timeouts")->value() >= 30);
  // The metadata service is small and fast, so once the delay is gone every node rejoins.
  sim.run_until(Time::zero() + 180_s);
  CHECK(cluster.storage_in_service() == cluster.storage_nodes());
  CHECK(error_ratio(sim, "customers") > (evict ? 0.2 : -1.0));
}

namespace {

/// The storm scenario's fleet (scenarios/dynamodb-2015-retry-storm.json), in C++.
DynamoDbParams storm_fleet() {
  DynamoDbParams p;
  p.tables = {table("customer", 60, 30, 3)};
  p.metadata.instances = 28;
  p.metadata.cores = 1;
  p.metadata.cpu_per_entry = 20_ms;
  p.metadata.bytes_per_entry = 16384;
  p.storage.nodes_per_zone = 60;
  p.storage.checkin_interval = 30_min;
  p.storage.checkin_timeout = 3_s;
  p.customers = {customers(5, "customer")};
  p.sample_interval = 1_min;
  return p;
}

struct StormRun {
  double errors_before = 0, errors_storm = 0, in_service_storm = 0;
};

StormRun run_storm(DynamoDbParams p, std::uint64_t seed, Duration until) {
  Simulation sim({.seed = seed});
  world::World world(sim);
  DynamoDbCluster cluster(p);
  cluster.build(world);
  world.faults().schedule(
      fault(19_min, FaultKind::kPartition, "storage/us-east-1a", "metadata", 2_min));
  const auto n = client_metric_names("customers");
  auto counts = [&] {
    return std::pair{sim.metrics().counter(n.successes).value(), sim.metrics().counter(n.failures).value()};
  };
  StormRun out;
  sim.run_until(Time::zero() + 19_min);
  auto [ok0, bad0] = counts();
  out.errors_before = static_cast<double>(bad0) / static_cast<double>(ok0 + bad0);
  sim.run_until(Time::zero() + 40_min);
  auto [ok1, bad1] = counts();
  sim.run_until(Time::zero() + until);
  auto [ok2, bad2] = counts();
  out.errors_storm = static_cast<double>(bad2 - bad1) / static_cast<double>(ok2 - ok1 + bad2 - bad1);
  out.in_service_storm = cluster.storage_in_service_fraction();
  return out;
}

}  // namespace

TEST_CASE("storm: a brief disruption of one zone leaves the metadata service saturated and "
          "about half the customer requests failing long after it ends",
          "[dynamodb][storm]") {
  const StormRun r = run_storm(storm_fleet(), 1, 90_min);
  CHECK(r.errors_before < 0.01);
  CHECK(r.errors_storm > 0.4);
  CHECK(r.errors_storm < 0.7);
  CHECK(r.in_service_storm < 0.7);
}

TEST_CASE("storm: the plateau's height is a property of the fleet, not of the seed",
          "[dynamodb][storm]") {
  // With 6 metadata hosts the plateau was 33 % or 50 % depending on whether two or three
  // hosts tipped (issue #8). With 28 hosts and balanced memberships it must stay in the band
  // the postmortem gives (~55 %) on every seed, within a few points of the others.
  double lo = 1.0;
  double hi = 0.0;
  for (std::uint64_t seed : {2, 3, 4, 6}) {
    const StormRun r = run_storm(storm_fleet(), seed, 90_min);
    INFO("seed " << seed << " errors " << r.errors_storm);
    CHECK(r.errors_storm > 0.4);
    CHECK(r.errors_storm < 0.7);
    lo = std::min(lo, r.errors_storm);
    hi = std::max(hi, r.errors_storm);
  }
  CHECK(hi - lo < 0.1);
}

TEST_CASE("storm: without a disruption the fleet stays in service for hours",
          "[dynamodb][storm]") {
  // The calibrated fleet runs each check-in close to its timeout (2.4 s of 3 s), so normal
  // operation is fragile: two periodic check-ins that meet on one host, and a third during
  // the recovery, can tip that host by themselves (about one run in six over 3 h; seed 2
  // does). That must stay a small local failure, not the plateau: at most one host's nodes
  // (~7 of 180) out and customers essentially unaffected, where the storm takes ~100.
  for (std::uint64_t seed : {1, 2, 3}) {
    Simulation sim({.seed = seed});
    world::World world(sim);
    DynamoDbCluster cluster(storm_fleet());
    cluster.build(world);
    sim.run_until(Time::zero() + 3_h);
    INFO("seed " << seed);
    CHECK(cluster.storage_in_service() >= cluster.storage_nodes() - 12);
    CHECK(error_ratio(sim, "customers") < 0.01);
  }
}

TEST_CASE("storm: keeping the last-known membership (static stability) keeps customers served",
          "[dynamodb][storm]") {
  auto p = storm_fleet();
  p.storage.self_evict_on_timeout = false;
  const StormRun r = run_storm(p, 1, 90_min);
  CHECK(r.errors_storm < 0.01);
  CHECK(r.in_service_storm == 1.0);
}

TEST_CASE("storm: the same seed gives the same trace hash", "[dynamodb][determinism]") {
  auto body = [](Simulation& sim) {
    world::World world(sim);
    DynamoDbCluster cluster(storm_fleet());
    cluster.build(world);
    world.faults().schedule(
        fault(2_min, FaultKind::kPartition, "storage/us-east-1a", "metadata", 2_min));
    sim.run_until(Time::zero() + 10_min);
  };
  const auto report = check_determinism({.seed = 11}, body);
  INFO(report.describe());
  CHECK(report.deterministic);
  const auto other = check_determinism({.seed = 12}, body);
  CHECK(other.hash_first != report.hash_first);
}

TEST_CASE("params: bad DynamoDB params are refused with the field and the fix",
          "[dynamodb][params]") {
  auto p = small_fleet(0);
  p.storage.replication = 4;
  CHECK_THROWS_WITH(DynamoDbCluster(p), Catch::Contains("storage.replication") && Catch::Contains("zones"));
  auto q = small_fleet(0);
  q.metadata.cells = 5;
  CHECK_THROWS_WITH(DynamoDbCluster(q), Catch::Contains("metadata.cells"));
  auto r = small_fleet(0);
  r.customers[0].table = "nope";
  CHECK_THROWS_WITH(DynamoDbCluster(r), Catch::Contains("customers[0].table"));
}
