// The stack in several regions: DNS failover with a TTL on the edge's health checks,
// active-active against Isthmus, and Chaos Kong's gradual evacuation. Each test has the
// contrast that shows it can fail: no failover, a longer TTL, the other mode, a sudden cut.
#include "fixtures.hpp"

#include <faultline/world/world.hpp>

#include <catch2/catch.hpp>

#include <algorithm>

using namespace zuul_test;

namespace {

/// tv, homed in us-east, in a stack of two regions (us-east, us-west) whose API calls a
/// playback microservice that reads through the region's EVCache.
zu::StackParams two_regions(zu::Failover failover, Duration ttl = Duration::seconds(20)) {
  zu::StackParams p;
  p.zuul.instances = 2;
  p.zuul.cores = 8;
  p.zuul.mode = zu::Mode::event_loop;
  p.zuul.eject_for = Duration::seconds(5);
  p.zuul.routes = {{"tv", "api", ""}};
  zu::TierParams api;
  api.name = "api";
  api.instances = 2;
  api.cores = 8;
  api.cpu = Duration::millis(1);
  api.calls = {{.tier = "playback"}};
  zu::TierParams playback = api;
  playback.name = "playback";
  playback.calls = {};
  playback.cache_reads = 1;
  p.tiers = {api, playback};
  p.families = {{.name = "tv", .rate_per_s = 50, .timeout = Duration::seconds(3)}};
  p.evcache.client.keys = 5000;
  auto& m = p.multi_region;
  m.regions = {{"us-east", {"us-east-1a", "us-east-1b", "us-east-1c"}},
               {"us-west", {"us-west-2a", "us-west-2b", "us-west-2c"}}};
  m.failover = failover;
  m.dns.ttl = ttl;
  m.dns.resolvers = 100;
  m.check_interval = Duration::seconds(5);
  m.checks = 2;
  return p;
}

/// The devices lose their way into us-east from `at` for `for_` (its edge is cut off).
void cut_off_us_east(world::World& w, Duration at, Duration for_) {
  world::FaultSpec f;
  f.at = at;
  f.kind = world::FaultKind::kPartition;
  f.target = {world::TargetKind::kRegion, "internet"};
  f.peer = {world::TargetKind::kRegion, "us-east"};
  f.duration = for_;
  w.faults().schedule(f);
}

std::uint64_t arrivals(const Simulation& sim, const std::string& tier) {
  return counter(sim, zu::scope_names("tier/" + tier).requests);
}

}  // namespace

TEST_CASE("zuul regions: the other region's stack is its own world nodes and groups, the first "
          "region's keep their single-region names",
          "[zuul][regions]") {
  Simulation sim({.seed = 1});
  const auto p = two_regions(zu::Failover::active_active);
  zu::EdgeStack stack(sim, p);
  CHECK(stack.region_count() == 2);
  auto& w = stack.world();
  for (const char* name : {"zuul-0", "api-0", "playback-1", "evcache-a-0", "zuul@us-west-1",
                           "api@us-west-0", "playback@us-west-1", "evcache@us-west-c-3"}) {
    INFO(name);
    CHECK(w.find_node(name) != nullptr);
  }
  const auto groups = zu::EdgeStack::groups(p);
  for (const char* g : {"zuul", "tier/api", "evcache/a", "zuul@us-west", "tier/playback@us-west",
                        "evcache@us-west/b", "device/tv"}) {
    INFO(g);
    CHECK(std::find(groups.begin(), groups.end(), g) != groups.end());
  }
  // One region: no region names anywhere.
  auto single = p;
  single.multi_region.regions.clear();
  for (const auto& g : zu::EdgeStack::groups(single)) {
    CHECK(g.find('@') == std::string::npos);
  }
}

TEST_CASE("zuul regions: DNS fails tv over to the other region after detection and the TTL, "
          "and only with failover on",
          "[zuul][regions][dns]") {
  struct Shares {
    double during_detection, after_ttl, end;
    bool east_healthy;
    double tv;
  };
  auto run = [](zu::Failover failover, Duration ttl) {
    Simulation sim({.seed = 11});
    zu::EdgeStack stack(sim, two_regions(failover, ttl));
    cut_off_us_east(stack.world(), Duration::seconds(20), Duration::seconds(200));
    Shares s{};
    // Two failing 5 s checks: the record moves at ~30 s; answers expire over the next TTL.
    sim.run_until(at(24));
    s.during_detection = stack.dns_share("tv", "us-west");
    sim.run_until(at(30 + 20 + 8));  // a 20 s TTL has passed since the move
    s.after_ttl = stack.dns_share("tv", "us-west");
    sim.run_until(at(200));
    s.end = stack.dns_share("tv", "us-west");
    s.east_healthy = stack.edge_healthy("us-east");
    s.tv = availability(sim, "family/tv");
    return s;
  };
  const Shares aa = run(zu::Failover::active_active, Duration::seconds(20));
  const Shares slow_ttl = run(zu::Failover::active_active, Duration::seconds(120));
  const Shares none = run(zu::Failover::none, Duration::seconds(20));
  INFO("active-active " << aa.during_detection << " " << aa.after_ttl << " " << aa.end << " tv "
                        << aa.tv << "; TTL 120 s " << slow_ttl.after_ttl << "; none " << none.end
                        << " tv " << none.tv);
  CHECK(aa.during_detection == 0.0);
  CHECK(aa.after_ttl == 1.0);
  CHECK(slow_ttl.after_ttl < 0.8);  // most answers still cached: the TTL is what clients wait
  CHECK(slow_ttl.end == 1.0);
  CHECK(none.end == 0.0);
  CHECK_FALSE(aa.east_healthy);
  CHECK_FALSE(none.east_healthy);  // the check sees it; without failover DNS does nothing
  CHECK(aa.tv > 0.75);
  CHECK(none.tv < 0.2);
}

TEST_CASE("zuul regions: active-active serves the moved family with the other region's own "
          "API and cache, Isthmus tunnels it to the home region's API one round trip farther",
          "[zuul][regions][isthmus]") {
  struct Out {
    std::uint64_t east_api, west_api, west_reads;
    std::int64_t p50;
  };
  auto run = [](zu::Failover failover) {
    Simulation sim({.seed = 12});
    zu::EdgeStack stack(sim, two_regions(failover, Duration::seconds(5)));
    cut_off_us_east(stack.world(), Duration::seconds(10), Duration::seconds(1000));
    sim.run_until(at(60));
    const auto east0 = arrivals(sim, "api"), west0 = arrivals(sim, "api@us-west");
    const auto reads0 = counter(sim, sim::evcache::scope_names("reads", "evcache@us-west").requests);
    sim.run_until(at(300));
    return Out{arrivals(sim, "api") - east0, arrivals(sim, "api@us-west") - west0,
               counter(sim, sim::evcache::scope_names("reads", "evcache@us-west").requests) -
                   reads0,
               latency(sim, "family/tv").p50()};
  };
  const Out aa = run(zu::Failover::active_active);
  const Out isthmus = run(zu::Failover::isthmus);
  INFO("active-active: east api " << aa.east_api << " west api " << aa.west_api << " west reads "
                                  << aa.west_reads << " p50 " << aa.p50 / 1e6 << " ms; isthmus: "
                                  << isthmus.east_api << " " << isthmus.west_api << " "
                                  << isthmus.west_reads << " p50 " << isthmus.p50 / 1e6 << " ms");
  // 240 s of 50 requests/s after the move.
  CHECK(aa.west_api > 10000);
  CHECK(aa.east_api == 0);
  CHECK(aa.west_reads > 10000);
  CHECK(isthmus.east_api > 10000);  // us-east's API, behind us-west's Zuul
  CHECK(isthmus.west_api == 0);
  CHECK(isthmus.west_reads == 0);
  // One more cross-region round trip (the world's 30 ms one way each direction).
  CHECK(isthmus.p50 > aa.p50 + Duration::millis(45).ns());
}

TEST_CASE("zuul regions: Chaos Kong moves a region's families step by step, and the other "
          "region's store sees a fraction of the cut's miss storm",
          "[zuul][regions][chaos-kong]") {
  struct Out {
    double mid, end;
    std::uint64_t store_first_20s;
    double tv;
  };
  auto run = [](Duration over, int steps) {
    Simulation sim({.seed = 13});
    auto p = two_regions(zu::Failover::active_active, Duration::seconds(5));
    p.multi_region.evacuation = {.enabled = true,
                                 .region = "us-east",
                                 .to = "us-west",
                                 .start = Duration::seconds(20),
                                 .over = over,
                                 .steps = steps};
    zu::EdgeStack stack(sim, p);
    const auto store = sim::evcache::scope_names("store", "evcache@us-west").requests;
    sim.run_until(at(20));
    const auto before = counter(sim, store);
    sim.run_until(at(40));
    const auto first = counter(sim, store) - before;
    sim.run_until(at(70));
    const double mid = stack.dns_share("tv", "us-west");
    sim.run_until(at(140));
    return Out{mid, stack.dns_share("tv", "us-west"), first, availability(sim, "family/tv")};
  };
  const Out gradual = run(Duration::seconds(100), 10);
  const Out sudden = run(Duration::zero(), 1);
  INFO("gradual: mid " << gradual.mid << " end " << gradual.end << " store " << gradual.store_first_20s
                       << "; sudden: mid " << sudden.mid << " store " << sudden.store_first_20s);
  CHECK(gradual.mid > 0.3);
  CHECK(gradual.mid < 0.7);
  CHECK(gradual.end == 1.0);
  CHECK(sudden.mid == 1.0);
  CHECK(sudden.store_first_20s > 2 * gradual.store_first_20s);
  CHECK(gradual.tv > 0.999);
  CHECK(sudden.tv > 0.99);
}

namespace {

std::size_t items_in(zu::EdgeStack& stack, int region) {
  std::size_t n = 0;
  for (int g = 0; g < stack.cache(region).groups(); ++g) {
    n += stack.cache(region).items(g);
  }
  return n;
}

}  // namespace

TEST_CASE("zuul regions: EVCache replication copies a region's fills into the other region's "
          "cache after Kafka's lag, and loses them across a cut between the regions",
          "[zuul][regions][replication]") {
  struct Out {
    std::size_t east_early, west_early, east, west;
    std::uint64_t applied;
  };
  // tv stays in us-east (no cut): only replication can put anything in us-west's cache.
  auto run = [](bool replicate, Duration lag_base, bool cut_between) {
    Simulation sim({.seed = 14});
    auto p = two_regions(zu::Failover::active_active);
    p.multi_region.cache_replication = {.enabled = replicate, .lag_base = lag_base};
    zu::EdgeStack stack(sim, p);
    if (cut_between) {
      world::FaultSpec f;
      f.at = Duration::zero();
      f.kind = world::FaultKind::kPartition;
      f.target = {world::TargetKind::kRegion, "us-east"};
      f.peer = {world::TargetKind::kRegion, "us-west"};
      f.duration = Duration::seconds(1000);
      stack.world().faults().schedule(f);
    }
    sim.run_until(at(5));
    const auto east_early = items_in(stack, 0), west_early = items_in(stack, 1);
    sim.run_until(at(60));
    return Out{east_early, west_early, items_in(stack, 0), items_in(stack, 1),
               stack.replicated_sets("us-west")};
  };
  const Out on = run(true, Duration::millis(50), false);
  const Out late = run(true, Duration::seconds(10), false);
  const Out off = run(false, Duration::millis(50), false);
  const Out cut = run(true, Duration::millis(50), true);
  INFO("on: east " << on.east << " west " << on.west << " applied " << on.applied
                   << "; lag 10 s at 5 s: east " << late.east_early << " west " << late.west_early
                   << "; off: west " << off.west << "; cut: west " << cut.west);
  // Every zone of us-west gets every fill of us-east (a replicated set is a write-all), less
  // those still in Kafka or on the wire when the run stops.
  REQUIRE(on.east > 1000);
  CHECK(on.west >= on.east * 95 / 100);
  CHECK(on.west <= on.east);
  CHECK(on.applied * 3 >= on.west);  // each applied set lands in all three zones
  // Kafka's lag holds the sets back: 10 s in, us-east has filled, us-west has nothing yet.
  CHECK(late.east_early > 100);
  CHECK(late.west_early == 0);
  CHECK(late.west >= late.east * 70 / 100);
  // No replication, or a cut between the regions: us-west's cache stays empty.
  CHECK(off.west == 0);
  CHECK(cut.west == 0);
  CHECK(cut.east > 1000);
}

TEST_CASE("zuul regions: with EVCache replication, active-active failover finds the other "
          "region's cache warm and its store quiet",
          "[zuul][regions][replication]") {
  struct Out {
    double hit_rate;
    std::uint64_t store;
    double tv;
  };
  auto run = [](bool replicate) {
    Simulation sim({.seed = 15});
    auto p = two_regions(zu::Failover::active_active, Duration::seconds(5));
    p.multi_region.cache_replication.enabled = replicate;
    zu::EdgeStack stack(sim, p);
    cut_off_us_east(stack.world(), Duration::seconds(60), Duration::seconds(1000));
    const auto cache = sim::evcache::scope_names("cache", "evcache@us-west");
    const auto store = sim::evcache::scope_names("store", "evcache@us-west").requests;
    // From the cut until tv has moved (detection 10 s + TTL 5 s) and 10 s more.
    sim.run_until(at(60));
    const auto hits0 = counter(sim, cache.successes), reads0 = counter(sim, cache.requests);
    const auto store0 = counter(sim, store);
    sim.run_until(at(90));
    REQUIRE(stack.dns_share("tv", "us-west") == 1.0);
    const auto reads = counter(sim, cache.requests) - reads0;
    return Out{reads == 0 ? 0.0
                          : static_cast<double>(counter(sim, cache.successes) - hits0) /
                                static_cast<double>(reads),
               counter(sim, store) - store0, availability(sim, "family/tv")};
  };
  const Out warm = run(true);
  const Out cold = run(false);
  INFO("replicated: hit rate " << warm.hit_rate << " store " << warm.store
                               << "; not: hit rate " << cold.hit_rate << " store " << cold.store);
  CHECK(warm.hit_rate > cold.hit_rate + 0.1);
  CHECK(warm.store * 2 < cold.store);
  CHECK(warm.tv >= cold.tv - 0.01);  // and it costs the devices nothing
}

TEST_CASE("zuul regions: with failback, the health checkers see the home region's edge "
          "answer again after the cut, and DNS moves its family back",
          "[zuul][regions][failback]") {
  struct Out {
    double during, after;
    std::uint64_t east_api_after;
    std::size_t failbacks;
  };
  auto run = [](bool failback) {
    ZuulRecords trace;  // outlives the simulation
    Simulation sim({.seed = 16});
    sim.trace().attach(&trace);
    auto p = two_regions(zu::Failover::active_active, Duration::seconds(5));
    p.multi_region.failback = failback;
    zu::EdgeStack stack(sim, p);
    cut_off_us_east(stack.world(), Duration::seconds(10), Duration::seconds(60));
    sim.run_until(at(60));
    const double during = stack.dns_share("tv", "us-west");
    // The cut ends at 70 s: two passing 5 s checks, then the 5 s TTL.
    sim.run_until(at(110));
    const auto east0 = arrivals(sim, "api");
    sim.run_until(at(150));
    return Out{during, stack.dns_share("tv", "us-east"), arrivals(sim, "api") - east0,
               static_cast<std::size_t>(std::count_if(
                   trace.lines.begin(), trace.lines.end(),
                   [](const std::string& l) { return l.starts_with("dns-failback"); }))};
  };
  const Out back = run(true);
  const Out stay = run(false);
  INFO("failback: during " << back.during << " after " << back.after << " east api "
                           << back.east_api_after << "; none: after " << stay.after
                           << " east api " << stay.east_api_after);
  CHECK(back.during == 1.0);  // the failover itself is unchanged
  CHECK(stay.during == 1.0);
  CHECK(back.after == 1.0);
  CHECK(back.east_api_after > 1500);  // 40 s of 50 requests/s, home again
  CHECK(back.failbacks == 1);
  CHECK(stay.after == 0.0);
  CHECK(stay.east_api_after == 0);
  CHECK(stay.failbacks == 0);
}

TEST_CASE("zuul regions: a gradual failback moves the family home step by step over "
          "failback_over, where a one-step failback moves it at once",
          "[zuul][regions][failback]") {
  struct Out {
    double mid, end;
    std::size_t steps;
  };
  auto run = [](Duration over) {
    ZuulRecords trace;  // outlives the simulation
    Simulation sim({.seed = 17});
    sim.trace().attach(&trace);
    auto p = two_regions(zu::Failover::active_active, Duration::seconds(5));
    p.multi_region.failback = true;
    p.multi_region.failback_over = over;
    p.multi_region.failback_steps = 10;
    zu::EdgeStack stack(sim, p);
    cut_off_us_east(stack.world(), Duration::seconds(10), Duration::seconds(60));
    // The cut ends at 70 s; two passing 5 s checks later the failback begins (~80 s).
    sim.run_until(at(80 + 50 + 5));  // about half of a 100 s failback, and the 5 s TTL
    const double mid = stack.dns_share("tv", "us-east");
    sim.run_until(at(80 + 100 + 20));
    return Out{mid, stack.dns_share("tv", "us-east"),
               static_cast<std::size_t>(std::count_if(
                   trace.lines.begin(), trace.lines.end(),
                   [](const std::string& l) { return l.starts_with("failback-step"); }))};
  };
  const Out gradual = run(Duration::seconds(100));
  const Out sudden = run(Duration::zero());
  INFO("gradual: mid " << gradual.mid << " end " << gradual.end << " steps " << gradual.steps
                       << "; one step: mid " << sudden.mid << " end " << sudden.end);
  CHECK(gradual.mid > 0.2);
  CHECK(gradual.mid < 0.8);
  CHECK(gradual.end == 1.0);
  CHECK(gradual.steps == 10);
  CHECK(sudden.mid == 1.0);
  CHECK(sudden.end == 1.0);
  CHECK(sudden.steps == 0);
}
