#include <catch2/catch.hpp>

#include "dynamo_fixture.hpp"

#include <faultline/determinism.hpp>
#include <faultline/world/fault.hpp>

#include <algorithm>

using namespace faultline;
using namespace faultline::sim::dynamo;
using namespace faultline::sim::dynamo::testing;
using world::FaultKind;
using world::TargetKind;

namespace {
world::FaultSpec node_fault(FaultKind kind, Duration at, int node, Duration duration = {}) {
  world::FaultSpec f;
  f.at = at;
  f.kind = kind;
  f.target = {TargetKind::kNode, Cluster::node_name(node)};
  f.duration = duration;
  return f;
}

bool holds(const std::vector<Version>& vs, const std::string& item) {
  return std::any_of(vs.begin(), vs.end(), [&](const Version& v) { return has_item(v.items, item); });
}
}  // namespace

TEST_CASE("dynamo: with R + W > N and no failures every read sees the latest write",
          "[dynamo][quorum]") {
  const std::uint64_t seed = GENERATE(1u, 2u, 3u);
  const auto coordination = GENERATE(Coordination::kClient, Coordination::kServer);
  DynamoParams p = test_params(6);
  p.clients[0].coordination = coordination;
  p.read_repair = false;  // the quorum alone must do it
  p.anti_entropy_interval = Duration::zero();
  Run run(p, seed);
  int stale = 0;
  int checked = 0;
  auto body = [&](world::Node& c) -> Task<void> {
    for (int i = 0; i < 40; ++i) {
      const std::string key = "k" + std::to_string(i % 5);
      GetResult before = co_await run.cluster->get(c, key);
      Reconciled rec = reconcile(before.versions, Reconcile::kUnion);
      const std::string item = "v" + std::to_string(i);
      std::vector<std::string> items{item};
      const bool ok = co_await run.cluster->put(c, key, rec.context, items);
      if (!ok) {
        continue;
      }
      GetResult after = co_await run.cluster->get(c, key);
      ++checked;
      if (!after.ok || after.versions.size() != 1 || after.versions[0].items.size() != 1 ||
          after.versions[0].items[0] != item) {
        ++stale;
      }
    }
  };
  REQUIRE(run.drive(body));
  REQUIRE(checked == 40);
  REQUIRE(stale == 0);
}

TEST_CASE("dynamo: with R + W <= N a read can miss the latest write", "[dynamo][quorum]") {
  // The counterpart that shows the test above can fail: R = W = 1 reads from one replica
  // while the write may have reached another. Slow storage on one side makes it visible.
  DynamoParams p = test_params(6);
  p.r = 1;
  p.w = 1;
  p.read_repair = false;
  p.anti_entropy_interval = Duration::zero();
  p.storage.read_sigma = 1.5;
  p.storage.write_sigma = 1.5;
  // Several disks, so a replica can serve a read before an earlier write (one FIFO disk
  // would apply the write first).
  p.storage.disks = 8;
  p.storage.read_median = Duration::micros(1500);
  Run run(p, 4);
  int stale = 0;
  auto body = [&](world::Node& c) -> Task<void> {
    for (int i = 0; i < 200; ++i) {
      const std::string key = "k" + std::to_string(i % 5);
      GetResult before = co_await run.cluster->get(c, key);
      Reconciled rec = reconcile(before.versions, Reconcile::kUnion);
      const std::string item = "v" + std::to_string(i);
      std::vector<std::string> items{item};
      const bool ok = co_await run.cluster->put(c, key, rec.context, items);
      if (!ok) {
        continue;
      }
      GetResult after = co_await run.cluster->get(c, key);
      if (!holds(after.versions, item)) {
        ++stale;
      }
    }
  };
  REQUIRE(run.drive(body, Duration::seconds(120)));
  REQUIRE(stale > 0);
}

TEST_CASE("dynamo: hinted handoff delivers a hint after the owner recovers", "[dynamo][handoff]") {
  DynamoParams p = test_params(6);
  p.anti_entropy_interval = Duration::zero();  // only the hint may repair the owner
  p.read_repair = false;
  Run run(p, 1);
  const std::string key = "cart-handoff";
  const auto natural = run.cluster->ring().preference_list(key_position(key), 3);
  const int owner = static_cast<int>(natural[1]);
  run.world->faults().schedule(node_fault(FaultKind::kCrash, run.sim.now().since_start(), owner));
  run.run_for(Duration::seconds(7));  // gossip notices the crash
  bool ok = false;
  auto body = [&](world::Node& c) -> Task<void> {
    std::vector<std::string> items{"book"};
    ok = co_await run.cluster->put(c, key, VectorClock{}, items);
  };
  REQUIRE(run.drive(body));
  REQUIRE(ok);
  run.run_for(Duration::millis(500));  // the stand-in's write lands after the quorum answered
  REQUIRE(run.cluster->hints_pending() == 1);
  REQUIRE_FALSE(holds(run.cluster->replica_versions(owner, key), "book"));
  // Still down: the hint stays.
  run.run_for(Duration::seconds(5));
  REQUIRE(run.cluster->hints_pending() == 1);
  run.world->faults().schedule(node_fault(FaultKind::kRestart, run.sim.now().since_start(), owner));
  run.run_for(Duration::seconds(10));
  REQUIRE(run.cluster->hints_pending() == 0);
  REQUIRE(holds(run.cluster->replica_versions(owner, key), "book"));
  REQUIRE(run.sim.metrics().counter("dynamo.hints.delivered").value() == 1);
}

TEST_CASE("dynamo: a recovered owner gets its hints while another owner is still down",
          "[dynamo][handoff]") {
  // The hint scan skips a down owner's hints in one step (they are ordered by owner); the
  // hints of a later owner that is back must still go out. Node 1 stays down, node 4 recovers.
  DynamoParams p = test_params(6);
  p.anti_entropy_interval = Duration::zero();
  p.read_repair = false;
  Run run(p, 2);
  const int down = 1;
  const int back = 4;
  for (int node : {down, back}) {
    run.world->faults().schedule(node_fault(FaultKind::kCrash, run.sim.now().since_start(), node));
  }
  run.run_for(Duration::seconds(7));  // gossip notices the crashes
  std::vector<std::string> keys;
  std::size_t hints_for_down = 0;
  std::size_t hints_for_back = 0;
  for (int i = 0; i < 40; ++i) {
    keys.push_back("cart-" + std::to_string(i));
    for (auto node : run.cluster->ring().preference_list(key_position(keys.back()), 3)) {
      hints_for_down += node == down ? 1 : 0;
      hints_for_back += node == back ? 1 : 0;
    }
  }
  REQUIRE(hints_for_down > 0);
  REQUIRE(hints_for_back > 0);
  int written = 0;
  auto body = [&](world::Node& c) -> Task<void> {
    for (const auto& key : keys) {
      std::vector<std::string> items{"book"};
      written += co_await run.cluster->put(c, key, VectorClock{}, items) ? 1 : 0;
    }
  };
  REQUIRE(run.drive(body));
  REQUIRE(written == 40);
  run.run_for(Duration::seconds(1));
  REQUIRE(run.cluster->hints_pending() == hints_for_down + hints_for_back);
  run.world->faults().schedule(node_fault(FaultKind::kRestart, run.sim.now().since_start(), back));
  run.run_for(Duration::seconds(15));
  REQUIRE(run.cluster->hints_pending() == hints_for_down);
  for (const auto& key : keys) {
    const auto natural = run.cluster->ring().preference_list(key_position(key), 3);
    if (std::find(natural.begin(), natural.end(), back) != natural.end()) {
      REQUIRE(holds(run.cluster->replica_versions(back, key), "book"));
    }
  }
}

TEST_CASE("dynamo: a load balancer sends nothing to a node it suspects", "[dynamo][coordination]") {
  // Server-driven: the balancer relays each request to a random node. A relay to the dead node
  // fails the request (one attempt), and the balancer then suspects the node for suspect_for:
  // failures are at least suspect_for apart. Picking the dead node regardless, 1 request in 6
  // would fail.
  DynamoParams p = test_params(6);
  p.clients[0].coordination = Coordination::kServer;
  p.clients[0].attempts = 1;
  p.anti_entropy_interval = Duration::zero();
  Run run(p, 3);
  const int dead = 2;
  run.world->faults().schedule(node_fault(FaultKind::kCrash, run.sim.now().since_start(), dead));
  run.run_for(Duration::seconds(7));  // the storage nodes' gossip notices the crash
  int done = 0;
  const Time start = run.sim.now();
  std::vector<double> failed_at;  // seconds after start
  auto body = [&](world::Node& c) -> Task<void> {
    for (int i = 0; i < 150; ++i) {
      GetResult r = co_await run.cluster->get(c, "k" + std::to_string(i % 10));
      ++done;
      if (!r.ok) {
        failed_at.push_back((run.sim.now() - start).to_seconds());
      }
    }
  };
  REQUIRE(run.drive(body, Duration::seconds(120)));
  REQUIRE(done == 150);
  const double elapsed = (run.sim.now() - start).to_seconds();
  CAPTURE(elapsed, failed_at);
  REQUIRE(!failed_at.empty());  // the balancer did meet the dead node
  REQUIRE(failed_at.size() <= static_cast<std::size_t>(elapsed / p.suspect_for.to_seconds()) + 1);
}

TEST_CASE("dynamo: Merkle anti-entropy converges replicas that missed writes",
          "[dynamo][merkle]") {
  const bool anti_entropy = GENERATE(true, false);
  DynamoParams p = test_params(6);
  p.sloppy_quorum = false;  // strict quorum: no hints, the replica that was down just misses it
  p.read_repair = false;
  p.anti_entropy_interval = anti_entropy ? Duration::seconds(5) : Duration::zero();
  Run run(p, 2);
  const int victim = 0;
  run.world->faults().schedule(node_fault(FaultKind::kCrash, run.sim.now().since_start(), victim, Duration::seconds(10)));
  run.run_for(Duration::seconds(1));
  int written = 0;
  auto body = [&](world::Node& c) -> Task<void> {
    for (int i = 0; i < 30; ++i) {
      std::vector<std::string> items{"x"};
      const bool ok = co_await run.cluster->put(c, "key-" + std::to_string(i), VectorClock{}, items);
      written += ok ? 1 : 0;
    }
  };
  REQUIRE(run.drive(body));
  REQUIRE(written == 30);
  run.run_for(Duration::seconds(10));  // the victim is back, behind
  REQUIRE(run.storage(victim).up());
  const std::size_t behind = run.cluster->divergent_keys();
  REQUIRE(behind > 0);
  run.run_for(Duration::seconds(20));
  if (anti_entropy) {
    REQUIRE(run.cluster->divergent_keys() == 0);
    REQUIRE(run.sim.metrics().counter("dynamo.anti_entropy.keys").value() >= behind);
  } else {
    REQUIRE(run.cluster->divergent_keys() == behind);
  }
}

TEST_CASE("dynamo: read repair fixes a stale replica that a read touched", "[dynamo][repair]") {
  DynamoParams p = test_params(6);
  p.sloppy_quorum = false;
  p.anti_entropy_interval = Duration::zero();
  Run run(p, 3);
  const std::string key = "k";
  const auto natural = run.cluster->ring().preference_list(key_position(key), 3);
  run.world->faults().schedule(node_fault(FaultKind::kCrash, run.sim.now().since_start(), static_cast<int>(natural[2]), Duration::seconds(2)));
  auto body = [&](world::Node& c) -> Task<void> {
    std::vector<std::string> items{"x"};
    co_await run.cluster->put(c, key, VectorClock{}, items);
  };
  REQUIRE(run.drive(body));
  run.run_for(Duration::seconds(3));
  REQUIRE(run.cluster->divergent_keys() == 1);
  auto reads = [&](world::Node& c) -> Task<void> {
    for (int i = 0; i < 5; ++i) {
      co_await run.cluster->get(c, key);
    }
  };
  REQUIRE(run.drive(reads));
  run.run_for(Duration::seconds(1));
  REQUIRE(run.cluster->divergent_keys() == 0);
  REQUIRE(run.sim.metrics().counter("dynamo.read_repairs").value() >= 1);
}

namespace {
/// Two client populations on both sides of a zone partition add items to the same carts.
CartAudit partitioned_carts(Reconcile mode, std::uint64_t seed) {
  DynamoParams p;
  p.nodes = 6;
  p.zones = {"zone-a", "zone-b"};
  p.reconcile = mode;
  for (const char* zone : {"zone-a", "zone-b"}) {
    ClientParams c;
    c.name = std::string("shop-") + zone;
    c.zone = zone;
    c.processes = 2;
    c.rate_per_s = 20;
    c.carts = 3;
    c.stop = Duration::seconds(25);
    p.clients.push_back(c);
  }
  Run run(p, seed);
  world::FaultSpec cut;
  cut.at = Duration::seconds(5);
  cut.kind = FaultKind::kPartition;
  cut.target = {TargetKind::kZone, "zone-a"};
  cut.peer = {TargetKind::kZone, "zone-b"};
  cut.duration = Duration::seconds(15);
  run.world->faults().schedule(cut);
  run.run_for(Duration::seconds(45));
  return run.cluster->audit();
}
}  // namespace

TEST_CASE("dynamo: union merge keeps every acknowledged cart add across a partition",
          "[dynamo][cart]") {
  const std::uint64_t seed = GENERATE(1u, 2u);
  CartAudit a = partitioned_carts(Reconcile::kUnion, seed);
  REQUIRE(a.acknowledged_adds > 500);
  REQUIRE(a.lost_adds == 0);
}

TEST_CASE("dynamo: last-writer-wins loses concurrent cart adds", "[dynamo][cart]") {
  const std::uint64_t seed = GENERATE(1u, 2u);
  CartAudit a = partitioned_carts(Reconcile::kLastWriterWins, seed);
  REQUIRE(a.acknowledged_adds > 500);
  REQUIRE(a.lost_adds > 10);
}

TEST_CASE("dynamo: the same seed gives the same trace hash", "[dynamo][determinism]") {
  auto body = [](Simulation& sim) {
    world::World world(sim);
    DynamoParams p;
    p.nodes = 5;
    p.zones = {"a", "b"};
    p.write_buffer = true;
    ClientParams c;
    c.rate_per_s = 50;
    c.remove_fraction = 0.2;
    p.clients.push_back(c);
    Cluster cluster(p);
    cluster.build(world);
    world.faults().schedule(node_fault(FaultKind::kCrash, Duration::seconds(3), 1, Duration::seconds(4)));
    sim.run_until(Time::zero() + Duration::seconds(15));
  };
  auto report = check_determinism({.seed = 9}, body);
  INFO(report.describe());
  REQUIRE(report.deterministic);
  REQUIRE(report.records_first > 1000);
  auto other = check_determinism({.seed = 10}, body);
  REQUIRE(other.hash_first != report.hash_first);
}

TEST_CASE("dynamo: bad params name the field", "[dynamo][params]") {
  DynamoParams p;
  p.r = 4;
  REQUIRE_THROWS_WITH(Cluster(p), Catch::Contains("r: must be within [1, n]"));
  DynamoParams q;
  q.clients.push_back({.name = "x", .zone = "nowhere"});
  REQUIRE_THROWS_WITH(Cluster(q), Catch::Contains("clients[0].zone"));
}

TEST_CASE("dynamo: buffered writes die with a crash; the durable replica keeps the write",
          "[dynamo][buffer]") {
  const bool crash_before_flush = GENERATE(true, false);
  DynamoParams p = test_params(6);
  p.write_buffer = true;
  p.flush_interval = Duration::seconds(10);
  p.anti_entropy_interval = Duration::zero();
  p.read_repair = false;
  Run run(p, 5);
  const std::string key = "buffered";
  // The client coordinates; with no failures it picks the top N in order, the first durable.
  const auto natural = run.cluster->ring().preference_list(key_position(key), 3);
  auto body = [&](world::Node& c) -> Task<void> {
    std::vector<std::string> items{"x"};
    co_await run.cluster->put(c, key, VectorClock{}, items);
  };
  REQUIRE(run.drive(body));
  run.run_for(Duration::millis(200));
  for (auto n : natural) {
    REQUIRE(holds(run.cluster->replica_versions(static_cast<int>(n), key), "x"));
  }
  if (!crash_before_flush) {
    run.run_for(Duration::seconds(11));  // a flush happened
  }
  for (auto n : natural) {
    run.world->faults().schedule(node_fault(FaultKind::kCrash, run.sim.now().since_start(),
                                            static_cast<int>(n), Duration::seconds(1)));
  }
  run.run_for(Duration::seconds(2));
  REQUIRE(holds(run.cluster->replica_versions(static_cast<int>(natural[0]), key), "x"));
  for (std::size_t i = 1; i < natural.size(); ++i) {
    REQUIRE(holds(run.cluster->replica_versions(static_cast<int>(natural[i]), key), "x") ==
            !crash_before_flush);
  }
}

TEST_CASE("dynamo: gossip spreads a crash and a recovery to every node", "[dynamo][gossip]") {
  DynamoParams p = test_params(8);
  Run run(p, 6);
  run.run_for(Duration::seconds(3));
  auto everyone_believes = [&](int peer, bool healthy) {
    for (int i = 0; i < 8; ++i) {
      if (i != peer && run.cluster->believes_healthy(i, peer) != healthy) {
        return false;
      }
    }
    return true;
  };
  REQUIRE(everyone_believes(5, true));
  run.world->faults().schedule(node_fault(FaultKind::kCrash, run.sim.now().since_start(), 5,
                                          Duration::seconds(10)));
  run.run_for(Duration::seconds(3));
  REQUIRE(everyone_believes(5, true));  // within failure_timeout (5 s) nobody knows yet
  run.run_for(Duration::seconds(4));
  REQUIRE(everyone_believes(5, false));
  run.run_for(Duration::seconds(6));  // restarted at 10 s; heartbeats spread by gossip
  REQUIRE(everyone_believes(5, true));
}

TEST_CASE("dynamo: a client keeps writing to nodes that answer it, whatever a polled node's "
          "gossip says",
          "[dynamo][gossip][partition]") {
  // The shopping-cart scenario (scenarios/dynamo-shopping-cart-partition.json) on seed 89:
  // during the zone cut, dynamo-2's gossip rounds happened to pick only the other zone's nodes
  // for six seconds, so its heartbeat view declared its own zone's peers dynamo-0 and dynamo-4
  // down. A client-driven shopper that polled dynamo-2 then took its word over its own calls,
  // which dynamo-0 and dynamo-4 were answering every few milliseconds, and failed one request
  // in eight for want of W healthy nodes. Failure detection in Dynamo is local (paper 4.8.3):
  // a node that answered this process within the failure timeout is healthy to it.
  DynamoParams p;
  p.nodes = 6;
  p.zones = {"zone-a", "zone-b"};
  p.ring.placement = Placement::kEqualPartitions;
  p.ring.tokens_per_node = 8;
  p.anti_entropy_interval = Duration::seconds(10);
  for (const char* side : {"a", "b"}) {
    ClientParams c;
    c.name = std::string("shoppers-") + side;
    c.zone = std::string("zone-") + side;
    c.processes = 2;
    c.rate_per_s = 20;
    c.carts = 5;
    c.remove_fraction = 0.1;
    c.stop = Duration::seconds(40);
    p.clients.push_back(c);
  }
  Run run(p, 89);
  world::FaultSpec cut;
  cut.at = Duration::seconds(10);
  cut.kind = FaultKind::kPartition;
  cut.target = {TargetKind::kZone, "zone-a"};
  cut.peer = {TargetKind::kZone, "zone-b"};
  cut.duration = Duration::seconds(20);
  run.world->faults().schedule(cut);
  run.run_for(Duration::seconds(30));
  std::size_t side_a = 0;
  std::size_t failed = 0;
  for (const CartOp& op : run.cluster->cart_history()) {
    const double at = op.invoked.since_start().to_seconds();
    if (at >= 16 && at < 30 && op.item.rfind("shoppers-a", 0) == 0) {
      ++side_a;
      failed += op.ok ? 0 : 1;
    }
  }
  REQUIRE(side_a > 200);
  CHECK(failed <= side_a / 100);
}
