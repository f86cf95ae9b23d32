// call_quorum / call_any: a node's coroutine waits for k of n replies, and like every wait of a
// node it does not run while the node is paused (issue #19: a Completion waited through the
// kernel resumed a paused node's coroutine 0-2 times during a 400 ms pause).
#include "world_fixture.hpp"

#include <faultline/task.hpp>

#include <catch2/catch.hpp>

using namespace faultline;
using namespace faultline::literals;
using namespace faultline::world;
using namespace faultline::world::testing;

namespace {

struct Ping {};

// Answers every request after 10 ms of its own time.
struct Slow : Program {
  void start(Node& n) override {
    n.on_request([&n](Message) -> Task<Reply> {
      co_await n.sleep(10_ms);
      co_return Reply{Payload::make<Ping>(), 8};
    });
  }
};

struct Waits {
  std::vector<Time> resumed;
  std::vector<Node::QuorumResult> results;
};

struct Asker : Program {
  Asker(Waits* w, std::vector<NodeId> peers, std::size_t needed)
      : w_(w), peers_(std::move(peers)), needed_(needed) {}
  void start(Node& n) override { n.spawn(run(n)); }
  Task<void> run(Node& n) {
    auto q = co_await n.call_quorum(peers_, Payload::make<Ping>(), 8, 1_s, needed_);
    w_->resumed.push_back(n.sim().now());
    w_->results.push_back(std::move(q));
  }
  Waits* w_;
  std::vector<NodeId> peers_;
  std::size_t needed_;
};

struct Cluster {
  Simulation sim;
  World world{sim, quiet_params()};
  std::vector<NodeId> servers;
  Waits waits;
  NodeId asker;

  explicit Cluster(std::size_t needed, std::vector<NodeId> extra = {}) {
    two_regions(world, 2);
    for (const char* h : {"z1-h1", "z2-h0", "z2-h1"}) {
      servers.push_back(world.add_node(host(world, h), std::string("s-") + h, "servers",
                                       [](Node&) { return std::make_unique<Slow>(); }));
    }
    auto peers = servers;
    peers.insert(peers.end(), extra.begin(), extra.end());
    asker = world.add_node(host(world, "z1-h0"), "asker", "clients", [this, peers, needed](Node&) {
      return std::make_unique<Asker>(&waits, peers, needed);
    });
  }
};

}  // namespace

TEST_CASE("quorum: a node resumes when k of n replies are in, not before, not twice",
          "[world][node][quorum]") {
  Cluster c(2);
  c.sim.run_until(Time::zero() + 2_s);
  REQUIRE(c.waits.resumed.size() == 1);
  const auto& q = c.waits.results[0];
  CHECK(q.reached);
  CHECK(q.succeeded >= 2);
  CHECK(c.waits.resumed[0] > Time::zero() + 10_ms);  // no reply comes before the servers' 10 ms
  CHECK(c.waits.resumed[0] < Time::zero() + 100_ms);
}

TEST_CASE("quorum: a paused node's wait does not run during the pause", "[world][node][quorum]") {
  Cluster c(2);
  c.sim.run_until(Time::zero() + 1_ms);  // the calls are out
  c.world.node(c.asker).pause();
  c.sim.run_until(Time::zero() + 401_ms);
  // Every reply has arrived by now, but the node is paused: its coroutine has not run.
  CHECK(c.waits.resumed.empty());
  c.world.node(c.asker).resume();
  c.sim.run_until(Time::zero() + 2_s);
  REQUIRE(c.waits.resumed.size() == 1);
  CHECK(c.waits.resumed[0] == Time::zero() + 401_ms);
  CHECK(c.waits.results[0].reached);
}

TEST_CASE("quorum: the wait ends as soon as the quorum cannot be reached",
          "[world][node][quorum]") {
  Cluster c(3, {NodeId{}});  // a fourth destination that does not exist: refused at once
  // Down from the start (after every node booted): their hosts refuse the calls.
  c.sim.schedule_at(Time::zero(), [&c] {
    c.world.node(c.servers[0]).crash();
    c.world.node(c.servers[1]).crash();
  });
  c.sim.run_until(Time::zero() + 2_s);
  REQUIRE(c.waits.resumed.size() == 1);
  const auto& q = c.waits.results[0];
  CHECK_FALSE(q.reached);
  // Two refusals plus the missing node leave only one possible success: over without waiting
  // for the live server's reply or any timeout.
  CHECK(c.waits.resumed[0] < Time::zero() + 10_ms);
  CHECK(q.answered[3]);
  CHECK(q.replies[3].status == RpcStatus::kUnreachable);
}

TEST_CASE("quorum: call_any takes the first success and drops the late replies",
          "[world][node][quorum]") {
  Cluster c(1);
  c.sim.run_until(Time::zero() + 2_s);
  REQUIRE(c.waits.resumed.size() == 1);
  const auto& q = c.waits.results[0];
  CHECK(q.reached);
  CHECK(q.succeeded == 1);
  CHECK(std::count(q.answered.begin(), q.answered.end(), true) == 1);
}

TEST_CASE("world: a factory finds a peer added after it, by name, because programs are built at "
          "boot",
          "[world][node][names]") {
  Simulation sim;
  World world(sim, quiet_params());
  two_regions(world, 2);
  Waits waits;
  // The asker is added first and names its peers; they do not exist yet.
  world.add_node(host(world, "z1-h0"), "asker", "clients", [&waits](Node& n) {
    std::vector<NodeId> peers;
    for (const char* name : {"s-1", "s-2", "s-3"}) {
      peers.push_back(n.world().find_node(name)->id());
    }
    return std::make_unique<Asker>(&waits, peers, 3);
  });
  for (const char* name : {"s-1", "s-2", "s-3"}) {
    world.add_node(host(world, "z2-h0"), name, "servers",
                   [](Node&) { return std::make_unique<Slow>(); });
  }
  sim.run_until(Time::zero() + 2_s);
  REQUIRE(waits.resumed.size() == 1);
  CHECK(waits.results[0].reached);
  CHECK(waits.results[0].succeeded == 3);
}
