// Discovery through Eureka: the registry's leases, and the EVCache client's ring following the
// registry, so that a lost zone stops costing its clients the read timeout once Eureka has
// noticed (and not before), and a restarted server comes back into the ring.
#include "evcache_fixture.hpp"

#include <faultline/sim/evcache/cluster.hpp>
#include <faultline/sim/evcache/discovery.hpp>

#include <catch2/catch.hpp>

using namespace faultline;
using namespace faultline::sim::evcache;

namespace {

using test::read_now;

EvcacheParams params(bool discovery) {
  EvcacheParams p = test::three_zones();
  p.discovery.enabled = discovery;
  return p;
}

}  // namespace

TEST_CASE("registry: a lease not renewed for longer than the lease is evicted, and only then",
          "[evcache][discovery]") {
  const Time t0 = Time::zero();
  Registry r(3, t0);
  r.renew(1, t0 + Duration::seconds(30));
  CHECK(r.evict(t0 + Duration::seconds(90), Duration::seconds(90)).empty());  // exactly 90 s
  CHECK(r.evict(t0 + Duration::seconds(91), Duration::seconds(90)) ==
        std::vector<std::size_t>{0, 2});
  CHECK_FALSE(r.registered(0));
  CHECK(r.registered(1));
  CHECK(r.evict(t0 + Duration::seconds(91), Duration::seconds(90)).empty());  // gone already
  r.renew(0, t0 + Duration::seconds(100));  // a heartbeat registers it again
  CHECK(r.registered(0));
}

TEST_CASE("discovery: a lost zone costs its clients the timeout until Eureka drops it, then "
          "its reads go straight to another zone", "[evcache][discovery]") {
  const bool discovery = GENERATE(true, false);
  INFO("discovery " << discovery);
  Simulation sim;
  EvcacheCluster c(sim, params(discovery));
  c.write(1, 7);
  sim.run_for(Duration::seconds(5));
  c.fail_zone(0);

  // Within two leases (180 s from a renewal at most 30 s old) the zone is still in the ring.
  sim.run_for(Duration::seconds(145));
  CHECK(c.listed(0));
  auto r = read_now(sim, c, 0, 7);
  CHECK(r.served == Served::kFallback);
  CHECK(r.latency >= c.params().client.read_timeout);

  // Two leases (180 s) + eviction task (60 s) + fetch (30 s) after the last renewal: gone.
  sim.run_for(Duration::seconds(120));
  CHECK(c.listed(0) == !discovery);
  r = read_now(sim, c, 0, 7);
  CHECK(r.served == Served::kFallback);
  if (discovery) {
    CHECK(r.latency < c.params().client.read_timeout);  // no timeout paid
    CHECK(sim.metrics().counter("probe/evcache/discovery/zone-unlisted").value() == 1);
  } else {
    CHECK(r.latency >= c.params().client.read_timeout);
  }
}

TEST_CASE("discovery: a lost server's keys move to the zone's other servers; the rest stay",
          "[evcache][discovery]") {
  Simulation sim;
  EvcacheCluster c(sim, params(true));
  std::vector<world::NodeId> before;
  for (std::uint64_t k = 0; k < 200; ++k) {
    before.push_back(*c.server_for(0, k));
  }
  const world::NodeId lost = before[0];
  c.world().node(lost).host().crash();
  sim.run_for(Duration::seconds(270));
  int moved = 0;
  for (std::uint64_t k = 0; k < 200; ++k) {
    const world::NodeId now = *c.server_for(0, k);
    CHECK(now != lost);
    if (before[k] == lost) {
      ++moved;
    } else {
      CHECK(now == before[k]);  // Ketama: only the lost server's keys move
    }
  }
  CHECK(moved > 0);
  CHECK(c.listed(0));
}

TEST_CASE("discovery: a restarted server rejoins the ring after its first heartbeat and the "
          "next fetch", "[evcache][discovery]") {
  Simulation sim;
  EvcacheCluster c(sim, params(true));
  c.fail_zone(0);
  sim.run_for(Duration::seconds(270));
  REQUIRE_FALSE(c.listed(0));
  c.restore_zone(0);
  sim.run_for(Duration::seconds(29));  // no heartbeat yet: not registered
  CHECK_FALSE(c.listed(0));
  sim.run_for(Duration::seconds(32));  // registered at 30 s, fetched within 30 s more
  CHECK(c.listed(0));
  c.write(1, 9);
  sim.run_for(Duration::millis(50));
  CHECK(c.holds(0, 9));  // sets reach the zone again
  CHECK(read_now(sim, c, 0, 9).served == Served::kLocal);
}

TEST_CASE("discovery: a silent server expires two leases after its last heartbeat, as "
          "Eureka's code does, or one with expiry one-lease", "[evcache][discovery]") {
  const bool one_lease = GENERATE(false, true);
  INFO("one lease " << one_lease);
  Simulation sim;
  auto p = params(true);
  p.discovery.expiry =
      one_lease ? DiscoveryParams::Expiry::kOneLease : DiscoveryParams::Expiry::kTwoLeases;
  p.discovery.evict_every = Duration::seconds(1);  // the lease alone decides, to the second
  EvcacheCluster c(sim, p);
  c.fail_zone(0);
  // The last renewals were at most 30 s before the loss: with one lease (90 s) every server
  // is gone by 90 s + 1 s; with two (180 s), none is before 150 s.
  sim.run_for(Duration::seconds(92));
  const auto evicted = [&] {
    return sim.metrics().counter("probe/evcache/discovery/server-evicted").value();
  };
  CHECK(evicted() == (one_lease ? 4U : 0U));
  sim.run_for(Duration::seconds(57));  // 149 s
  CHECK(evicted() == (one_lease ? 4U : 0U));
  sim.run_for(Duration::seconds(32));  // 181 s
  CHECK(evicted() == 4U);
}

TEST_CASE("discovery params: a lease shorter than a heartbeat names the field and the fix",
          "[evcache][discovery]") {
  EvcacheParams p;
  p.discovery.enabled = true;
  p.discovery.lease = Duration::seconds(10);
  CHECK_THROWS_WITH(p.validate(), Catch::Contains("discovery.lease") &&
                                      Catch::Contains("at least one heartbeat interval"));
  p.discovery.enabled = false;  // off: its timers are not used
  CHECK_NOTHROW(p.validate());
}
