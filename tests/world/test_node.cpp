#include "world_fixture.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace faultline;
using namespace faultline::world;
using namespace faultline::world::testing;
using namespace faultline::literals;

namespace {

/// What the test watches from outside the process (survives crashes).
struct Observed {
  int ticks = 0;
  int timer_fired = 0;
  int frames_destroyed = 0;
  std::vector<std::string> booted_with;  // the durable file content each incarnation saw
};

struct Guard {
  Observed* o;
  ~Guard() { ++o->frames_destroyed; }
};

struct Ticker : Program {
  Ticker(Node& n, Observed* o) : o_(o) {
    const std::string* log = n.host().disk().read("log");
    o->booted_with.push_back(log != nullptr ? *log : "<none>");
  }
  void start(Node& n) override {
    n.spawn(tick(n));
    n.after(100_ms, [this] { ++o_->timer_fired; });
    // Durable, then not.
    n.host().disk().append_now("log", "synced;");
    n.host().disk().fsync_now("log");
    n.host().disk().append_now("log", "unsynced;");
  }
  Task<void> tick(Node& n) {
    Guard g{o_};
    for (;;) {
      co_await n.sleep(10_ms);
      ++o_->ticks;
    }
  }
  Observed* o_;
};

}  // namespace

TEST_CASE("node: a crash kills every coroutine and timer; a restart sees only synced data",
          "[world][node][disk]") {
  Simulation sim;
  World world(sim, quiet_params());
  two_regions(world, 1);
  Observed o;
  NodeId id = world.add_node(host(world, "z1-h0"), "n", "g",
                             [&o](Node& n) { return std::make_unique<Ticker>(n, &o); });
  sim.run_until(Time::zero() + 55_ms);
  Node& n = world.node(id);
  CHECK(o.ticks == 5);
  CHECK(n.process().task_count() == 1);
  CHECK(*n.host().disk().read("log") == "synced;unsynced;");

  FaultSpec crash;
  crash.kind = FaultKind::kCrash;
  crash.target = Target{TargetKind::kNode, "n"};
  world.faults().apply(crash);
  CHECK(o.frames_destroyed == 1);
  CHECK(n.process().task_count() == 0);
  CHECK(n.program() == nullptr);
  sim.run_until(Time::zero() + 500_ms);
  CHECK(o.ticks == 5);        // nothing of the dead incarnation ran again
  CHECK(o.timer_fired == 0);  // its 100 ms timer died with it
  CHECK(*n.host().disk().read("log") == "synced;");

  FaultSpec restart;
  restart.kind = FaultKind::kRestart;
  restart.target = crash.target;
  world.faults().apply(restart);
  sim.run_until(Time::zero() + 530_ms);
  REQUIRE(o.booted_with.size() == 2);
  CHECK(o.booted_with[0] == "<none>");
  CHECK(o.booted_with[1] == "synced;");  // the unsynced append was lost
  CHECK(n.incarnation() == 2);
  CHECK(o.ticks == 8);
  CHECK(world.faults().fired_count(FaultKind::kCrash) == 1);
}

TEST_CASE("disk: an fsync makes durable exactly the writes issued before it", "[world][disk]") {
  Simulation sim;
  Disk d(sim, DiskParams{}, "h");
  REQUIRE(d.write_now("f", 0, "aaaa") == IoStatus::kOk);
  Process p(sim, "p");
  p.spawn([](Disk& disk) -> Task<void> {
    auto sync = disk.fsync("f");
    co_await std::move(sync);
  }(d));
  sim.run_for(10_us);
  d.write_now("f", 2, "bb");  // after the fsync began: not covered by it
  sim.run_for(10_ms);
  REQUIRE(d.durable("f") != nullptr);
  CHECK(*d.durable("f") == "aaaa");
  CHECK(*d.read("f") == "aabb");
  d.crash();
  CHECK(*d.read("f") == "aaaa");
}

TEST_CASE("disk: torn writes leave a prefix, io errors fail the call", "[world][disk]") {
  Simulation sim;
  DiskParams dp;
  dp.torn_write = Ratio{1, 1};
  Disk d(sim, dp, "h");
  d.write_now("f", 0, "0123456789");
  d.crash();
  const std::string* img = d.durable("f");
  REQUIRE(img != nullptr);
  CHECK(img->size() < 10);
  CHECK(std::string("0123456789").substr(0, img->size()) == *img);

  d.set_faults(Ratio{1, 1}, Ratio{});
  CHECK(d.write_now("g", 0, "x") == IoStatus::kError);
  CHECK(d.read("g") == nullptr);
  CHECK(d.io_errors() == 1);
}

TEST_CASE("rpc: a coroutine call gets the reply, a timeout, or unreachable", "[world][rpc]") {
  Simulation sim;
  World world(sim, quiet_params());
  two_regions(world, 2);
  struct Echo : Program {
    void start(Node& n) override {
      n.on_request([&n](Message m) -> Task<Reply> {
        co_await n.compute(1_ms);
        co_return Reply{m.payload, 10};
      });
    }
  };
  std::vector<RpcResult> results;
  NodeId server = world.add_node(host(world, "z1-h1"), "server", "s",
                                 [](Node&) { return std::make_unique<Echo>(); });
  NodeId client = world.add_node(host(world, "z1-h0"), "client", "c", idle());
  sim.run_for(1_ms);
  Node& c = world.node(client);
  c.spawn([](Node& n, NodeId dst, std::vector<RpcResult>& out) -> Task<void> {
    out.push_back(co_await n.call(dst, Payload::make<int>(41), 10, 100_ms));
    // Server partitioned away: the call times out.
    FaultSpec f;
    f.kind = FaultKind::kPartition;
    f.target = Target{TargetKind::kNode, "server"};
    f.duration = 500_ms;
    n.world().faults().apply(f);
    out.push_back(co_await n.call(dst, Payload::make<int>(42), 10, 100_ms));
    co_await n.sleep(1_s);
    // Server process down, host up: refused after a round trip.
    FaultSpec crash;
    crash.kind = FaultKind::kCrash;
    crash.target = Target{TargetKind::kNode, "server"};
    n.world().faults().apply(crash);
    out.push_back(co_await n.call(dst, Payload::make<int>(43), 10, 100_ms));
    out.push_back(co_await n.call(NodeId{999}, Payload{}, 10, 100_ms));
  }(c, server, results));
  sim.run_for(5_s);
  REQUIRE(results.size() == 4);
  CHECK(results[0].ok());
  CHECK(results[0].payload.as<int>() == 41);
  CHECK(results[0].latency == 1_ms + 2 * 250_us + Duration::nanos(2 * 80));
  CHECK(results[1].status == RpcStatus::kTimeout);
  CHECK(results[1].latency == 100_ms);
  CHECK(results[2].status == RpcStatus::kUnreachable);
  CHECK(results[2].latency < 1_ms);
  CHECK(results[3].status == RpcStatus::kUnreachable);
  CHECK(c.calls_pending() == 0);
}

TEST_CASE("node: a paused node runs nothing until resumed, then catches up in order",
          "[world][node]") {
  Simulation sim;
  World world(sim, quiet_params());
  two_regions(world, 2);
  std::vector<std::string> events;
  struct Worker : Program {
    explicit Worker(std::vector<std::string>* ev) : ev_(ev) {}
    void start(Node& n) override {
      n.on_message([this, &n](const Message&) {
        ev_->push_back("msg@" + n.sim().now().to_string());
      });
      n.spawn(run(n));
    }
    Task<void> run(Node& n) {
      co_await n.sleep(100_ms);
      ev_->push_back("woke@" + n.sim().now().to_string());
    }
    std::vector<std::string>* ev_;
  };
  NodeId w = world.add_node(host(world, "z1-h0"), "w", "g",
                            [&events](Node&) { return std::make_unique<Worker>(&events); });
  NodeId s = world.add_node(host(world, "z1-h1"), "s", "g", idle());
  sim.run_for(10_ms);
  world.node(w).pause();
  world.node(s).send(w, Payload{}, 10);
  sim.run_until(Time::zero() + 300_ms);
  CHECK(events.empty());
  world.node(w).resume();
  sim.run_for(1_ms);
  REQUIRE(events.size() == 2);
  CHECK(events[0] == "woke@" + (Time::zero() + 300_ms).to_string());
  CHECK(events[1] == "msg@" + (Time::zero() + 300_ms).to_string());
}

TEST_CASE("node: a process crash keeps the page cache when configured, a host crash never does",
          "[world][node][disk]") {
  Simulation sim;
  WorldParams p = quiet_params();
  p.host_defaults.disk.lose_unsynced_on_process_crash = false;
  World world(sim, p);
  two_regions(world, 1);
  NodeId id = world.add_node(HostId{0}, "n", "g", idle());
  sim.run_for(1_ms);
  Host& h = world.host(HostId{0});
  h.disk().append_now("f", "dirty");
  world.node(id).crash();
  REQUIRE(h.disk().read("f") != nullptr);
  CHECK(*h.disk().read("f") == "dirty");
  world.node(id).restart();
  FaultSpec crash;
  crash.kind = FaultKind::kCrash;
  crash.target = Target{TargetKind::kHost, h.name()};
  crash.duration = 1_s;
  world.faults().apply(crash);
  CHECK_FALSE(h.up());
  CHECK(h.disk().read("f") == nullptr);
  CHECK_FALSE(world.node(id).up());
  sim.run_for(2_s);
  CHECK(h.up());
  CHECK(world.node(id).up());
  CHECK(world.node(id).incarnation() == 3);
}
