// Global tables: every region accepts writes and replicas converge under last-writer-wins.
#include <faultline/sim/dynamodb/global_table.hpp>
#include <faultline/world/world.hpp>

#include <catch2/catch.hpp>

using namespace faultline;
using namespace faultline::literals;
using namespace faultline::sim::dynamodb;

TEST_CASE("global table: last-writer-wins picks the larger timestamp, then the larger region",
          "[dynamodb][global]") {
  CHECK(lww_newer({"b", 20, 0}, {"a", 10, 1}));
  CHECK_FALSE(lww_newer({"a", 10, 1}, {"b", 20, 0}));
  CHECK(lww_newer({"b", 10, 1}, {"a", 10, 0}));
  LwwReplica r;
  CHECK(r.apply("k", {"new", 20, 0}));
  CHECK_FALSE(r.apply("k", {"old", 10, 1}));  // arrives late, loses
  CHECK(r.get("k")->value == "new");
}

TEST_CASE("global table: concurrent writes in two regions converge to the latest write",
          "[dynamodb][global]") {
  Simulation sim({.seed = GENERATE(1u, 2u, 3u)});
  world::World world(sim);
  GlobalTable table(GlobalTableParams{});
  table.build(world);
  // us-east-1 writes "a" at 1.000 s; eu-west-1 writes "b" at 1.010 s, before "a" arrives
  // (cross-region one-way latency is ~32 ms).
  sim.schedule_at(Time::zero() + 1_s, [&] { table.write(0, "cart", "a"); });
  sim.schedule_at(Time::zero() + 1010_ms, [&] { table.write(1, "cart", "b"); });
  sim.schedule_at(Time::zero() + 2_s, [&] { table.write(0, "other", "x"); });
  sim.run_until(Time::zero() + 1015_ms);
  // Each region briefly holds its own write: the regions disagree.
  CHECK(table.replica(0).get("cart")->value == "a");
  CHECK(table.replica(1).get("cart")->value == "b");
  CHECK_FALSE(table.converged());
  sim.run_until(Time::zero() + 5_s);
  CHECK(table.converged());
  CHECK(table.replica(0).get("cart")->value == "b");
  CHECK(table.replica(1).get("cart")->value == "b");
  CHECK(table.replica(1).get("other")->value == "x");
}

TEST_CASE("global table: with a clock behind, the later write in true time can lose",
          "[dynamodb][global]") {
  // LWW orders by the writers' clocks: eu-west-1's clock is 50 ms behind, so its write at
  // 1.010 s carries 0.960 s and loses to us-east-1's write at 1.000 s. The replicas still
  // converge — on the earlier write. This is the cost of LWW that the model makes visible.
  Simulation sim({.seed = 1});
  world::World world(sim);
  GlobalTable table(GlobalTableParams{});
  table.build(world);
  world::FaultSpec jump;
  jump.at = 100_ms;
  jump.kind = world::FaultKind::kClockJump;
  jump.target = {world::TargetKind::kNode, "global-eu-west-1"};
  jump.amount = -50_ms;
  world.faults().schedule(jump);
  sim.schedule_at(Time::zero() + 1_s, [&] { table.write(0, "cart", "a"); });
  sim.schedule_at(Time::zero() + 1010_ms, [&] { table.write(1, "cart", "b"); });
  sim.run_until(Time::zero() + 5_s);
  CHECK(table.converged());
  CHECK(table.replica(1).get("cart")->value == "a");
}
