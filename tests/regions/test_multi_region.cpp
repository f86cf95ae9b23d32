// Regions against simulated traffic: DNS failover takes detection + TTL (+ stickiness), Isthmus
// serves from the home region's backend through the other region's edge, and a gradual
// evacuation is absorbed where a sudden cut is not.
#include <faultline/sim/regions/multi_region.hpp>

#include <catch2/catch.hpp>

#include <algorithm>

using namespace faultline;
using namespace faultline::sim::regions;

namespace {

std::uint64_t counter(const Simulation& sim, const std::string& name) {
  const auto* c = sim.metrics().find_counter(name);
  return c == nullptr ? 0 : c->value();
}

struct Totals {
  std::uint64_t requests, successes, failures;
};
Totals totals(const Simulation& sim, std::string_view scope) {
  const auto n = scope_metric_names(scope);
  return {counter(sim, n.requests), counter(sim, n.successes), counter(sim, n.failures)};
}

/// Two regions with capacity for both populations (no autoscaling, so neither scales in while
/// idle) and an ample store; us-east-1's edge breaks completely at 10 min.
RegionsParams edge_failure(FailoverParams::Mode mode) {
  RegionsParams p;
  p.autoscaling.enabled = false;
  for (auto& r : p.regions) {
    r.servers = 20;
    r.max_servers = 40;
    r.store_rate_per_s = 1000;
  }
  p.failover.enabled = true;
  p.failover.mode = mode;
  p.failover.check_interval = Duration::seconds(30);
  p.failover.checks = 3;
  p.dns.ttl = Duration::seconds(60);
  p.edge_faults.push_back({"us-east-1", Duration::minutes(10), Duration::hours(10), 1.0});
  return p;
}

/// Availability of a scope over [from, to), from counter snapshots taken by the test.
struct Window {
  Totals before, after;
  double availability() const {
    const auto req = after.successes + after.failures - before.successes - before.failures;
    return req == 0 ? 1.0 : static_cast<double>(after.successes - before.successes) /
                                static_cast<double>(req);
  }
};

}  // namespace

TEST_CASE("regions: DNS failover moves a region's members after detection plus the TTL",
          "[regions][failover]") {
  const auto ttl = GENERATE(Duration::seconds(60), Duration::minutes(20));
  auto p = edge_failure(FailoverParams::Mode::kActiveActive);
  p.dns.ttl = ttl;
  Simulation sim({.seed = 11});
  MultiRegion w(sim, p);
  w.start();
  sim.run_until(Time::zero() + Duration::minutes(10));
  CHECK(w.resolver_share(0, 1) == 0.0);
  // Detection: three failing 30 s checks; the record switches at about 11.5 min.
  sim.run_until(Time::zero() + Duration::minutes(11));
  CHECK(w.record(0).weights()[1] == 0);
  CHECK(w.edge_healthy(0));
  sim.run_until(Time::zero() + Duration::minutes(12));
  CHECK_FALSE(w.edge_healthy(0));
  CHECK(w.record(0).weights()[0] == 0);
  const double moved_at_switch = w.resolver_share(0, 1);
  CHECK(moved_at_switch < 0.6);  // cached answers still point at the broken edge
  // One TTL after the switch every member has followed.
  Window win{totals(sim, "east-members"), {}};
  sim.run_until(Time::zero() + Duration::minutes(13) + Duration::seconds(30));
  INFO("ttl " << ttl.to_seconds() << " s");
  if (ttl == Duration::seconds(60)) {
    CHECK(w.resolver_share(0, 1) > 0.999);
    win.before = totals(sim, "east-members");
    sim.run_until(Time::zero() + Duration::minutes(30));
    win.after = totals(sim, "east-members");
    CHECK(win.availability() > 0.999);
  } else {
    // With a 20 min TTL most members are still sent to the broken edge.
    CHECK(w.resolver_share(0, 1) < 0.3);
    win.before = totals(sim, "east-members");
    sim.run_until(Time::zero() + Duration::minutes(20));
    win.after = totals(sim, "east-members");
    CHECK(win.availability() < 0.9);
  }
  // The west members never noticed.
  const auto west = totals(sim, "west-members");
  CHECK(west.failures == 0);
}

TEST_CASE("regions: without failover the broken edge keeps its members down",
          "[regions][failover]") {
  auto p = edge_failure(FailoverParams::Mode::kActiveActive);
  p.failover.enabled = false;
  Simulation sim({.seed = 11});
  MultiRegion w(sim, p);
  w.start();
  sim.run_until(Time::zero() + Duration::minutes(12));
  Window win{totals(sim, "east-members"), {}};
  sim.run_until(Time::zero() + Duration::minutes(30));
  win.after = totals(sim, "east-members");
  CHECK(win.availability() < 0.01);
  CHECK(w.resolver_share(0, 0) == 1.0);
}

TEST_CASE("regions: Isthmus serves a failed-over region from its own backend through the other "
          "edge; active-active serves it from the other region",
          "[regions][isthmus]") {
  const auto mode = GENERATE(FailoverParams::Mode::kIsthmus, FailoverParams::Mode::kActiveActive);
  Simulation sim({.seed = 5});
  MultiRegion w(sim, edge_failure(mode));
  w.start();
  sim.run_until(Time::zero() + Duration::minutes(15));  // failed over and settled
  const auto east0 = totals(sim, "us-east-1");
  const auto west0 = totals(sim, "us-west-2");
  const auto pop0 = totals(sim, "east-members");
  sim.run_until(Time::zero() + Duration::minutes(45));
  const auto east = totals(sim, "us-east-1");
  const auto west = totals(sim, "us-west-2");
  const auto pop = totals(sim, "east-members");
  const auto pop_requests = pop.requests - pop0.requests;
  const auto west_requests = west.requests - west0.requests;
  INFO("mode " << to_string(mode));
  CHECK(pop.failures - pop0.failures == 0);
  if (mode == FailoverParams::Mode::kIsthmus) {
    // us-east-1's backend still serves its members: its ELB is bypassed, not its servers.
    CHECK(east.requests - east0.requests == pop_requests);
    const auto west_members = totals(sim, "west-members").requests;
    CHECK(west_requests <= west_members);  // west's backend serves only its own members
  } else {
    CHECK(east.requests == east0.requests);
    CHECK(west_requests > pop_requests);  // both populations
  }
  // Isthmus costs one more cross-region round trip than active-active.
  const auto* lat = sim.metrics().find_histogram(scope_metric_names("east-members").latency);
  REQUIRE(lat != nullptr);
  const double p50_ms = static_cast<double>(lat->quantile(0.5)) / 1e6;
  if (mode == FailoverParams::Mode::kIsthmus) {
    CHECK(p50_ms > 150);
  } else {
    CHECK(p50_ms < 150);
  }
}

namespace {

/// A Chaos Kong drill: east's members moved to west over `over` (0: at once), from 30 min.
struct Drill {
  double east_availability;  // over [30 min, 1 h 40 min)
  int west_servers;
  double west_hit_rate;
};
Drill drill(Duration over, bool autoscaling, std::uint64_t seed) {
  RegionsParams p;
  p.autoscaling.enabled = autoscaling;
  p.evacuation.enabled = true;
  p.evacuation.region = "us-east-1";
  p.evacuation.to = "us-west-2";
  p.evacuation.start = Duration::minutes(30);
  p.evacuation.over = over;
  p.evacuation.steps = 12;
  Simulation sim({.seed = seed});
  MultiRegion w(sim, p);
  w.start();
  sim.run_until(Time::zero() + Duration::minutes(30));
  Window win{totals(sim, "east-members"), {}};
  sim.run_until(Time::zero() + Duration::minutes(100));
  win.after = totals(sim, "east-members");
  sim.run_until(Time::zero() + Duration::minutes(120));
  return {win.availability(), w.backend(1).servers(), w.backend(1).hit_rate()};
}

}  // namespace

TEST_CASE("regions: a gradual evacuation is absorbed; a sudden cut or no autoscaling is not",
          "[regions][evacuation]") {
  const auto seed = GENERATE(1u, 2u, 3u);
  const auto gradual = drill(Duration::hours(1), true, seed);
  const auto sudden = drill(Duration::zero(), true, seed);
  const auto fixed = drill(Duration::hours(1), false, seed);
  INFO("seed " << seed << ": gradual " << gradual.east_availability << ", sudden "
               << sudden.east_availability << ", no autoscaling " << fixed.east_availability);
  CHECK(gradual.east_availability > 0.995);
  CHECK(sudden.east_availability < 0.99);
  CHECK(fixed.east_availability < 0.97);
  // Either way the survivor ends up carrying both populations with a warm cache.
  CHECK(gradual.west_servers >= 15);
  CHECK(sudden.west_servers >= 15);
  CHECK(fixed.west_servers == 8);
  CHECK(gradual.west_hit_rate > 0.8);
}

TEST_CASE("regions: a cold cache is what makes the sudden cut hurt", "[regions][evacuation]") {
  // The same sudden cut with a store that answers every miss: only the shedding while new
  // servers boot remains, so most of the damage came from the cold cache.
  RegionsParams p;
  p.evacuation = {true, "us-east-1", "us-west-2", Duration::minutes(30), Duration::zero(), 1};
  auto run = [&](double store_rate) {
    auto q = p;
    q.regions[1].store_rate_per_s = store_rate;
    Simulation sim({.seed = 4});
    MultiRegion w(sim, q);
    w.start();
    sim.run_until(Time::zero() + Duration::minutes(30));
    Window win{totals(sim, "east-members"), {}};
    sim.run_until(Time::zero() + Duration::minutes(45));
    win.after = totals(sim, "east-members");
    return 1.0 - win.availability();
  };
  const double limited = run(15);
  const double unlimited = run(100000);
  INFO("errors with the store's limit " << limited << ", without " << unlimited);
  CHECK(limited > 2 * unlimited);
}

TEST_CASE("regions: params name the bad field and the fix", "[regions]") {
  RegionsParams p;
  p.populations[0].home = "mars";
  CHECK_THROWS_WITH(p.validate(), Catch::Contains("populations[0].home") &&
                                      Catch::Contains("not a region"));
  p = RegionsParams{};
  p.regions[1].servers = 100;
  CHECK_THROWS_WITH(p.validate(), Catch::Contains("regions[1].servers"));
  p = RegionsParams{};
  p.evacuation.enabled = true;
  p.evacuation.region = p.evacuation.to = "us-east-1";
  CHECK_THROWS_WITH(p.validate(), Catch::Contains("evacuation.to"));
  p = RegionsParams{};
  p.dns.sticky_fraction = 2;
  CHECK_THROWS_WITH(p.validate(), Catch::Contains("dns.sticky_fraction"));
}

TEST_CASE("regions: the failover and the drill are trace records on their own tracks",
          "[regions][trace]") {
  auto p = edge_failure(FailoverParams::Mode::kIsthmus);
  p.populations[1].rate_per_s = 1;
  Simulation sim({.seed = 2});
  std::vector<std::string> seen;
  struct Sink : TraceSink {
    std::vector<std::string>* out;
    void on_record(const TraceRecordView& r) override {
      if (r.source == "regions") {
        std::string s(r.kind);
        for (const auto& f : r.fields) {
          if (f.key == "node" || f.key == "mode") {
            s += " " + std::string(f.key) + "=" + f.value.to_string();
          }
        }
        out->push_back(s);
      }
    }
  } sink;
  sink.out = &seen;
  sim.trace().attach(&sink);
  MultiRegion w(sim, p);
  w.start();
  sim.run_until(Time::zero() + Duration::minutes(15));
  auto has = [&](const std::string& s) {
    return std::find(seen.begin(), seen.end(), s) != seen.end();
  };
  CHECK(has("edge-broken node=edge/us-east-1"));
  CHECK(has("edge-unhealthy node=edge/us-east-1"));
  CHECK(has("dns-failover node=dns/east-members mode=isthmus"));
}
