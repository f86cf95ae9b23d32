// RPC timeouts: each node keeps one timer at its earliest live deadline and checks calls
// lazily (src/world/node.cpp), so these tests pin what that must still guarantee: every
// timeout fires at exactly start + timeout, in call order among equal deadlines, including
// calls made from timeout callbacks, thousands of staggered coroutine calls, crashes with calls
// outstanding, and timeouts that come due while the process is paused.
#include "world_fixture.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <utility>
#include <vector>

using namespace faultline;
using namespace faultline::world;
using namespace faultline::world::testing;

namespace {

/// Takes requests and never answers: every call to it times out.
struct Silent : Program {
  void start(Node& n) override { n.on_request([](const Message&, Responder) {}); }
};

struct Echo : Program {
  void start(Node& n) override {
    n.on_request([](const Message& m, Responder r) { r.reply(m.payload, 10); });
  }
};

struct Rig {
  Simulation sim;
  World world{sim, quiet_params()};
  NodeId server;
  NodeId client;
  explicit Rig(ProgramFactory server_program, std::string_view server_host = "z1-h1") {
    two_regions(world, 2);
    server = world.add_node(host(world, server_host), "srv", "s", std::move(server_program));
    client = world.add_node(host(world, "z1-h0"), "cli", "c", idle());
    sim.run_for(Duration::millis(1));  // both booted
  }
};

ProgramFactory silent() {
  return [](Node&) { return std::make_unique<Silent>(); };
}

}  // namespace

TEST_CASE("rpc timeouts: mixed deadlines fire at start + timeout, ties in call order",
          "[world][rpc]") {
  Rig r(silent());
  Node& c = r.world.node(r.client);
  std::vector<std::pair<int, Time>> fired;
  const Time t0 = r.sim.now();
  const int timeouts_ms[] = {1000, 100, 500, 100, 0, 300, 2000, 50};
  for (int i = 0; i < 8; ++i) {
    c.call(r.server, Payload{}, 10, Duration::millis(timeouts_ms[i]), [&, i](RpcResult res) {
      if (res.status == RpcStatus::kTimeout) {
        fired.emplace_back(i, r.sim.now());
      }
    });
  }
  // A timeout callback that makes a new call with a shorter timeout than any still pending.
  c.call(r.server, Payload{}, 10, Duration::millis(200), [&](RpcResult) {
    c.call(r.server, Payload{}, 10, Duration::millis(10), [&](RpcResult res) {
      if (res.status == RpcStatus::kTimeout) {
        fired.emplace_back(100, r.sim.now());
      }
    });
  });
  CHECK(c.calls_pending() == 9);
  r.sim.run_for(Duration::seconds(3));
  const std::vector<std::pair<int, Time>> want = {
      {4, t0},
      {7, t0 + Duration::millis(50)},
      {1, t0 + Duration::millis(100)},
      {3, t0 + Duration::millis(100)},
      {100, t0 + Duration::millis(210)},
      {5, t0 + Duration::millis(300)},
      {2, t0 + Duration::millis(500)},
      {0, t0 + Duration::seconds(1)},
      {6, t0 + Duration::seconds(2)}};
  CHECK(fired == want);
  CHECK(c.calls_pending() == 0);
}

TEST_CASE("rpc timeouts: 2,000 staggered coroutine calls each time out after their own timeout",
          "[world][rpc]") {
  Rig r(silent());
  Node& c = r.world.node(r.client);
  int wrong = 0;
  int done = 0;
  auto caller = [](Node& n, NodeId dst, int i, int& wrong_out, int& done_out) -> Task<void> {
    co_await n.sleep(Duration::micros(i * 37));
    const Duration timeout = Duration::millis(50 + (i * 7919) % 300);
    const RpcResult res = co_await n.call(dst, Payload{}, 10, timeout);
    if (res.status != RpcStatus::kTimeout || res.latency != timeout) {
      ++wrong_out;
    }
    ++done_out;
  };
  for (int i = 0; i < 2000; ++i) {
    c.spawn(caller(c, r.server, i, wrong, done));
  }
  r.sim.run_for(Duration::seconds(2));
  CHECK(done == 2000);
  CHECK(wrong == 0);
  CHECK(c.calls_pending() == 0);
}

TEST_CASE("rpc timeouts: a crash drops outstanding calls and late replies; the restarted "
          "process's calls complete",
          "[world][rpc]") {
  Simulation sim;
  World world(sim, quiet_params());
  two_regions(world, 2);
  // The server is in the other region, so replies take milliseconds.
  world.add_node(host(world, "z3-h0"), "srv", "s",
                 [](Node&) { return std::make_unique<Echo>(); });
  auto oks = std::make_shared<int>(0);
  auto failures = std::make_shared<int>(0);
  struct Caller : Program {
    std::shared_ptr<int> oks;
    std::shared_ptr<int> failures;
    void start(Node& n) override {
      for (int i = 0; i < 5; ++i) {
        n.call(NodeId{0}, Payload{}, 10, Duration::seconds(5), [o = oks, f = failures](RpcResult res) {
          ++*(res.ok() ? o : f);
        });
      }
    }
  };
  const NodeId cli = world.add_node(host(world, "z1-h0"), "cli", "c", [oks, failures](Node&) {
    auto p = std::make_unique<Caller>();
    p->oks = oks;
    p->failures = failures;
    return p;
  });
  sim.run_for(Duration::micros(10));  // booted, five calls in flight
  Node& c = world.node(cli);
  CHECK(c.calls_pending() == 5);
  c.crash();
  CHECK(c.calls_pending() == 0);
  sim.run_for(Duration::micros(10));
  c.restart();
  CHECK(c.calls_pending() == 5);
  sim.run_for(Duration::seconds(10));
  // The first incarnation's five replies arrive after the crash and are discarded.
  CHECK(*oks == 5);
  CHECK(*failures == 0);
  CHECK(c.calls_pending() == 0);
}

TEST_CASE("rpc timeouts: a timeout due while paused is delivered on resume with its true latency",
          "[world][rpc]") {
  Rig r(silent());
  Node& c = r.world.node(r.client);
  Time at{};
  Duration latency{};
  c.call(r.server, Payload{}, 10, Duration::millis(100), [&](RpcResult res) {
    at = r.sim.now();
    latency = res.latency;
  });
  const Time t0 = r.sim.now();
  r.sim.run_for(Duration::millis(50));
  c.pause();
  r.sim.run_for(Duration::millis(200));
  CHECK(at == Time{});  // nothing runs while paused
  c.resume();
  CHECK(at == t0 + Duration::millis(250));
  CHECK(latency == Duration::millis(100));
}
