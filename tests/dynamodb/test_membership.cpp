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
  // The metadata hosts' CPUs stall for a minute: every check-in waits longer than the 1 s
  // timeout (keepalives are answered by the session layer, so nodes find out at their own
  // check-ins, every 10-30 s).
  world.faults().schedule(fault(60_s, FaultKind::kCpuStall, "metadata", "", 60_s, 60_s));
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

TEST_CASE("session: a node cut off from the metadata service probes the network instead of "
          "re-sending check-ins, and checks in within a second or two of the heal",
          "[dynamodb][membership]") {
  Simulation sim({.seed = 7});
  world::World world(sim);
  auto p = small_fleet(0);
  p.zones = {"z"};
  p.storage.replication = 1;
  p.storage.checkin_interval = 20_s;
  p.storage.checkin_timeout = 1_s;
  DynamoDbCluster cluster(p);
  cluster.build(world);
  world.faults().schedule(fault(60_s, FaultKind::kPartition, "storage/z", "metadata", 120_s));
  auto checkins = [&] { return sim.metrics().counter("dynamodb/storage/checkins").value(); };
  sim.run_until(Time::zero() + 60_s);
  const auto before = checkins();
  sim.run_until(Time::zero() + 180_s);
  const auto during = checkins() - before;
  // Each of the 10 nodes sends at most the check-in that found the network gone (a periodic
  // one, or the one its failed keepalive called for); retrying every second and a half would
  // have sent ~80 each.
  INFO("check-ins during the 2-minute partition: " << during);
  CHECK(during <= 20);
  // Every node did notice (all of them check in again after the heal), within two seconds.
  sim.run_until(Time::zero() + 182_s);
  CHECK(checkins() - before - during >= 10);
  sim.run_until(Time::zero() + 190_s);
  CHECK(cluster.storage_in_service() == cluster.storage_nodes());
}

namespace {

/// The storm scenario's fleet (scenarios/dynamodb-2015-retry-storm.json), in C++.
DynamoDbParams storm_fleet() {
  DynamoDbParams p;
  p.tables = {table("customer", 60, 30, 3)};
  p.metadata.instances = 14;
  use_2015_storm_calibration(p);
  p.storage.nodes_per_zone = 60;
  p.customers = {customers(5, "customer")};
  p.sample_interval = 1_min;
  return p;
}

struct StormRun {
  double errors_before = 0, errors_storm = 0, in_service_storm = 0;
  int out_at_25min = 0, out_at_end = 0;  // storage nodes out of service
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
  sim.run_until(Time::zero() + 25_min);
  out.out_at_25min = cluster.storage_nodes() - cluster.storage_in_service();
  sim.run_until(Time::zero() + 40_min);
  auto [ok1, bad1] = counts();
  sim.run_until(Time::zero() + until);
  auto [ok2, bad2] = counts();
  out.errors_storm = static_cast<double>(bad2 - bad1) / static_cast<double>(ok2 - ok1 + bad2 - bad1);
  out.in_service_storm = cluster.storage_in_service_fraction();
  out.out_at_end = cluster.storage_nodes() - cluster.storage_in_service();
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

TEST_CASE("storm: nodes behind a stuck metadata host find out at their own next check-in, so "
          "the climb spreads over a check-in interval; queued keepalives would end it in minutes",
          "[dynamodb][storm]") {
  // The keepalive is answered by the host's session layer, so a node behind a host that
  // tipped at ~21 min stays in service until one of its own check-ins times out: zone a's
  // nodes at once (their check-in after the heal), the others at their next periodic one,
  // 5-15 min later. Were keepalives queued behind the check-ins, every node behind a stuck
  // host would find out within one keepalive interval (30 s) plus its 10 s timeout.
  const StormRun gradual = run_storm(storm_fleet(), 1, 60_min);
  auto queued_params = storm_fleet();
  queued_params.metadata.keepalives_queued = true;
  const StormRun queued = run_storm(queued_params, 1, 60_min);
  INFO("out at 25 min " << gradual.out_at_25min << " of " << gradual.out_at_end
       << "; with queued keepalives " << queued.out_at_25min << " of " << queued.out_at_end);
  CHECK(gradual.out_at_end > 40);
  CHECK(gradual.out_at_25min * 4 < gradual.out_at_end * 3);
  CHECK(queued.out_at_end > 40);
  CHECK(queued.out_at_25min * 10 >= queued.out_at_end * 9);
}

TEST_CASE("storm: the plateau's height is a property of the fleet, not of the seed",
          "[dynamodb][storm]") {
  // With 6 metadata hosts the plateau was 33 % or 50 % depending on whether two or three
  // hosts tipped (issue #8). With 14 hosts of ~13 nodes, a host tips when five or more of its
  // nodes are in the burst; it must stay in the band the postmortem gives (~55 %) on every
  // seed. A host with four in the burst tips too when a periodic check-in lands in it (about
  // one seed in ten), so seeds may differ by one host's share (~12 points), not more.
  double lo = 1.0;
  double hi = 0.0;
  for (std::uint64_t seed : {2, 3, 4, 6, 13}) {
    const StormRun r = run_storm(storm_fleet(), seed, 90_min);
    INFO("seed " << seed << " errors " << r.errors_storm);
    CHECK(r.errors_storm > 0.4);
    CHECK(r.errors_storm < 0.7);
    lo = std::min(lo, r.errors_storm);
    hi = std::max(hi, r.errors_storm);
  }
  CHECK(hi - lo < 0.15);
}

namespace {

/// Six hours of the storm fleet with no disruption: no metadata host tips. Three periodic
/// check-ins can meet on a host now and then (about once a run); the third in line times out,
/// its node leaves service and is back with its retry half a second later. A host that tipped
/// would keep its ~13 nodes out for the rest of the run, in every one-minute sample.
void quiet_fleet(std::uint64_t seed) {
  Simulation sim({.seed = seed});
  world::World world(sim);
  DynamoDbCluster cluster(storm_fleet());
  cluster.build(world);
  sim.run_until(Time::zero() + 6_h);
  const auto* evictions = sim.metrics().find_counter("dynamodb/storage/self_evictions");
  const std::uint64_t evicted = evictions != nullptr ? evictions->value() : 0;
  INFO("seed " << seed << ", self-evictions " << evicted);
  CHECK(evicted <= 5);
  double lowest = 1.0;
  for (const auto& sample : sim.metrics().find_series("dynamodb/storage/in_service")->samples()) {
    lowest = std::min(lowest, sample.value);
  }
  CHECK(lowest * cluster.storage_nodes() >= cluster.storage_nodes() - 2);
  CHECK(cluster.storage_in_service() == cluster.storage_nodes());
  CHECK(error_ratio(sim, "customers") == 0.0);
  // The periodic check-ins did happen (10 min jittered: ~36 per node in 6 h).
  CHECK(sim.metrics().find_counter("dynamodb/metadata/served")->value() > 5000);
}

}  // namespace

TEST_CASE("storm: without a disruption no metadata host tips and every node stays in "
          "service for 6 hours",
          "[dynamodb][storm]") {
  // A check-in takes 2.4 s of the 6 s allowed (S/T = 0.4): a host answers two that meet in
  // time, and tips only when five arrive together; periodic check-ins (one per ~2 min per
  // host) never do.
  for (std::uint64_t seed : {1, 2, 3}) {
    quiet_fleet(seed);
  }
}

TEST_CASE("storm: without a disruption no host tips on seeds 1-20", "[dynamodb][storm][.slow]") {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    quiet_fleet(seed);
  }
}

TEST_CASE("rejoin: a node back from time out verifies and re-replicates before it serves, "
          "partition by partition, for longer the longer it was out",
          "[dynamodb][membership]") {
  // All metadata CPUs stall for `out`: every node times out its check-in and leaves. When
  // the stall ends each gets its membership at once (a small, fast service), then catches up:
  // 30 partitions, each missing out x 100 kB/s, streamed at 1 MB/s: 3 x out per node at the
  // least, more where peers are shared.
  auto recovery = [](Duration out, bool catch_up) {
    Simulation sim({.seed = 5});
    world::World world(sim);
    auto p = small_fleet(0);
    p.storage.checkin_interval = 20_s;
    p.storage.checkin_timeout = 1_s;
    if (catch_up) {
      p.storage.verify_per_entry = 100_ms;
      p.storage.replica_write_bytes_per_s = 100'000;
      p.storage.rereplication_bytes_per_s = 1'000'000;
    }
    DynamoDbCluster cluster(p);
    cluster.build(world);
    world.faults().schedule(fault(60_s, FaultKind::kCpuStall, "metadata", "", out, out));
    sim.run_until(Time::zero() + 60_s + out);
    CHECK(cluster.storage_in_service() == 0);
    struct Result {
      Duration all_back = Duration::zero();
      bool partial_seen = false;  // some partitions served again, not all
    } res;
    const Time stall_end = sim.now();
    for (int step = 0; step < 2000; ++step) {
      sim.run_until(sim.now() + 5_s);
      const double down = cluster.partitions_unavailable_fraction();
      res.partial_seen = res.partial_seen || (down > 0.0 && down < 1.0 && cluster.storage_in_service() == 0);
      if (cluster.storage_in_service() == cluster.storage_nodes()) {
        res.all_back = sim.now() - stall_end;
        break;
      }
    }
    return res;
  };
  const auto plain = recovery(60_s, false);
  CHECK(plain.all_back > Duration::zero());
  CHECK(plain.all_back <= 30_s);
  const auto short_out = recovery(60_s, true);
  const auto long_out = recovery(180_s, true);
  INFO("back after " << short_out.all_back.to_seconds() << " s and " << long_out.all_back.to_seconds() << " s");
  // Nodes leave within 30 s of the stall's start (a check-in interval), so each was out for
  // at least the stall less 30 s: 30 partitions x (30 s x 0.1) = 90 s at the least, and
  // 30 x (150 s x 0.1) = 450 s after the long stall.
  CHECK(short_out.all_back >= 90_s);
  CHECK(long_out.all_back >= 450_s);
  CHECK(long_out.all_back > short_out.all_back * 2);
  // Partitions come back one by one while their nodes are still catching up.
  CHECK(short_out.partial_seen);
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
