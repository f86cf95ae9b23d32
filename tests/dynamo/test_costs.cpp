// What coordination and storage cost: worker threads over one disk per node, the load
// balancer, and the write buffer (paper §5, §6.1, §6.4). Each mechanism is switched on and
// off so that every test can fail.
#include <catch2/catch.hpp>

#include "dynamo_fixture.hpp"

#include <algorithm>

using namespace faultline;
using namespace faultline::sim::dynamo;
using namespace faultline::sim::dynamo::testing;

namespace {
bool holds(const std::vector<Version>& vs, const std::string& item) {
  return std::any_of(vs.begin(), vs.end(), [&](const Version& v) { return has_item(v.items, item); });
}

/// Every storage call takes exactly `read` / `write` (no tail), so latencies are exact.
DynamoParams fixed_storage(Duration read, Duration write) {
  DynamoParams p = test_params(6);
  p.storage.read_median = read;
  p.storage.write_median = write;
  p.storage.read_sigma = 0;
  p.storage.write_sigma = 0;
  p.anti_entropy_interval = Duration::zero();
  // Slow storage is the point here, not a failure: nothing times out.
  p.replica_timeout = Duration::seconds(2);
  p.clients[0].attempt_timeout = Duration::seconds(10);
  return p;
}

/// Latency of one put and then one get of a fresh key by the test client.
struct PutGet {
  bool put_ok = false;
  bool get_ok = false;
  Duration put{};
  Duration get{};
};
PutGet put_then_get(Run& run, const std::string& key) {
  PutGet out;
  auto body = [&](world::Node& c) -> Task<void> {
    Time t0 = run.sim.now();
    std::vector<std::string> items{"x"};
    out.put_ok = co_await run.cluster->put(c, key, VectorClock{}, items);
    out.put = run.sim.now() - t0;
    t0 = run.sim.now();
    GetResult g = co_await run.cluster->get(c, key);
    out.get_ok = g.ok && holds(g.versions, "x");
    out.get = run.sim.now() - t0;
  };
  REQUIRE(run.drive(body));
  return out;
}
}  // namespace

TEST_CASE("dynamo costs: a buffered put does not wait for the disk; an unbuffered one does",
          "[dynamo][buffer][costs]") {
  const bool buffer = GENERATE(false, true);
  DynamoParams p = fixed_storage(Duration::millis(1), Duration::millis(200));
  p.write_buffer = buffer;
  p.flush_interval = Duration::seconds(10);
  p.read_repair = false;
  Run run(p, 1);
  const std::string key = "k";
  const auto natural = run.cluster->ring().preference_list(key_position(key), 3);
  auto body = [&](world::Node& c) -> Task<void> {
    const Time t0 = run.sim.now();
    std::vector<std::string> items{"x"};
    const bool ok = co_await run.cluster->put(c, key, VectorClock{}, items);
    REQUIRE(ok);
    const Duration took = run.sim.now() - t0;
    if (buffer) {
      CHECK(took < Duration::millis(20));  // two buffered answers, no disk
      // The designated replica's durable write is still on its disk.
      CHECK_FALSE(holds(run.cluster->replica_versions(static_cast<int>(natural[0]), key), "x"));
    } else {
      CHECK(took >= Duration::millis(200));  // W = 2 durable writes
    }
  };
  REQUIRE(run.drive(body));
  run.run_for(Duration::millis(300));
  for (auto n : natural) {
    CHECK(holds(run.cluster->replica_versions(static_cast<int>(n), key), "x"));
  }
  CHECK(run.sim.metrics().counter("dynamo.buffer.writes").value() == (buffer ? 2u : 0u));
}

TEST_CASE("dynamo costs: reads check the write buffer before the disk", "[dynamo][buffer][costs]") {
  const bool buffer = GENERATE(false, true);
  DynamoParams p = fixed_storage(Duration::millis(200), Duration::millis(1));
  p.write_buffer = buffer;
  p.flush_interval = Duration::seconds(10);
  Run run(p, 2);
  PutGet r = put_then_get(run, "k");
  REQUIRE(r.put_ok);
  REQUIRE(r.get_ok);
  if (buffer) {
    CHECK(r.get < Duration::millis(20));
    CHECK(run.sim.metrics().counter("dynamo.buffer.read_hits").value() >= 2);
  } else {
    CHECK(r.get >= Duration::millis(200));
    CHECK(run.sim.metrics().counter("dynamo.buffer.read_hits").value() == 0);
  }
}

TEST_CASE("dynamo costs: reads queue behind durable writes on a node's one disk",
          "[dynamo][disk][costs]") {
  const int disks = GENERATE(1, 8);
  DynamoParams p = fixed_storage(Duration::millis(1), Duration::millis(100));
  p.storage.disks = disks;
  p.read_repair = false;
  Run run(p, 3);
  // Ten writes to ten keys, then a read: on one disk the read waits for the writes that
  // reached its replicas first; on eight it does not.
  Duration read_took{};
  bool read_ok = false;
  auto body = [&](world::Node& c) -> Task<void> {
    for (int i = 0; i < 10; ++i) {
      std::vector<std::string> items{"w"};
      c.spawn([](Cluster& cl, world::Node& n, std::string key, std::vector<std::string> it)
                  -> Task<void> { co_await cl.put(n, key, VectorClock{}, it); }(
          *run.cluster, c, "w" + std::to_string(i), items));
    }
    co_await c.sleep(Duration::millis(2));
    const Time t0 = run.sim.now();
    GetResult g = co_await run.cluster->get(c, "r");
    read_ok = g.ok;
    read_took = run.sim.now() - t0;
  };
  REQUIRE(run.drive(body));
  REQUIRE(read_ok);
  if (disks == 1) {
    CHECK(read_took > Duration::millis(100));
  } else {
    CHECK(read_took < Duration::millis(20));
  }
}

TEST_CASE("dynamo costs: a request's steps wait for workers held by storage calls",
          "[dynamo][coordination][costs]") {
  // Three nodes, N = 3: every node is a replica of every key, so a server-driven request is
  // coordinated by whichever node the load balancer picks, without forwarding. Each node has
  // one worker. A slow durable write (100 ms) to every node holds each worker; a server-driven
  // get issued 20 ms later must wait for a worker before it can even start coordinating, and a
  // client-driven get (coordinated in the client library) waits only for the replica reads.
  const auto coordination = GENERATE(Coordination::kServer, Coordination::kClient);
  const int workers = GENERATE(1, 8);
  DynamoParams p = fixed_storage(Duration::millis(1), Duration::millis(100));
  p.nodes = 3;
  p.cpu.workers = workers;
  p.storage.disks = 8;  // the disk does not serialise: only workers can make the get wait
  p.read_repair = false;
  ClientParams s;
  s.name = "s";
  s.zone = "zone-a";
  s.coordination = Coordination::kServer;
  s.attempt_timeout = Duration::seconds(10);
  p.clients.push_back(s);
  p.clients[0].coordination = coordination;
  Run run(p, 4);
  Duration get_took{};
  auto writer = [&](world::Node& c) -> Task<void> {
    std::vector<std::string> items{"w"};
    co_await run.cluster->put(c, "w", VectorClock{}, items);
  };
  world::Node& ws = run.client("s");
  ws.spawn(writer(ws));
  run.run_for(Duration::millis(20));  // the writes hold every worker from ~4 ms to ~104 ms
  auto reader = [&](world::Node& c) -> Task<void> {
    const Time t0 = run.sim.now();
    GetResult g = co_await run.cluster->get(c, "r");
    REQUIRE(g.ok);
    get_took = run.sim.now() - t0;
  };
  REQUIRE(run.drive(reader));
  INFO("coordination " << to_string(coordination) << ", workers " << workers << ", get took "
                       << get_took.ns() << " ns");
  if (workers == 1) {
    // Either way the reads wait for the replicas' workers; a server-driven get also waits
    // for its coordinator's worker before sending them.
    CHECK(get_took > Duration::millis(60));
  } else {
    CHECK(get_took < Duration::millis(10));
  }
  const Histogram* wait = run.sim.metrics().find_histogram("dynamo.node.worker_wait");
  REQUIRE(wait != nullptr);
  CHECK((wait->max() > Duration::millis(60).ns()) == (workers == 1));
}

TEST_CASE("dynamo costs: server-driven requests pass the load balancer's CPU twice",
          "[dynamo][coordination][costs]") {
  const int balancers = GENERATE(0, 1);
  DynamoParams p = fixed_storage(Duration::millis(1), Duration::millis(1));
  p.clients[0].coordination = Coordination::kServer;
  p.load_balancers = balancers;
  p.cpu.load_balancer = Duration::millis(20);
  Run run(p, 5);
  PutGet r = put_then_get(run, "k");
  REQUIRE(r.put_ok);
  REQUIRE(r.get_ok);
  REQUIRE(run.world->group(Cluster::kBalancerGroup).size() == static_cast<std::size_t>(balancers));
  if (balancers == 1) {
    CHECK(r.get >= Duration::millis(40));
    CHECK(r.put >= Duration::millis(40));
  } else {
    CHECK(r.get < Duration::millis(20));
    CHECK(r.put < Duration::millis(20));
  }
}

TEST_CASE("dynamo costs: bad cost params name the field", "[dynamo][params][costs]") {
  DynamoParams p;
  p.cpu.workers = 0;
  REQUIRE_THROWS_WITH(Cluster(p), Catch::Contains("cpu.workers"));
  DynamoParams q;
  q.cpu.coordinate = Duration::micros(-1);
  REQUIRE_THROWS_WITH(Cluster(q), Catch::Contains("cpu.coordinate"));
  DynamoParams r;
  r.storage.disks = 0;
  REQUIRE_THROWS_WITH(Cluster(r), Catch::Contains("storage.disks"));
}
