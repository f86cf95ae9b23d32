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
                r.counter("services/client/dispatch->maps/attempts") - before.attempts};
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
}
