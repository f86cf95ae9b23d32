// The EVCache client against a simulated three-zone cluster: write-all, local reads, zone
// fallback on a timeout and on a miss, and write-only warm-up of a restarted zone. Each test
// drives the cluster by hand (no workload) and reads where a value came from.
#include "evcache_fixture.hpp"

#include <faultline/sim/evcache/cluster.hpp>

#include <catch2/catch.hpp>

using namespace faultline;
using namespace faultline::sim::evcache;

namespace {

using test::read_now;

EvcacheParams params() { return test::three_zones(); }

}  // namespace

TEST_CASE("a write goes to every zone's server group", "[evcache]") {
  Simulation sim;
  EvcacheCluster c(sim, params());
  c.write(1, 42);
  sim.run_for(Duration::millis(50));
  for (int g = 0; g < 3; ++g) {
    INFO("group " << g);
    CHECK(c.holds(g, 42));
  }
  // A local read is served by the local zone, within the in-zone round trip (§4.4: < 1 ms).
  auto r = read_now(sim, c, 2, 42);
  CHECK(r.served == Served::kLocal);
  CHECK(r.latency < Duration::millis(1) * 3);
}

TEST_CASE("reads fall back to another zone when the local zone times out", "[evcache]") {
  Simulation sim;
  auto p = params();
  const bool fallback = GENERATE(true, false);
  p.client.fallback_on_error = fallback;
  EvcacheCluster c(sim, p);
  c.write(0, 5);
  sim.run_for(Duration::millis(50));
  c.fail_zone(0);
  auto r = read_now(sim, c, 0, 5);
  INFO("fallback_on_error " << fallback);
  CHECK(r.latency >= p.client.read_timeout);  // the lost zone never answers
  if (fallback) {
    CHECK(r.served == Served::kFallback);
    CHECK(r.fell_back);
  } else {
    CHECK(r.served == Served::kStore);
  }
}

TEST_CASE("reads fall back to another zone after a local miss", "[evcache]") {
  Simulation sim;
  auto p = params();
  const bool fallback = GENERATE(true, false);
  p.client.fallback_on_miss = fallback;
  p.client.fill_on_miss = false;
  EvcacheCluster c(sim, p);
  c.fail_zone(0);
  c.write(1, 9);  // zone 0 is down: only zones 1 and 2 get the item
  sim.run_for(Duration::millis(50));
  c.restore_zone(0);  // back, empty
  REQUIRE_FALSE(c.holds(0, 9));
  REQUIRE(c.holds(1, 9));
  auto r = read_now(sim, c, 0, 9);
  INFO("fallback_on_miss " << fallback);
  CHECK(r.served == (fallback ? Served::kFallback : Served::kStore));
}

TEST_CASE("a restarted zone in write-only mode sends its reads to warm zones", "[evcache]") {
  Simulation sim;
  auto p = params();
  p.client.fallback_on_miss = false;  // only write-only mode keeps reads off the cold zone
  p.warmup.write_only = GENERATE(true, false);
  p.warmup.duration = Duration::seconds(30);
  EvcacheCluster c(sim, p);
  c.write(0, 3);
  sim.run_for(Duration::millis(50));
  c.fail_zone(0);
  sim.run_for(Duration::seconds(1));
  c.restore_zone(0);
  INFO("write_only " << p.warmup.write_only);
  CHECK(c.write_only(0) == p.warmup.write_only);
  auto r = read_now(sim, c, 0, 3);
  if (p.warmup.write_only) {
    CHECK(r.served == Served::kFallback);
    CHECK(r.latency < p.client.read_timeout);  // asked a warm zone directly
    // Writes still reach the write-only zone, so it warms.
    c.write(1, 3);
    sim.run_for(Duration::millis(50));
    CHECK(c.holds(0, 3));
    sim.run_for(Duration::seconds(30));
    CHECK_FALSE(c.write_only(0));
    CHECK(read_now(sim, c, 0, 3).served == Served::kLocal);
  } else {
    CHECK(r.served == Served::kStore);  // the miss storm, one read of it
  }
}

namespace {
/// Writes keys [0, n) through zone 1's client (every zone gets them) and lets them land.
void write_keys(Simulation& sim, EvcacheCluster& c, std::uint64_t from, std::uint64_t to) {
  for (std::uint64_t k = from; k < to; ++k) {
    c.write(1, k);
  }
  sim.run_for(Duration::millis(50));
}
}  // namespace

TEST_CASE("with until_fill, a write-only zone comes home once it holds that share of its "
          "peers' items", "[evcache]") {
  Simulation sim;
  auto p = params();
  p.warmup.write_only = true;
  p.warmup.duration = Duration::seconds(600);  // the longest window: far away
  p.warmup.until_fill = 0.5;
  EvcacheCluster c(sim, p);
  write_keys(sim, c, 0, 1000);
  c.fail_zone(0);
  sim.run_for(Duration::seconds(1));
  c.restore_zone(0);
  REQUIRE(c.write_only(0));
  sim.run_for(Duration::seconds(3));
  CHECK(c.write_only(0));  // empty: nothing to compare yet
  REQUIRE(c.fill(0).has_value());
  CHECK(*c.fill(0) == 0.0);

  write_keys(sim, c, 0, 400);  // 400 of the peers' 1000: not warm enough
  sim.run_for(Duration::seconds(3));
  CHECK(*c.fill(0) == Approx(0.4));
  CHECK(c.write_only(0));

  write_keys(sim, c, 400, 600);  // 600 of 1000: warm enough
  sim.run_for(Duration::millis(1100));  // the next once-a-second check
  CHECK_FALSE(c.write_only(0));
  CHECK(read_now(sim, c, 0, 10).served == Served::kLocal);
}

TEST_CASE("with until_fill, a zone that never fills stays write-only for the whole duration",
          "[evcache]") {
  Simulation sim;
  auto p = params();
  p.warmup.write_only = true;
  p.warmup.duration = Duration::seconds(20);
  p.warmup.until_fill = 0.9;
  EvcacheCluster c(sim, p);
  write_keys(sim, c, 0, 1000);
  c.fail_zone(0);
  sim.run_for(Duration::seconds(1));
  c.restore_zone(0);
  write_keys(sim, c, 0, 500);
  sim.run_for(Duration::seconds(19));
  CHECK(c.write_only(0));
  sim.run_for(Duration::seconds(1));
  CHECK_FALSE(c.write_only(0));  // the longest window is over
}

TEST_CASE("with until_fill, a zone with no warm peer to compare with stays write-only for the "
          "whole duration", "[evcache]") {
  Simulation sim;
  auto p = params();
  p.warmup.write_only = true;
  p.warmup.duration = Duration::seconds(20);
  p.warmup.until_fill = 0.5;
  EvcacheCluster c(sim, p);
  write_keys(sim, c, 0, 100);
  for (int z = 0; z < 3; ++z) {
    c.fail_zone(z);
  }
  sim.run_for(Duration::seconds(1));
  for (int z = 0; z < 3; ++z) {
    c.restore_zone(z);  // all cold, all write-only
  }
  write_keys(sim, c, 0, 100);
  CHECK_FALSE(c.fill(0).has_value());
  sim.run_for(Duration::seconds(19));
  CHECK(c.write_only(0));
  sim.run_for(Duration::seconds(1));
  CHECK_FALSE(c.write_only(0));
}

TEST_CASE("an unreplicated cache sends everything to the store once its zone is lost",
          "[evcache]") {
  Simulation sim;
  auto p = params();
  p.replicated = false;
  EvcacheCluster c(sim, p);
  REQUIRE(c.groups() == 1);
  c.write(2, 11);
  sim.run_for(Duration::millis(50));
  CHECK(read_now(sim, c, 2, 11).served == Served::kLocal);  // served by the only group
  c.fail_zone(0);
  CHECK(read_now(sim, c, 2, 11).served == Served::kStore);
}

TEST_CASE("a read that misses everywhere goes to the store and fills every zone", "[evcache]") {
  Simulation sim;
  auto p = params();
  p.client.fill_on_miss = GENERATE(true, false);
  EvcacheCluster c(sim, p);
  auto r = read_now(sim, c, 1, 77);
  CHECK(r.served == Served::kStore);
  INFO("fill_on_miss " << p.client.fill_on_miss);
  for (int g = 0; g < 3; ++g) {
    CHECK(c.holds(g, 77) == p.client.fill_on_miss);
  }
  // With the fill, the next read is a local hit.
  CHECK((read_now(sim, c, 1, 77).served == Served::kLocal) == p.client.fill_on_miss);
}

TEST_CASE("a read served by another zone pays the cross-zone round trip", "[evcache]") {
  Simulation sim;
  auto p = params();
  p.client.fill_on_miss = false;
  EvcacheCluster c(sim, p);
  c.fail_zone(0);
  c.write(1, 8);
  sim.run_for(Duration::millis(50));
  c.restore_zone(0);  // empty: the read misses locally, then falls back to zone b
  auto r = read_now(sim, c, 0, 8);
  REQUIRE(r.served == Served::kFallback);
  // One in-zone round trip (the miss) plus one cross-zone round trip: EVCache, > 2 ms.
  CHECK(r.latency > Duration::millis(2) + Duration::micros(500));
  CHECK(r.latency < p.client.read_timeout);
}

TEST_CASE("an item expires at its TTL in every zone and the next read goes to the store",
          "[evcache]") {
  Simulation sim;
  auto p = params();
  p.client.ttl = Duration::seconds(30);
  EvcacheCluster c(sim, p);
  c.write(0, 4);
  sim.run_for(Duration::seconds(29));
  CHECK(read_now(sim, c, 0, 4).served == Served::kLocal);
  sim.run_for(Duration::seconds(1));
  CHECK(read_now(sim, c, 0, 4).served == Served::kStore);
}

TEST_CASE("servers are world nodes: a partition between a zone's clients and its servers sends "
          "its reads to another zone after the timeout",
          "[evcache][world]") {
  // With the servers off the world (no messages, no hosts) a partition would change nothing and
  // every check below fails.
  Simulation sim;
  EvcacheCluster c(sim, params());
  auto& w = c.world();
  c.write(0, 6);
  sim.run_for(Duration::millis(50));
  CHECK(read_now(sim, c, 0, 6).served == Served::kLocal);
  world::FaultSpec cut;
  cut.kind = world::FaultKind::kPartition;
  cut.target = {world::TargetKind::kNode, "client-a"};
  cut.peer = {world::TargetKind::kGroup, "evcache/a"};
  cut.duration = Duration::seconds(10);
  w.faults().apply(cut);
  auto r = read_now(sim, c, 0, 6);
  CHECK(r.served == Served::kFallback);
  CHECK(r.latency >= params().client.read_timeout);
  CHECK(c.holds(0, 6));  // the servers still have it: only the path is cut
  sim.run_for(Duration::seconds(10));
  CHECK(read_now(sim, c, 0, 6).served == Served::kLocal);  // healed
}

TEST_CASE("evcache params: until_fill outside 0..1 names the field and the fix", "[evcache]") {
  EvcacheParams p;
  p.warmup.until_fill = -0.1;
  CHECK_THROWS_WITH(p.validate(), Catch::Contains("warmup.until_fill") &&
                                      Catch::Contains("e.g. 0.9"));
  p.warmup.until_fill = 0.9;
  CHECK_NOTHROW(p.validate());
}
