// The ELB region against simulated fleets: reprogramming from missing state, running ELBs that
// keep routing until a workflow touches them, fail static, damage growing with control-plane
// activity, the restore, and DNS failover with a TTL.
#include <faultline/sim/elb/region.hpp>

#include <catch2/catch.hpp>

using namespace faultline;
using namespace faultline::sim::elb;

namespace {

/// One family ("tv"), no fleet, no scheduled incident, workflows that (almost) never run on
/// their own: tests drive delete_state() and touch() by hand.
ElbParams quiet() {
  ElbParams p;
  p.fleet.elbs = 0;
  p.families = {FamilyParams{"tv", 20.0, false, 6, Duration::hours(10000)}};
  p.incident.enabled = false;
  return p;
}

/// quiet() with DNS failover to the other region in `mode`.
ElbParams failing_over(FailoverParams::Mode mode) {
  auto p = quiet();
  p.failover.enabled = true;
  p.failover.mode = mode;
  return p;
}

std::uint64_t counter(const Simulation& sim, const std::string& name) {
  const auto* c = sim.metrics().find_counter(name);
  return c == nullptr ? 0 : c->value();
}

/// The control plane and the LB nodes are world nodes: they boot at t = 0, and a workflow is a
/// store round trip and a message to each node, all done within a second.
void settle(Simulation& sim) { sim.run_for(Duration::seconds(1)); }

world::FaultSpec crash(world::Target target, Duration d) {
  world::FaultSpec f;
  f.kind = world::FaultKind::kCrash;
  f.target = std::move(target);
  f.duration = d;
  return f;
}

}  // namespace

TEST_CASE("a workflow reprograms an ELB from missing state with no backends; intact state "
          "programs it correctly",
          "[elb]") {
  Simulation sim;
  ElbRegion r(sim, quiet());
  settle(sim);
  REQUIRE(r.touch(0, false));  // intact: nothing breaks
  settle(sim);
  CHECK(r.broken_nodes(0) == 0);
  r.delete_state(0);
  settle(sim);
  CHECK(r.broken_nodes(0) == 0);  // the deletion alone changes nothing in the data plane
  r.touch(0, true);               // a scale event: one node programmed from missing state
  settle(sim);
  CHECK(r.broken_nodes(0) == 1);
  r.touch(0, false);  // a config push: every node
  settle(sim);
  CHECK(r.broken_nodes(0) == 6);
  CHECK(r.impacted() == 1);
  const auto cp = control_plane_metric_names();
  CHECK(counter(sim, cp.failures) == 2);
  CHECK(counter(sim, cp.successes) == 1);
}

TEST_CASE("a running ELB whose state is gone keeps routing until a workflow touches it", "[elb]") {
  Simulation sim;
  ElbRegion r(sim, quiet());
  r.start();
  r.delete_state(0);
  sim.run_for(Duration::minutes(10));
  const auto n = family_metric_names("tv");
  CHECK(counter(sim, n.failures) == 0);
  CHECK(counter(sim, n.successes) > 10000);
  r.touch(0, false);
  sim.run_for(Duration::minutes(10));
  CHECK(counter(sim, n.failures) > 10000);  // every node black-holes from now on
}

TEST_CASE("a fail-static control plane refuses to touch an ELB whose state is missing", "[elb]") {
  Simulation sim;
  auto p = quiet();
  p.control_plane.fail_static = GENERATE(true, false);
  ElbRegion r(sim, p);
  settle(sim);
  r.delete_state(0);
  r.touch(0, false);
  settle(sim);
  INFO("fail_static " << p.control_plane.fail_static);
  CHECK(r.broken_nodes(0) == (p.control_plane.fail_static ? 0 : 6));
  // Either way the API call errors: the state is still missing.
  CHECK(counter(sim, control_plane_metric_names().failures) == 1);
}

TEST_CASE("the damage grows with control-plane activity and stops when workflows are disabled",
          "[elb]") {
  auto impacted_at = [](Duration touch_mean, Duration at) {
    Simulation sim;
    ElbParams p;
    p.fleet.elbs = 1000;
    p.fleet.touch_mean = touch_mean;
    p.families = {FamilyParams{"tv", 0.01, false, 6, Duration::hours(10000)}};
    p.incident.deleted_fraction = 0.1;  // 100 ELBs
    ElbRegion r(sim, p);
    r.start();
    sim.run_until(Time::from_ns(at.ns()));
    return r.impacted();
  };
  // T0 = 24 min, workflows disabled at 5 h: a busy control plane breaks more of the 100.
  const int busy = impacted_at(Duration::hours(1), Duration::hours(4));
  const int quiet_cp = impacted_at(Duration::hours(8), Duration::hours(4));
  INFO("busy " << busy << " quiet " << quiet_cp);
  CHECK(busy > 90);
  CHECK(quiet_cp < 50);
  CHECK(busy <= 100);  // only ELBs whose state was deleted
  // Once workflows are off (5 h) nothing more breaks: the same count at 5 h and at 14 h.
  CHECK(impacted_at(Duration::hours(8), Duration::hours(5)) ==
        impacted_at(Duration::hours(8), Duration::hours(14)));
}

TEST_CASE("the merge of the restored snapshot brings every ELB back within the re-enable period",
          "[elb]") {
  Simulation sim;
  ElbParams p;
  p.fleet.elbs = 200;
  p.fleet.touch_mean = Duration::hours(1);
  p.incident.families_repaired_at = Duration::zero();
  ElbRegion r(sim, p);
  r.start();
  sim.run_until(Time::from_ns(p.incident.merged_at.ns()));
  CHECK(r.impacted() > 10);
  sim.run_until(Time::from_ns((p.incident.merged_at + p.incident.reenable_over).ns()));
  CHECK(r.impacted() == 0);
}

TEST_CASE("DNS failover moves a family to the other region after its health checks fail, "
          "within the TTL",
          "[elb]") {
  Simulation sim;
  auto p = quiet();
  p.failover.enabled = GENERATE(true, false);
  p.failover.check_interval = Duration::minutes(1);
  p.failover.checks = 2;
  p.failover.dns_ttl = Duration::seconds(60);
  ElbRegion r(sim, p);
  r.start();
  settle(sim);
  r.delete_state(0);
  r.touch(0, false);  // every node broken at t = 0
  const auto n = family_metric_names("tv");
  // Checks at 1 and 2 min fail: DNS switches at 2 min. Black-holed requests fail 10 s later.
  sim.run_until(Time::from_ns(Duration::seconds(130).ns()));
  INFO("failover " << p.failover.enabled);
  CHECK(r.failed_over(0) == p.failover.enabled);
  const auto at_switch = counter(sim, n.failures);
  // Clients whose cached answer has not expired still reach the broken ELB during the TTL.
  sim.run_until(Time::from_ns(Duration::seconds(190).ns()));
  const auto after_ttl = counter(sim, n.failures);
  CHECK(after_ttl > at_switch + 100);
  sim.run_for(Duration::minutes(10));
  if (p.failover.enabled) {
    CHECK(after_ttl < at_switch + 20 * 60);  // fewer than without failover over that minute
    CHECK(counter(sim, n.failures) == after_ttl);  // nothing fails once every client moved
  } else {
    CHECK(counter(sim, n.failures) > after_ttl + 10000);
  }
}

TEST_CASE("DNS failover waits for sticky resolvers: detection + TTL + stickiness", "[elb]") {
  // 30 % of the resolvers keep an answer 10 min past its TTL: those devices keep reaching the
  // broken ELB long after the TTL, and only after TTL + 10 min has every device moved.
  Simulation sim;
  auto p = failing_over(FailoverParams::Mode::kActiveActive);
  p.failover.check_interval = Duration::minutes(1);
  p.failover.checks = 2;
  p.failover.dns_ttl = Duration::seconds(60);
  p.failover.sticky_fraction = GENERATE(0.0, 0.3);
  p.failover.sticky_extra = Duration::minutes(10);
  ElbRegion r(sim, p);
  r.start();
  settle(sim);
  r.delete_state(0);
  r.touch(0, false);
  const auto n = family_metric_names("tv");
  sim.run_until(Time::from_ns(Duration::minutes(5).ns()));  // switched at 2 min, + TTL + slack
  const auto before = counter(sim, n.failures);
  sim.run_until(Time::from_ns(Duration::minutes(8).ns()));
  const auto during = counter(sim, n.failures) - before;
  INFO("sticky_fraction " << p.failover.sticky_fraction << ", failures over 5-8 min " << during);
  CHECK(r.other_region_share(0) < (p.failover.sticky_fraction > 0 ? 0.95 : 1.01));
  if (p.failover.sticky_fraction > 0) {
    CHECK(during > 300);  // 14-22 % of 20/s for 3 min (~650) still black-holed
  } else {
    CHECK(during == 0);
  }
  sim.run_until(Time::from_ns(Duration::minutes(14).ns()));
  const auto settled = counter(sim, n.failures);
  sim.run_until(Time::from_ns(Duration::minutes(20).ns()));
  CHECK(counter(sim, n.failures) == settled);
  CHECK(r.other_region_share(0) == 1.0);
}

namespace {
/// Median stream-start latency of the "tv" family over a 10-minute run whose ELB broke at 1 s
/// (every request sent to it fails, so the latencies are the other region's but for the first
/// second's), or of an intact run.
double failed_over_p50_ms(FailoverParams::Mode mode, bool break_elb) {
  Simulation sim;
  ElbRegion r(sim, failing_over(mode));
  r.start();
  settle(sim);
  if (break_elb) {
    r.delete_state(0);
    r.touch(0, false);
  }
  sim.run_until(Time::from_ns(Duration::minutes(10).ns()));
  const auto* lat = sim.metrics().find_histogram(family_metric_names("tv").latency);
  REQUIRE(lat != nullptr);
  REQUIRE(lat->count() > 5000);
  CHECK(r.failed_over(0) == break_elb);
  return static_cast<double>(lat->quantile(0.5)) / 1e6;
}
}  // namespace

TEST_CASE("the other region is a round trip farther, and Isthmus tunnels one more", "[elb]") {
  // Served here: 60 ms round trip over the world's cross-region link + 40 ms + Exp(20 ms), a
  // median of ~114 ms. Active-active adds `extra_latency` (60 ms) on the link to us-west;
  // Isthmus adds `tunnel_latency` (60 ms) more on the link from us-west back to us-east.
  const double here = failed_over_p50_ms(FailoverParams::Mode::kActiveActive, false);
  const double active = failed_over_p50_ms(FailoverParams::Mode::kActiveActive, true);
  const double isthmus = failed_over_p50_ms(FailoverParams::Mode::kIsthmus, true);
  INFO("p50 here " << here << " ms, active-active " << active << " ms, Isthmus " << isthmus
                   << " ms");
  CHECK(here > 105);
  CHECK(here < 125);
  CHECK(active - here > 50);
  CHECK(active - here < 70);
  CHECK(isthmus - active > 50);
  CHECK(isthmus - active < 70);
}

TEST_CASE("the other region is world nodes: cut it off and the failed-over devices fail",
          "[elb]") {
  // After the switch every device calls the other region's ELB. Partition the internet from
  // us-west (Isthmus: or us-west from us-east, the tunnel) and those calls time out; the
  // failures do not feed this region's health check, so DNS does not switch back.
  // Active-active never uses the us-east <-> us-west link: three cases, not four.
  const int which = GENERATE(0, 1, 2);
  const auto mode =
      which == 0 ? FailoverParams::Mode::kActiveActive : FailoverParams::Mode::kIsthmus;
  const bool cut_tunnel = which == 2;
  Simulation sim;
  ElbRegion r(sim, failing_over(mode));
  r.start();
  settle(sim);
  r.delete_state(0);
  r.touch(0, false);
  sim.run_until(Time::from_ns(Duration::minutes(5).ns()));
  REQUIRE(r.failed_over(0));
  const auto n = family_metric_names("tv");
  const auto failed = counter(sim, n.failures);
  const auto served = counter(sim, n.successes);
  sim.run_until(Time::from_ns(Duration::minutes(6).ns()));
  INFO(to_string(mode) << (cut_tunnel ? ", tunnel cut" : ", internet cut"));
  CHECK(counter(sim, n.failures) == failed);  // failed over and healthy
  world::FaultSpec cut;
  cut.kind = world::FaultKind::kPartition;
  cut.target = {world::TargetKind::kRegion, "us-west"};
  cut.peer = {world::TargetKind::kRegion, cut_tunnel ? "us-east" : "internet"};
  cut.duration = Duration::minutes(2);
  r.world().faults().apply(cut);
  const auto served_at_cut = counter(sim, n.successes);
  sim.run_until(Time::from_ns(Duration::minutes(8).ns()));
  CHECK(counter(sim, n.failures) > failed + 20 * 100);  // 20/s for ~2 min, less the timeouts'
  CHECK(counter(sim, n.successes) < served_at_cut + 20);
  CHECK(r.failed_over(0));  // its own region's health check saw none of it
  sim.run_until(Time::from_ns(Duration::minutes(10).ns()));
  CHECK(counter(sim, n.successes) > served_at_cut + 20 * 60);  // healed: served again
  CHECK(served > 0);
}

namespace {
/// Collects the kinds and the ELB of the `elb` trace records.
class ElbRecords : public TraceSink {
public:
  void on_record(const TraceRecordView& r) override {
    if (r.source != "elb") {
      return;
    }
    std::string line(r.kind);
    for (const auto& f : r.fields) {
      line += " " + std::string(f.key) + "=" + f.value.to_string();
    }
    lines.push_back(line);
  }
  bool has(std::string_view needle) const {
    for (const auto& l : lines) {
      if (l.find(needle) != std::string::npos) {
        return true;
      }
    }
    return false;
  }
  std::vector<std::string> lines;
};
}  // namespace

TEST_CASE("reprogramming, refusals and failover are trace records on the ELB's own track",
          "[elb]") {
  Simulation sim;
  ElbRecords records;
  sim.trace().attach(&records);
  auto p = failing_over(FailoverParams::Mode::kActiveActive);
  ElbRegion r(sim, p);
  r.start();
  settle(sim);
  r.delete_state(0);
  r.touch(0, true);   // one node of six: 17 % errors, under the 20 % health threshold
  r.touch(0, false);  // every node
  sim.run_for(Duration::minutes(5));
  INFO(records.lines.size() << " records");
  CHECK(records.has("reprogram node=api-tv from_missing_state=true scale=true nodes=1 backends=0"));
  CHECK(records.has("failover node=api-tv family=tv"));
}

TEST_CASE("LB nodes are world nodes: a crashed node costs requests, and its replacement is "
          "programmed from the ELB's state",
          "[elb][world]") {
  // Removing the world layer (nodes not on hosts, or the factory not programming a node that
  // boots again) fails the failure count or the broken-node count below.
  Simulation sim;
  auto p = quiet();
  p.control_plane.fail_static = GENERATE(false, true);
  ElbRegion r(sim, p);
  r.start();
  sim.run_for(Duration::seconds(1));  // the nodes boot
  auto& w = r.world();
  // Two of six nodes (one host each) lose power for a minute; the ELB's state is intact.
  for (int i = 0; i < 2; ++i) {
    w.faults().apply(crash({world::TargetKind::kHost, w.node(r.lb_node(0, i)).host().name()},
                           Duration::minutes(1)));
  }
  sim.run_for(Duration::seconds(50));
  const auto n = family_metric_names("tv");
  const auto failed_while_down = counter(sim, n.failures);
  // 20 req/s for 50 s, a third of them to a dead node (timed out after 10 s): ~230 failures.
  CHECK(failed_while_down > 150);
  CHECK(failed_while_down < 330);
  sim.run_for(Duration::seconds(40));  // the hosts are back; their replacements from intact state
  CHECK(r.broken_nodes(0) == 0);
  const auto cp = control_plane_metric_names();
  CHECK(counter(sim, cp.successes) == 2);  // two replacements programmed
  const auto before = counter(sim, n.failures);
  sim.run_for(Duration::minutes(1));
  CHECK(counter(sim, n.failures) == before);
  // Now the state is gone and a node is replaced: from missing state it gets no backends,
  // unless the control plane fails static.
  r.delete_state(0);
  w.faults().apply(
      crash({world::TargetKind::kNode, w.node(r.lb_node(0, 3)).name()}, Duration::seconds(5)));
  sim.run_for(Duration::seconds(10));
  INFO("fail_static " << p.control_plane.fail_static);
  CHECK(counter(sim, cp.failures) == 1);
  CHECK(r.broken_nodes(0) == (p.control_plane.fail_static ? 0 : 1));
}

TEST_CASE("the control plane is a world node: while it is down no workflow runs, so missing "
          "state misprograms nothing and running ELBs keep routing",
          "[elb][world]") {
  // With the control plane outside the world (workflows on the kernel's timers), the busy
  // workflows below would break the ELB while its host is down, and the checks at 30 min fail.
  Simulation sim;
  auto p = quiet();
  p.families.front().touch_mean = Duration::minutes(1);
  ElbRegion r(sim, p);
  r.start();
  settle(sim);
  auto& w = r.world();
  const auto cp_requests = control_plane_metric_names().requests;
  const auto runs_before = counter(sim, cp_requests);
  w.faults().apply(crash({world::TargetKind::kGroup, "elb/control-plane"}, Duration::minutes(30)));
  r.delete_state(0);
  sim.run_for(Duration::minutes(29));
  const auto n = family_metric_names("tv");
  CHECK_FALSE(r.touch(0, false));  // nobody to run it
  CHECK(r.broken_nodes(0) == 0);
  CHECK(counter(sim, n.failures) == 0);
  CHECK(counter(sim, cp_requests) == runs_before);
  // Back up, its workflows resume and program the ELB from the missing state.
  sim.run_for(Duration::minutes(15));
  CHECK(r.broken_nodes(0) > 0);
  CHECK(counter(sim, n.failures) > 0);
}

TEST_CASE("a state store that does not answer fails workflows without misprogramming, and a "
          "replacement node serves nothing until the store answers again",
          "[elb][world]") {
  Simulation sim;
  ElbRecords records;
  sim.trace().attach(&records);
  ElbRegion r(sim, quiet());
  r.start();
  settle(sim);
  auto& w = r.world();
  const auto cp = control_plane_metric_names();
  const world::Target store{world::TargetKind::kGroup, "elb/state-store"};
  // The store is down for 5 min; meanwhile LB node 0's host loses power for 10 s.
  w.faults().apply(crash(store, Duration::minutes(5)));
  w.faults().apply(crash({world::TargetKind::kHost, w.node(r.lb_node(0, 0)).host().name()},
                         Duration::seconds(10)));
  sim.run_for(Duration::minutes(2));
  CHECK(r.broken_nodes(0) == 1);  // the replacement has no backend list yet
  CHECK(counter(sim, cp.failures) >= 2);  // its requests, each failing on the store
  CHECK(counter(sim, cp.successes) == 0);
  sim.run_for(Duration::minutes(4));  // the store is back; the replacement asks again
  CHECK(r.broken_nodes(0) == 0);
  CHECK(counter(sim, cp.successes) == 1);
  // Missing state behind a store that does not answer: the workflow fails as an API error
  // and changes nothing; the same push with the store up misprograms every node.
  r.delete_state(0);
  const bool store_down = GENERATE(true, false);
  if (store_down) {
    w.faults().apply(crash(store, Duration::minutes(5)));
  }
  const auto failures = counter(sim, cp.failures);
  REQUIRE(r.touch(0, false));
  sim.run_for(Duration::seconds(30));
  INFO("store down " << store_down);
  CHECK(counter(sim, cp.failures) == failures + 1);
  CHECK(r.broken_nodes(0) == (store_down ? 0 : 6));
  CHECK(records.has("workflow-failed node=api-tv reason=state store did not answer"));
}
