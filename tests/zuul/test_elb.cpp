// The families' ELBs in front of Zuul (sim/elb's ElbService in the stack): a workflow that
// programs a family's ELB from missing state black-holes that family alone; fail static,
// change management and a restore keep or bring it back; a replacement LB node is programmed
// from the state; with DNS failover only the broken family moves, and with failback it comes
// home once its ELB is repaired. Each test has the contrast that shows it can fail.
#include "fixtures.hpp"

#include <faultline/sim/elb/service.hpp>

#include <catch2/catch.hpp>

#include <algorithm>

using namespace zuul_test;

namespace {

/// tv and web, each through its own ELB of 3 nodes, in front of one region's Zuul. Every
/// workflow is a config push (all nodes), one every 20 s per ELB on average; tv's state is
/// deleted at 10 s and restored at 200 s.
zu::StackParams with_elbs() {
  auto p = two_origins(zu::Mode::event_loop);
  p.families[0].timeout = Duration::seconds(2);
  p.families[1].timeout = Duration::seconds(2);
  p.elb.enabled = true;
  p.elb.nodes = 3;
  p.elb.touch_mean = Duration::seconds(20);
  p.elb.control_plane.scale_ratio = 0.0;
  p.elb.state_loss = {.at = Duration::seconds(10),
                      .families = {"tv"},
                      .restored_at = Duration::seconds(200)};
  return p;
}

/// Availability of a family's requests that finished between two times.
struct Window {
  std::uint64_t ok0 = 0, failed0 = 0;
  void begin(const Simulation& sim, const std::string& family) {
    const auto n = zu::scope_names("family/" + family);
    ok0 = counter(sim, n.successes);
    failed0 = counter(sim, n.failures);
  }
  double end(const Simulation& sim, const std::string& family) const {
    const auto n = zu::scope_names("family/" + family);
    const double ok = static_cast<double>(counter(sim, n.successes) - ok0);
    const double failed = static_cast<double>(counter(sim, n.failures) - failed0);
    return ok + failed == 0 ? 0.0 : ok / (ok + failed);
  }
};

/// with_elbs() in two regions (us-east, us-west; tv and web homed in us-east), DNS failover on
/// each family's ELB's health checks (two failing 5 s checks, a 10 s TTL).
zu::StackParams two_regions_with_elbs(zu::Failover failover) {
  auto p = with_elbs();
  auto& m = p.multi_region;
  m.regions = {{"us-east", {"us-east-1a", "us-east-1b", "us-east-1c"}},
               {"us-west", {"us-west-2a", "us-west-2b", "us-west-2c"}}};
  m.failover = failover;
  m.dns.ttl = Duration::seconds(10);
  m.dns.resolvers = 100;
  m.check_interval = Duration::seconds(5);
  m.checks = 2;
  return p;
}

/// The "elb" trace records' kinds.
class ElbRecords : public TraceSink {
public:
  void on_record(const TraceRecordView& r) override {
    if (r.source == "elb") {
      kinds.emplace_back(r.kind);
    }
  }
  std::size_t count(std::string_view kind) const {
    return static_cast<std::size_t>(std::count(kinds.begin(), kinds.end(), kind));
  }
  std::vector<std::string> kinds;
};

}  // namespace

TEST_CASE("zuul elb: each family's ELB, its control plane and its state store are world nodes "
          "and fault targets, in every region",
          "[zuul][elb]") {
  Simulation sim({.seed = 1});
  const auto p = two_regions_with_elbs(zu::Failover::active_active);
  zu::EdgeStack stack(sim, p);
  auto& w = stack.world();
  for (const char* name : {"api-tv-0", "api-web-2", "elb-control-plane", "elb-state-store",
                           "api-tv@us-west-1", "elb-control-plane@us-west"}) {
    INFO(name);
    CHECK(w.find_node(name) != nullptr);
  }
  const auto groups = zu::EdgeStack::groups(p);
  for (const char* g : {"elb/api-tv", "elb/api-web", "elb/control-plane", "elb/state-store",
                        "elb/api-tv@us-west", "elb/control-plane@us-west"}) {
    INFO(g);
    CHECK(std::find(groups.begin(), groups.end(), g) != groups.end());
  }
  REQUIRE(stack.elb(1) != nullptr);
  CHECK(stack.elb(1)->elbs() == 2);
  auto without = p;
  without.elb.enabled = false;
  zu::EdgeStack plain(sim, without);
  CHECK(plain.elb(0) == nullptr);
  for (const auto& g : zu::EdgeStack::groups(without)) {
    CHECK_FALSE(g.starts_with("elb/"));
  }
}

TEST_CASE("zuul elb: a workflow that programs tv's ELB from missing state black-holes tv while "
          "web is served; fail static and change management keep tv served, the restore heals",
          "[zuul][elb]") {
  struct Out {
    double tv_damaged, web_damaged, tv_restored;
    int broken;
    std::size_t reprograms_from_missing, refused;
  };
  auto run = [](bool fail_static, bool change_managed) {
    Simulation sim({.seed = 21});
    ElbRecords records;
    sim.trace().attach(&records);
    auto p = with_elbs();
    p.elb.control_plane.fail_static = fail_static;
    p.elb.state_loss.change_managed = change_managed;
    zu::EdgeStack stack(sim, p);
    Out o{};
    // Pushes every 20 s on average: by 100 s tv's ELB has been touched (p of none ~ 1e-2).
    sim.run_until(at(100));
    Window tv, web;
    tv.begin(sim, "tv");
    web.begin(sim, "web");
    sim.run_until(at(195));
    o.tv_damaged = tv.end(sim, "tv");
    o.web_damaged = web.end(sim, "web");
    o.broken = stack.elb_broken_nodes("tv", "us-east");
    sim.run_until(at(230));  // the restore reprograms tv's ELB from the state
    tv.begin(sim, "tv");
    sim.run_until(at(300));
    o.tv_restored = tv.end(sim, "tv");
    o.reprograms_from_missing = records.count("reprogram");
    o.refused = records.count("refused");
    sim.trace().detach(&records);
    return o;
  };
  const Out broken = run(false, false);
  const Out fail_static = run(true, false);
  const Out managed = run(false, true);
  INFO("broken: tv " << broken.tv_damaged << " web " << broken.web_damaged << " nodes "
                     << broken.broken << " restored " << broken.tv_restored << "; fail static tv "
                     << fail_static.tv_damaged << " refused " << fail_static.refused
                     << "; managed tv " << managed.tv_damaged);
  CHECK(broken.broken == 3);  // a config push from missing state: no node has backends
  CHECK(broken.tv_damaged < 0.01);
  CHECK(broken.web_damaged > 0.999);  // web's ELB kept its state
  CHECK(broken.tv_restored > 0.999);
  CHECK(fail_static.broken == 0);
  CHECK(fail_static.tv_damaged > 0.999);
  CHECK(fail_static.refused > 0);
  CHECK(managed.broken == 0);
  CHECK(managed.tv_damaged > 0.999);
  CHECK(managed.refused == 0);
}

TEST_CASE("zuul elb: a crashed LB node comes back as a replacement that the control plane "
          "programs from the ELB's state, so missing state leaves it black-holing",
          "[zuul][elb]") {
  auto run = [](bool lose_state) {
    Simulation sim({.seed = 22});
    auto p = with_elbs();
    p.elb.touch_mean = Duration::hours(1000);  // no workflow touches the ELB on its own
    if (!lose_state) {
      p.elb.state_loss = {};
    }
    zu::EdgeStack stack(sim, p);
    crash(stack.world(), {world::TargetKind::kNode, "api-tv-1"}, Duration::seconds(20),
          Duration::seconds(10));
    sim.run_until(at(25));
    const int while_down = stack.elb_broken_nodes("tv", "us-east");
    sim.run_until(at(60));
    return std::pair{while_down, stack.elb_broken_nodes("tv", "us-east")};
  };
  const auto [lost_down, lost_after] = run(true);
  const auto [kept_down, kept_after] = run(false);
  INFO("state lost: " << lost_down << " -> " << lost_after << "; kept: " << kept_down << " -> "
                      << kept_after);
  CHECK(lost_down == 0);  // a crashed node is not a programmed one with no backends
  CHECK(lost_after == 1);
  CHECK(kept_after == 0);
}

TEST_CASE("zuul elb: with each family's ELB health-checked, DNS moves only tv, whose ELB is "
          "broken; failback brings it home once the state is restored",
          "[zuul][elb][regions]") {
  struct Out {
    double tv_west, web_west, tv_west_end, tv_late;
  };
  auto run = [](zu::Failover failover, bool failback) {
    Simulation sim({.seed = 23});
    auto p = two_regions_with_elbs(failover);
    p.multi_region.failback = failback;
    zu::EdgeStack stack(sim, p);
    Out o{};
    sim.run_until(at(190));
    o.tv_west = stack.dns_share("tv", "us-west");
    o.web_west = stack.dns_share("web", "us-west");
    Window tv;
    tv.begin(sim, "tv");
    sim.run_until(at(300));  // restored at 200 s: probes through tv's ELB pass again
    o.tv_west_end = stack.dns_share("tv", "us-west");
    o.tv_late = tv.end(sim, "tv");
    return o;
  };
  const Out aa = run(zu::Failover::active_active, false);
  const Out back = run(zu::Failover::active_active, true);
  const Out none = run(zu::Failover::none, false);
  INFO("active-active: tv " << aa.tv_west << " web " << aa.web_west << " end " << aa.tv_west_end
                            << "; failback end " << back.tv_west_end << "; none " << none.tv_west
                            << " tv late " << none.tv_late);
  CHECK(aa.tv_west == 1.0);
  CHECK(aa.web_west == 0.0);  // web's own ELB stayed healthy
  CHECK(aa.tv_west_end == 1.0);  // no failback: tv stays in us-west
  CHECK(aa.tv_late > 0.999);
  CHECK(back.tv_west == 1.0);
  CHECK(back.web_west == 0.0);
  CHECK(back.tv_west_end == 0.0);  // home again
  CHECK(none.tv_west == 0.0);
}
