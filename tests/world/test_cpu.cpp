#include "world_fixture.hpp"

#include <catch2/catch.hpp>

#include <vector>

using namespace faultline;
using namespace faultline::world;
using namespace faultline::world::testing;
using namespace faultline::literals;

TEST_CASE("cpu: work queues FIFO behind busy cores and utilisation is exact", "[world][cpu]") {
  Simulation sim;
  CpuParams p;
  p.cores = 2;
  p.sample_interval = Duration::zero();
  Cpu cpu(sim, p, "h");
  std::vector<Time> done;
  for (int i = 0; i < 5; ++i) {
    cpu.submit(10_ms, [&] { done.push_back(sim.now()); });
  }
  CHECK(cpu.busy_cores() == 2);
  CHECK(cpu.queue_length() == 3);
  sim.run_until(Time::zero() + 40_ms);
  REQUIRE(done.size() == 5);
  CHECK(done[0] == Time::zero() + 10_ms);
  CHECK(done[1] == Time::zero() + 10_ms);
  CHECK(done[2] == Time::zero() + 20_ms);
  CHECK(done[4] == Time::zero() + 30_ms);
  CHECK(cpu.busy_time() == 50_ms);
  CHECK(Cpu::utilisation(Duration::zero(), cpu.busy_time(), 40_ms, 2) == Approx(50.0 / 80.0));
}

TEST_CASE("cpu: a stall freezes progress and a killed coroutine frees its core",
          "[world][cpu]") {
  Simulation sim;
  CpuParams p;
  p.cores = 1;
  p.sample_interval = Duration::zero();
  Cpu cpu(sim, p, "h");
  std::vector<Time> done;
  cpu.submit(10_ms, [&] { done.push_back(sim.now()); });
  sim.run_until(Time::zero() + 4_ms);
  cpu.stall(100_ms);
  sim.run_until(Time::zero() + 200_ms);
  REQUIRE(done.size() == 1);
  CHECK(done[0] == Time::zero() + 110_ms);

  Process proc(sim, "p");
  int finished = 0;
  proc.spawn([](Cpu& c, int& f) -> Task<void> {
    co_await c.run(1_s);
    ++f;
  }(cpu, finished));
  sim.run_for(1_ms);                                      // the coroutine holds the core
  cpu.submit(1_ms, [&] { done.push_back(sim.now()); });  // and this waits behind it
  sim.run_for(9_ms);
  CHECK(cpu.queue_length() == 1);
  proc.kill();
  CHECK(cpu.busy_cores() == 1);  // the queued item took the core at once
  sim.run_for(10_ms);
  CHECK(finished == 0);
  REQUIRE(done.size() == 2);
  CHECK(done[1] == Time::zero() + 211_ms);
}

TEST_CASE("cpu: overload shows as queueing delay and then client timeouts", "[world][cpu][rpc]") {
  Simulation sim;
  WorldParams wp = quiet_params();
  wp.host_defaults.cpu.cores = 1;
  World world(sim, wp);
  two_regions(world, 2);
  struct Slow : Program {
    void start(Node& n) override {
      n.on_request([&n](Message) -> Task<Reply> {
        co_await n.compute(10_ms);  // capacity: 100 requests per second
        co_return Reply{};
      });
    }
  };
  NodeId server = world.add_node(host(world, "z1-h1"), "s", "s",
                                 [](Node&) { return std::make_unique<Slow>(); });
  NodeId client = world.add_node(host(world, "z1-h0"), "c", "c", idle());
  sim.run_for(1_ms);
  std::vector<RpcStatus> status(200, RpcStatus::kOk);
  for (int i = 0; i < 200; ++i) {
    // 200 requests per second: twice the capacity.
    sim.schedule_at(Time::zero() + 1_ms + 5_ms * i, [&world, client, server, &status, i] {
      world.node(client).call(server, Payload{}, 100, 100_ms,
                              [&status, i](RpcResult r) { status[static_cast<std::size_t>(i)] = r.status; });
    });
  }
  sim.run_for(3_s);
  const auto timeouts = std::count(status.begin(), status.end(), RpcStatus::kTimeout);
  CHECK(status[0] == RpcStatus::kOk);
  CHECK(status[5] == RpcStatus::kOk);
  CHECK(status[199] == RpcStatus::kTimeout);
  CHECK(timeouts > 100);
  CHECK(sim.metrics().histogram("cpu.queue_wait").max() > (500_ms).ns());
}
