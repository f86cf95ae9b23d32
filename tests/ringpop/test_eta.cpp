// Dispatch's ETA calls to a maps tier of the service graph (issue #16: "ETA comes from a maps
// service, so dispatch depends on maps"). The maps tier lives in the same World; each owner
// calls it from its own node through the edge's policy. Each test runs the counterfactual that
// makes its check fail.
#include "ringpop_fixture.hpp"

#include <faultline/sim/ringpop/dispatch.hpp>
#include <faultline/sim/services/service_graph.hpp>

#include <catch2/catch.hpp>

using namespace faultline;
using namespace faultline::sim::ringpop;
using namespace faultline::sim::ringpop::testing;
namespace svc = faultline::sim::services;
using world::FaultKind;

namespace {

svc::ServiceGraphParams maps_graph() {
  svc::ServiceGraphParams g;
  g.zones = {"zone-a"};  // ringpop's own zone: the maps hosts sit beside the members
  svc::TierParams maps;
  maps.name = "maps";
  maps.instances = 2;
  maps.cores = 4;
  maps.service_time.mean = Duration::millis(5);
  g.tiers.push_back(maps);
  return g;
}

struct EtaRun {
  std::uint64_t riders, matched, eta_failed, eta_degraded, eta_calls, eta_ok, attempts;
  double breaker_open = 0.0;  // the edge's live callers whose breaker is not closed, at the end
};

/// 10 members, dispatch with ETAs from a 2-instance maps tier; both maps instances crash at
/// 20 s (if `maps_down`) and stay down; riders counted from 25 s to 45 s.
EtaRun run(bool maps_down, bool breaker, bool fallback, bool eta = true) {
  Run r(small_params(10));
  svc::ServiceGraph graph(maps_graph());
  graph.build(*r.world);
  svc::CallPolicy policy;
  policy.timeout.timeout = Duration::millis(300);
  policy.retry.max_attempts = 2;
  policy.circuit_breaker_enabled = breaker;
  const std::size_t edge = graph.add_external_caller("dispatch->maps", "maps", policy);
  DispatchParams p;
  p.enabled = true;
  p.eta_fallback = fallback;
  Dispatch d(p, *r.cluster);
  if (eta) {
    d.set_eta([&](MemberId owner, std::function<void(bool)> done) {
      graph.call(edge, r.shared().node_of(owner), std::move(done));
    });
  }
  if (maps_down) {
    r.fault({.at = Duration::seconds(20), .kind = FaultKind::kCrash,
             .target = {world::TargetKind::kGroup, svc::ServiceGraph::tier_group("maps")},
             .peer = {}});
  }
  r.run_for(Duration::seconds(25));
  const auto before = EtaRun{r.counter("ringpop.dispatch.riders"),
                             r.counter("ringpop.dispatch.matched"),
                             r.counter("ringpop.dispatch.eta_failed"),
                             r.counter("ringpop.dispatch.eta_degraded"),
                             r.counter("services/client/dispatch->maps/requests"),
                             r.counter("services/client/dispatch->maps/successes"),
                             r.counter("services/client/dispatch->maps/attempts")};
  r.run_for(Duration::seconds(20));
  return EtaRun{r.counter("ringpop.dispatch.riders") - before.riders,
                r.counter("ringpop.dispatch.matched") - before.matched,
                r.counter("ringpop.dispatch.eta_failed") - before.eta_failed,
                r.counter("ringpop.dispatch.eta_degraded") - before.eta_degraded,
                r.counter("services/client/dispatch->maps/requests") - before.eta_calls,
                r.counter("services/client/dispatch->maps/successes") - before.eta_ok,
                r.counter("services/client/dispatch->maps/attempts") - before.attempts,
                graph.breaker_open_fraction("dispatch->maps")};
}

double matched_ratio(const EtaRun& e) {
  return static_cast<double>(e.matched) / static_cast<double>(e.riders);
}

}  // namespace

TEST_CASE("eta: every match asks the maps tier; with maps up riders are matched",
          "[ringpop][dispatch][eta]") {
  const auto up = run(false, false, false);
  REQUIRE(up.riders > 500);
  CHECK(matched_ratio(up) > 0.9);
  // Every match (and no unmatched rider) made one ETA call, and each came back.
  CHECK(up.eta_calls >= up.matched);
  CHECK(up.eta_calls <= up.matched + 50);  // calls still in flight at either edge
  CHECK(up.eta_failed == 0);
  // Counterfactual: without the ETA hook, no call reaches maps.
  const auto none = run(false, false, false, /*eta=*/false);
  CHECK(none.eta_calls == 0);
}

TEST_CASE("eta: maps down fails the matches; a breaker with degraded ETAs keeps them",
          "[ringpop][dispatch][eta]") {
  // Maps down, no fallback: the owners find drivers but every ETA call fails, so every rider
  // with a driver is unmatched.
  const auto down = run(true, false, false);
  REQUIRE(down.riders > 500);
  CHECK(matched_ratio(down) < 0.05);
  CHECK(down.eta_failed > down.riders / 2);
  // The breaker alone stops the calls (rejected locally) but still fails the match.
  const auto breaker_only = run(true, true, false);
  CHECK(matched_ratio(breaker_only) < 0.05);
  // Breaker with degraded (straight-line) ETAs: the match stands.
  const auto degraded = run(true, true, true);
  CHECK(matched_ratio(degraded) > 0.9);
  CHECK(degraded.eta_degraded > degraded.riders / 2);
  CHECK(degraded.eta_failed == 0);
  // The breaker sheds the calls to a dead tier: fewer attempts than without it.
  const auto fallback_only = run(true, false, true);
  CHECK(matched_ratio(fallback_only) > 0.9);
  CHECK(degraded.attempts * 5 < fallback_only.attempts);
  // The edge's breaker state is observable (the probe breaker_open/dispatch->maps): the
  // owners' breakers are open against the dead tier, and without breakers none is.
  CHECK(degraded.breaker_open > 0.5);
  CHECK(fallback_only.breaker_open == 0.0);
  CHECK(run(false, true, true).breaker_open == 0.0);  // breakers on, maps up: closed
}

namespace {

/// 60 riders sent at 20 s, 100 ms apart over the city's 64 cells, each owner asking a slow
/// maps tier (2 s per ETA, so about 20 riders wait for one at any time); three members crash at 23 s, while some of them hold riders
/// waiting for an ETA. Returns how many of the 60 were answered by 60 s, and how many by
/// their timeout.
std::pair<int, std::uint64_t> crashed_owner_riders(Duration rider_timeout) {
  Run r(small_params(10));
  svc::ServiceGraphParams g = maps_graph();
  g.tiers[0].service_time.mean = Duration::seconds(2);
  g.tiers[0].cores = 64;
  svc::ServiceGraph graph(g);
  graph.build(*r.world);
  svc::CallPolicy policy;
  policy.timeout.timeout = Duration::seconds(5);
  const std::size_t edge = graph.add_external_caller("dispatch->maps", "maps", policy);
  DispatchParams p;
  p.enabled = true;
  p.rider_interval = Duration::seconds(3600);  // only the riders this test sends
  p.rider_timeout = rider_timeout;
  Dispatch d(p, *r.cluster);
  d.set_eta([&](MemberId owner, std::function<void(bool)> done) {
    graph.call(edge, r.shared().node_of(owner), std::move(done));
  });
  r.run_for(Duration::seconds(20));  // drivers have reported everywhere
  int answered = 0;
  for (std::uint32_t i = 0; i < 60; ++i) {
    r.sim.schedule_after(Duration::millis(100) * static_cast<std::int64_t>(i),
                         [&d, &answered, i] { d.rider(i % d.cells(), [&answered](bool) { ++answered; }); });
  }
  for (MemberId m : {MemberId{1}, MemberId{4}, MemberId{7}}) {
    r.fault({.at = Duration::seconds(3), .kind = FaultKind::kCrash, .target = Run::node(m),
             .peer = {}});
  }
  r.run_for(Duration::seconds(40));
  return {answered, r.counter("ringpop.dispatch.rider_timeout")};
}

}  // namespace

TEST_CASE("eta: a rider whose owner crashes while it waits for an ETA is answered by its timeout",
          "[ringpop][dispatch][eta]") {
  const auto [answered, timeouts] = crashed_owner_riders(Duration::seconds(15));
  CHECK(answered == 60);  // every rider hears back, matched or not
  CHECK(timeouts > 0);    // some of them only through the rider's own deadline
  // Counterfactual: a rider that waits (practically) forever is never answered once the member
  // holding its request is gone.
  const auto [answered_no_deadline, timeouts_no_deadline] =
      crashed_owner_riders(Duration::seconds(3600));
  CHECK(answered_no_deadline < 60);
  CHECK(timeouts_no_deadline == 0);
}
