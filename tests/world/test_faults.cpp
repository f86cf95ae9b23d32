#include "world_fixture.hpp"

#include <catch2/catch.hpp>

#include <faultline/determinism.hpp>

#include <set>
#include <vector>

using namespace faultline;
using namespace faultline::world;
using namespace faultline::world::testing;
using namespace faultline::literals;

TEST_CASE("faults: business hours are weekdays 9 to 17 in the shifted UTC calendar",
          "[world][faults]") {
  BusinessHours h;
  CHECK(h.contains(UtcInstant::from_civil(2024, 1, 1, 9, 0, 0)));     // Monday 09:00
  CHECK(h.contains(UtcInstant::from_civil(2024, 1, 5, 16, 59, 59)));  // Friday 16:59:59
  CHECK_FALSE(h.contains(UtcInstant::from_civil(2024, 1, 5, 17, 0, 0)));
  CHECK_FALSE(h.contains(UtcInstant::from_civil(2024, 1, 1, 8, 59, 59)));
  CHECK_FALSE(h.contains(UtcInstant::from_civil(2024, 1, 6, 12, 0, 0)));  // Saturday
  CHECK_FALSE(h.contains(UtcInstant::from_civil(2024, 1, 7, 12, 0, 0)));  // Sunday
  h.utc_offset = -8_h;  // Pacific: Monday 09:00 local is 17:00 UTC
  CHECK(h.contains(UtcInstant::from_civil(2024, 1, 1, 17, 0, 0)));
  CHECK_FALSE(h.contains(UtcInstant::from_civil(2024, 1, 1, 9, 0, 0)));
  CHECK(h.contains(UtcInstant::from_civil(2024, 1, 6, 0, 30, 0)));  // Friday 16:30 local
}

TEST_CASE("faults: the Chaos Monkey preset kills only in business hours", "[world][faults]") {
  const Duration offset = GENERATE(Duration::zero(), -8_h);
  // Monday 2024-01-01 00:00 UTC; two weeks of work days.
  Simulation sim(Simulation::Options{11, UtcInstant::from_civil(2024, 1, 1)});
  World world(sim, quiet_params());
  two_regions(world, 4);
  for (std::uint32_t i = 0; i < 12; ++i) {
    world.add_node(HostId{i}, "api-" + std::to_string(i), "api", idle());
  }
  ChaosMonkeyParams cm;
  cm.groups = {"api"};
  cm.mean_workdays = 1.0;  // a kill every work day, so the test sees many
  cm.min_between = Duration::zero();
  cm.hours.utc_offset = offset;
  world.faults().chaos_monkey(cm);
  sim.run_until(Time::zero() + 15 * 24_h);

  std::vector<FiredFault> kills;
  for (const auto& f : world.faults().fired()) {
    if (f.origin == "chaos-monkey") {
      kills.push_back(f);
    }
  }
  // Ten work days in two weeks (the -8 h calendar starts on Sunday 16:00 local, and its
  // fifteenth day is Monday: so 10 or 11 work days fit).
  CHECK(kills.size() >= 10);
  CHECK(kills.size() <= 11);
  std::set<std::int64_t> days;
  for (const auto& k : kills) {
    INFO("kill at " << sim.utc(k.time).to_string());
    CHECK(k.kind == FaultKind::kCrash);
    CHECK(cm.hours.contains(sim.utc(k.time)));
    days.insert((sim.utc(k.time).unix_ns() + offset.ns()) / 86'400'000'000'000);
  }
  CHECK(days.size() == kills.size());  // at most one per day per group
  // Killed instances were replaced after restart_after.
  CHECK(world.faults().fired_count(FaultKind::kRestart) >= kills.size() - 1);
  CHECK(sim.metrics().counter("faults.fired/crash").value() == kills.size());
}

TEST_CASE("faults: Chaos Kong takes a region down and brings it back", "[world][faults]") {
  Simulation sim;
  World world(sim, quiet_params());
  two_regions(world, 2);
  NodeId east = world.add_node(host(world, "z1-h0"), "east", "svc", idle());
  NodeId west = world.add_node(host(world, "z3-h0"), "west", "svc", idle());
  world.faults().chaos_kong(ChaosKongParams{"r1", 10_s, 1_min});
  sim.run_until(Time::zero() + 30_s);
  CHECK_FALSE(world.node(east).up());
  CHECK_FALSE(world.host(host(world, "z2-h1")).up());
  CHECK(world.node(west).up());
  sim.run_until(Time::zero() + 2_min);
  CHECK(world.node(east).up());
  CHECK(world.node(east).incarnation() == 2);
}

TEST_CASE("faults: Latency Monkey slows every link of a group", "[world][faults][rpc]") {
  Simulation sim;
  World world(sim, quiet_params());
  two_regions(world, 2);
  struct Echo : Program {
    void start(Node& n) override {
      n.on_request([](const Message&, Responder r) { r.reply(Payload{}, 0); });
    }
  };
  NodeId s = world.add_node(host(world, "z1-h1"), "s", "slow",
                            [](Node&) { return std::make_unique<Echo>(); });
  NodeId c = world.add_node(host(world, "z1-h0"), "c", "client", idle());
  world.faults().latency_monkey(LatencyMonkeyParams{"slow", 1_s, 10_s, 400_ms});
  std::vector<Duration> lat;
  for (Duration at : {500_ms, 2_s, 20_s}) {
    sim.schedule_at(Time::zero() + at, [&] {
      world.node(c).call(s, Payload{}, 0, 5_s, [&](RpcResult r) { lat.push_back(r.latency); });
    });
  }
  sim.run_until(Time::zero() + 30_s);
  REQUIRE(lat.size() == 3);
  CHECK(lat[0] == 500_us);
  CHECK(lat[1] == 500_us + 800_ms);  // both directions
  CHECK(lat[2] == 500_us);
  CHECK(world.faults().fired_count(FaultKind::kLatency) == 2);  // the fault and its undo
}

TEST_CASE("faults: unknown targets and bad specs are refused when scheduled", "[world][faults]") {
  Simulation sim;
  World world(sim, quiet_params());
  two_regions(world, 1);
  FaultSpec f;
  f.kind = FaultKind::kCrash;
  f.target = Target{TargetKind::kZone, "z9"};
  CHECK_THROWS_WITH(world.faults().schedule(f), Catch::Contains("zone:z9"));
  f.target = Target{TargetKind::kZone, "z1"};
  f.kind = FaultKind::kLatency;
  CHECK_THROWS_WITH(world.faults().schedule(f), Catch::Contains("fault.amount"));
}

TEST_CASE("faults: random faults fire at the configured rate and are all recorded",
          "[world][faults]") {
  Simulation sim(Simulation::Options{5, UtcInstant::from_civil(2024, 1, 1)});
  World world(sim, quiet_params());
  two_regions(world, 3);
  for (std::uint32_t i = 0; i < 9; ++i) {
    world.add_node(HostId{i}, "n" + std::to_string(i), "g", idle());
  }
  RandomFaultSpec r;
  r.kind = FaultKind::kCrash;
  r.scope = Target{TargetKind::kAll, ""};
  r.pick = TargetKind::kNode;
  r.mean_interval = 10_s;
  r.shape.duration = 1_s;
  world.faults().add_random(r);
  sim.run_until(Time::zero() + 1000_s);
  const auto crashes = world.faults().fired_count(FaultKind::kCrash);
  CHECK(crashes == Approx(100).margin(30));
  CHECK(sim.metrics().counter("faults.fired").value() == world.faults().fired().size());
}

namespace {

/// A small cluster exchanging RPCs across zones and regions under random faults.
void busy_world(Simulation& sim) {
  WorldParams p;
  p.host_defaults.cpu.sample_interval = 1_s;
  p.network.cross_zone.drop = Ratio{1, 100};
  p.network.same_zone.duplicate = Ratio{1, 50};
  World world(sim, p);
  two_regions(world, 3);
  struct Peer : Program {
    void start(Node& n) override {
      n.on_request([&n](Message m) -> Task<Reply> {
        co_await n.compute(200_us);
        co_return Reply{m.payload, 512};
      });
      n.spawn(loop(n));
    }
    Task<void> loop(Node& n) {
      Rng rng = n.sim().rng("peer/" + n.name());
      for (;;) {
        co_await n.sleep(Duration::micros(rng.uniform_int(1000, 20000)));
        const NodeId dst{static_cast<std::uint32_t>(rng.below(n.world().node_count()))};
        RpcResult r = co_await n.call(dst, Payload::make<int>(1), 256, 50_ms);
        (void)r;
      }
    }
  };
  for (std::uint32_t i = 0; i < world.host_count(); ++i) {
    world.add_node(HostId{i}, "p" + std::to_string(i), "peers",
                   [](Node&) { return std::make_unique<Peer>(); });
  }
  RandomFaultSpec r;
  r.kind = FaultKind::kCrash;
  r.scope = Target{TargetKind::kAll, ""};
  r.mean_interval = 500_ms;
  r.shape.duration = 300_ms;
  world.faults().add_random(r);
  RandomFaultSpec part;
  part.kind = FaultKind::kPartition;
  part.scope = Target{TargetKind::kAll, ""};
  part.pick = TargetKind::kZone;
  part.mean_interval = 2_s;
  part.shape.duration = 1_s;
  world.faults().add_random(part);
  sim.run_until(Time::zero() + 10_s);
}

}  // namespace

TEST_CASE("world: the same seed gives the same trace hash", "[world][determinism]") {
  const DeterminismReport report = check_determinism(Simulation::Options{42, {}}, busy_world);
  INFO(report.describe());
  CHECK(report.deterministic);
  CHECK(report.records_first > 1000);
  // And a different seed gives a different run (the trace hash sees the faults and traffic).
  Simulation a(Simulation::Options{42, {}});
  busy_world(a);
  Simulation b(Simulation::Options{43, {}});
  busy_world(b);
  CHECK(a.trace().hash() == report.hash_first);
  CHECK(a.trace().hash() != b.trace().hash());
}

TEST_CASE("world: determinism holds across a sweep of seeds", "[world][determinism][.slow]") {
  const std::uint64_t seed = GENERATE(range<std::uint64_t>(1, 9));
  const DeterminismReport report = check_determinism(Simulation::Options{seed, {}}, busy_world);
  INFO("seed " << seed << ": " << report.describe());
  CHECK(report.deterministic);
}
