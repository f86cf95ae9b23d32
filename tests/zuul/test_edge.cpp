// Zuul's mechanisms, each against a small simulated stack and each with the contrast that
// shows the check can fail: the same stack without the mechanism gives the other answer.
// Also confirmed by mutating sim/zuul/zuul.cpp (2026-12-03, then reverted): Zuul 1 holding no
// thread fails the mode and shedding tests (5 checks); a bucket that always admits fails the
// throttling test (3); a budget that always allows fails the budget test (2); no failover
// fails the failover test (4).
#include "fixtures.hpp"

#include <faultline/sim/services/service_graph.hpp>

#include <catch2/catch.hpp>

using namespace zuul_test;

namespace {

struct Tail {
  std::int64_t tv_p99_ns = 0;
  std::int64_t memory_peak = 0;
  double tv_availability = 0;
};

/// One Zuul instance with 40 worker threads (Zuul 1); the web family's origin becomes 1 s
/// slower each way from 10 s to 40 s, so web needs ~60 requests in flight, more than 40.
Tail slow_origin(zu::Mode mode) {
  Simulation sim({.seed = 3});
  auto p = two_origins(mode);
  p.zuul.threads = 40;
  p.zuul.accept_queue = 100000;  // no shedding here: only the waiting is measured
  zu::EdgeStack stack(sim, p);
  slow_down(stack.world(), "slow", Duration::seconds(10), Duration::seconds(30),
            Duration::seconds(1));
  sim.run_until(Time::zero() + Duration::seconds(60));
  return {latency(sim, "family/tv").quantile(0.99), stack.zuul_memory_peak_bytes(),
          availability(sim, "family/tv")};
}

}  // namespace

TEST_CASE("zuul: a slow origin raises every family's tail under Zuul 1's threads, not Zuul 2's "
          "event loop",
          "[zuul][mode]") {
  const Tail z1 = slow_origin(zu::Mode::thread_per_request);
  const Tail z2 = slow_origin(zu::Mode::event_loop);
  INFO("Zuul 1 tv p99 " << z1.tv_p99_ns / 1e6 << " ms, Zuul 2 tv p99 " << z2.tv_p99_ns / 1e6
                        << " ms; memory peak " << z1.memory_peak << " vs " << z2.memory_peak);
  // tv's own origin is healthy. Under Zuul 1 its requests wait for a thread held by web's.
  CHECK(z2.tv_p99_ns < Duration::millis(150).ns());
  CHECK(z1.tv_p99_ns > Duration::seconds(1).ns());
  CHECK(z2.tv_availability == 1.0);
  // Connection memory: a thread per waiting request against a connection's buffers.
  CHECK(z1.memory_peak > 5 * z2.memory_peak);
  CHECK(z2.memory_peak > 0);
}

TEST_CASE("zuul: Zuul 1 sheds once its threads and accept queue are full, fast, and the trace "
          "shows the episode",
          "[zuul][shedding]") {
  auto run = [](int accept_queue, ZuulRecords* records) {
    Simulation sim({.seed = 5});
    if (records != nullptr) {
      sim.trace().attach(records);
    }
    auto p = two_origins(zu::Mode::thread_per_request);
    p.zuul.threads = 10;
    p.zuul.accept_queue = accept_queue;
    zu::EdgeStack stack(sim, p);
    slow_down(stack.world(), "slow", Duration::seconds(5), Duration::seconds(20),
              Duration::seconds(1));
    sim.run_until(Time::zero() + Duration::seconds(60));
    return counter(sim, zu::edge_counter_names().shed);
  };
  ZuulRecords records;
  const auto shed = run(10, &records);
  const auto unbounded = run(1000000, nullptr);
  INFO("shed " << shed << " with a queue of 10, " << unbounded << " unbounded");
  CHECK(shed > 100);
  CHECK(unbounded == 0);
  CHECK(records.has("shedding.begin node=zuul-0 id=zuul-0 reason=threads"));
  CHECK(records.has("shedding.end node=zuul-0 id=zuul-0 count="));
}

TEST_CASE("zuul: Zuul 2's origin concurrency limit sheds the slow origin's requests and keeps "
          "connections bounded",
          "[zuul][shedding]") {
  auto run = [](int limit, std::int64_t* open_peak) {
    Simulation sim({.seed = 6});
    auto p = two_origins(zu::Mode::event_loop);
    p.zuul.origin_max_concurrency = limit;
    zu::EdgeStack stack(sim, p);
    slow_down(stack.world(), "slow", Duration::seconds(5), Duration::seconds(20),
              Duration::seconds(1));
    sim.run_until(Time::zero() + Duration::seconds(60));
    *open_peak = stack.zuul_memory_peak_bytes() / p.zuul.connection_memory_bytes;
    return std::pair{counter(sim, zu::edge_counter_names().shed), availability(sim, "family/tv")};
  };
  std::int64_t open_limited = 0, open_unlimited = 0;
  const auto [shed, tv] = run(20, &open_limited);
  const auto [shed_off, tv_off] = run(0, &open_unlimited);
  INFO("shed " << shed << " vs " << shed_off << "; open peak " << open_limited << " vs "
               << open_unlimited);
  CHECK(shed > 100);
  CHECK(shed_off == 0);
  CHECK(tv == 1.0);
  CHECK(tv_off == 1.0);
  CHECK(open_limited < 40);    // ~20 web + a few tv
  CHECK(open_unlimited > 50);  // web needs ~60 in flight
}

TEST_CASE("zuul: a throttled family gets 429s at its rate, the others none", "[zuul][throttle]") {
  auto run = [](bool throttle, ZuulRecords* records) {
    Simulation sim({.seed = 7});
    if (records != nullptr) {
      sim.trace().attach(records);
    }
    auto p = two_origins(zu::Mode::event_loop);
    if (throttle) {
      p.zuul.throttles = {{.family = "tv", .rate_per_s = 10, .burst = 5}};
    }
    zu::EdgeStack stack(sim, p);
    sim.run_until(Time::zero() + Duration::seconds(100));
    return std::tuple{counter(sim, zu::edge_counter_names().throttled),
                      availability(sim, "family/tv"), availability(sim, "family/web")};
  };
  ZuulRecords records;
  const auto [throttled, tv, web] = run(true, &records);
  const auto [throttled_off, tv_off, web_off] = run(false, nullptr);
  INFO("throttled " << throttled << ", tv " << tv << ", web " << web);
  // 30/s offered, 10/s let through: two thirds are refused, never retried.
  CHECK(tv > 0.30);
  CHECK(tv < 0.37);
  CHECK(web == 1.0);
  CHECK(throttled > 1800);
  CHECK(throttled_off == 0);
  CHECK(tv_off == 1.0);
  CHECK(records.has("throttling.begin node=zuul-0 id=zuul-0 reason=tv"));
}

TEST_CASE("zuul: a retry on another origin instance hides a crashed instance", "[zuul][retry]") {
  auto run = [](int attempts) {
    Simulation sim({.seed = 8});
    auto p = two_origins(zu::Mode::event_loop);
    p.zuul.retry.max_attempts = attempts;
    p.families[0].max_attempts = 1;  // only Zuul retries
    p.zuul.eject_for = Duration::seconds(1);  // the dead instance is tried again every second
    zu::EdgeStack stack(sim, p);
    crash(stack.world(), {world::TargetKind::kNode, "api-1"}, Duration::seconds(10),
          Duration::seconds(60));
    sim.run_until(Time::zero() + Duration::seconds(100));
    return std::pair{availability(sim, "family/tv"),
                     counter(sim, zu::edge_counter_names().retries)};
  };
  const auto [with, retries] = run(2);
  const auto [without, retries_off] = run(1);
  INFO("tv availability " << with << " with a retry (" << retries << " retries), " << without
                          << " without");
  CHECK(with == 1.0);
  CHECK(retries > 0);
  CHECK(without < 0.999);
  CHECK(retries_off == 0);
}

TEST_CASE("zuul: a retry budget caps retries against an overloaded origin", "[zuul][retry]") {
  auto run = [](bool budget) {
    Simulation sim({.seed = 9});
    auto p = two_origins(zu::Mode::event_loop);
    p.tiers[0].max_in_flight = 1;  // api sheds nearly half of what it gets
    p.tiers[0].cpu = Duration::millis(100);
    p.zuul.retry.max_attempts = 3;
    p.zuul.retry_budget_enabled = budget;
    p.zuul.retry_budget = {.ratio = 0.1, .window = Duration::seconds(10), .buckets = 10,
                           .min_retries = 5};
    p.families[0].max_attempts = 1;
    zu::EdgeStack stack(sim, p);
    sim.run_until(Time::zero() + Duration::seconds(100));
    const auto& c = zu::edge_counter_names();
    return std::tuple{counter(sim, c.retries), counter(sim, c.retries_denied),
                      counter(sim, zu::scope_names("devices").requests)};
  };
  const auto [retries, denied, requests] = run(true);
  const auto [retries_off, denied_off, requests_off] = run(false);
  INFO("retries " << retries << " (denied " << denied << ") of " << requests
                  << " requests with a budget, " << retries_off << " without");
  // 10 % of the instance's requests (tv's and web's) plus 5 per 10 s window, with some slack
  // for the window's edges.
  CHECK(static_cast<double>(retries) < 0.1 * static_cast<double>(requests) + 5 * 11 + 20);
  CHECK(denied > 0);
  CHECK(static_cast<double>(retries_off) > 0.25 * static_cast<double>(requests_off));
  CHECK(denied_off == 0);
}

TEST_CASE("zuul: a family whose origin is gone fails over to its failover origin, and back",
          "[zuul][routing]") {
  auto run = [](bool failover, ZuulRecords* records) {
    Simulation sim({.seed = 10});
    if (records != nullptr) {
      sim.trace().attach(records);
    }
    auto p = two_origins(zu::Mode::event_loop);
    if (failover) {
      p.zuul.routes[0].failover_origin = "slow";
    }
    p.zuul.eject_for = Duration::seconds(5);
    zu::EdgeStack stack(sim, p);
    crash(stack.world(), {world::TargetKind::kGroup, "tier/api"}, Duration::seconds(10),
          Duration::seconds(30));
    sim.run_until(Time::zero() + Duration::seconds(80));
    return std::pair{availability(sim, "family/tv"),
                     counter(sim, zu::edge_counter_names().failovers)};
  };
  ZuulRecords records;
  const auto [with, failovers] = run(true, &records);
  const auto [without, failovers_off] = run(false, nullptr);
  INFO("tv availability " << with << " with failover (" << failovers << " routed), " << without
                          << " without");
  CHECK(with > 0.99);
  CHECK(failovers > 500);
  CHECK(without < 0.7);
  CHECK(failovers_off == 0);
  CHECK(records.has("failover node=zuul-0 family=tv origin=slow"));
  CHECK(records.has("failback node=zuul-0 family=tv origin=api"));
}

TEST_CASE("zuul: a routing change pushed at run time moves a family to another origin",
          "[zuul][routing]") {
  Simulation sim({.seed = 11});
  ZuulRecords records;
  sim.trace().attach(&records);
  auto p = two_origins(zu::Mode::event_loop);
  p.zuul.route_changes = {{Duration::seconds(50), {"tv", "slow", ""}}};
  zu::EdgeStack stack(sim, p);
  sim.run_until(Time::zero() + Duration::seconds(50));
  const auto api_before = counter(sim, zu::scope_names("tier/api").requests);
  const auto slow_before = counter(sim, zu::scope_names("tier/slow").requests);
  sim.run_until(Time::zero() + Duration::seconds(100));
  const auto api_after = counter(sim, zu::scope_names("tier/api").requests) - api_before;
  const auto slow_after = counter(sim, zu::scope_names("tier/slow").requests) - slow_before;
  INFO("api " << api_before << " then " << api_after << "; slow " << slow_before << " then "
              << slow_after);
  CHECK(api_before > 1200);
  CHECK(api_after < 10);  // only requests already in flight
  CHECK(slow_after > 2 * 1200);
  CHECK(records.has("route family=tv origin=slow"));
}

TEST_CASE("zuul: the API's microservices read through EVCache, and a fallback hides a lost "
          "dependency",
          "[zuul][services]") {
  auto run = [](bool fallback) {
    Simulation sim({.seed = 12});
    auto p = two_origins(zu::Mode::event_loop);
    zu::TierParams svc;
    svc.name = "ratings";
    svc.cpu = Duration::millis(1);
    svc.cache_reads = 2;
    p.tiers.push_back(svc);
    p.tiers[0].calls = {{.tier = "ratings", .timeout = Duration::millis(500), .max_attempts = 2,
                         .fallback = fallback}};
    zu::EdgeStack stack(sim, p);
    crash(stack.world(), {world::TargetKind::kGroup, "tier/ratings"}, Duration::seconds(40),
          Duration::seconds(20));
    sim.run_until(Time::zero() + Duration::seconds(80));
    const auto cache = sim::evcache::scope_names("cache");
    return std::tuple{availability(sim, "family/tv"), stack.degraded(),
                      counter(sim, cache.requests), counter(sim, cache.successes)};
  };
  const auto [with, degraded, reads, hits] = run(true);
  const auto [without, degraded_off, reads_off, hits_off] = run(false);
  INFO("tv availability " << with << " with fallback (" << degraded << " degraded), " << without
                          << " without; cache " << hits << "/" << reads);
  CHECK(reads > 2 * 1000);  // two reads per tv request while ratings is up
  CHECK(hits > reads / 2);  // 100 keys: the cache is warm within seconds
  CHECK(with == 1.0);
  CHECK(degraded > 400);
  CHECK(without < 0.85);
  CHECK(degraded_off == 0);
}

TEST_CASE("zuul: the same seed gives the same trace, another seed another", "[zuul]") {
  auto hash = [](std::uint64_t seed) {
    Simulation sim({.seed = seed});
    auto p = two_origins(zu::Mode::thread_per_request);
    p.chaos_monkey_enabled = true;
    p.chaos_monkey.groups = {"tier/api", "zuul"};
    p.chaos_monkey.mean_workdays = 1;  // a kill per group each work day
    p.families[0].rate_per_s = p.families[1].rate_per_s = 0.2;
    zu::EdgeStack stack(sim, p);
    sim.run_until(Time::zero() + Duration::hours(30));
    return sim.trace().hash();
  };
  CHECK(hash(1) == hash(1));
  CHECK(hash(1) != hash(2));
}

TEST_CASE("zuul: an origin's 500 is not retried by Zuul, its 503 (shed beyond max_in_flight) "
          "is, and the API retries a lost microservice instance on the next one",
          "[zuul][services][retry]") {
  struct Result {
    double tv = 0;
    std::uint64_t retries = 0, origin_errors = 0, api_shed = 0, ratings_attempts = 0,
                  ratings_calls = 0;
  };
  auto run = [](zu::Mode mode, int api_max_in_flight, const std::string& crashed) {
    Simulation sim({.seed = 5});
    auto p = two_origins(mode);
    p.zuul.eject_for = Duration::seconds(5);
    zu::TierParams svc;
    svc.name = "ratings";
    svc.cpu = Duration::millis(1);
    p.tiers.push_back(svc);
    p.tiers[0].max_in_flight = api_max_in_flight;
    p.tiers[0].calls = {{.tier = "ratings", .timeout = Duration::millis(500), .max_attempts = 2}};
    p.families[0].max_attempts = 1;  // only Zuul retries
    zu::EdgeStack stack(sim, p);
    if (!crashed.empty()) {
      crash(stack.world(), {world::TargetKind::kNode, crashed}, Duration::seconds(10),
            Duration::seconds(100));
    }
    sim.run_until(Time::zero() + Duration::seconds(40));
    const auto& c = zu::edge_counter_names();
    const auto edge = sim::services::client_metric_names("api->ratings");
    return Result{availability(sim, "family/tv"),
                  counter(sim, c.retries),
                  counter(sim, c.origin_errors),
                  counter(sim, sim::services::tier_metric_names("api").shed),
                  counter(sim, edge.attempts),
                  counter(sim, edge.requests)};
  };
  // One ratings instance lost: the API's first call to it fails, ejects it, and is retried on
  // the next instance; later calls skip it, so tv does not notice.
  const auto one = run(zu::Mode::event_loop, 200, "ratings-0");
  CHECK(one.tv == 1.0);
  CHECK(one.ratings_attempts > one.ratings_calls);
  CHECK(one.ratings_attempts < one.ratings_calls + 20);
  // Every ratings instance lost: the API answers 500, which Zuul does not retry.
  auto all = [&] {
    Simulation sim({.seed = 5});
    auto p = two_origins(zu::Mode::event_loop);
    zu::TierParams svc;
    svc.name = "ratings";
    p.tiers.push_back(svc);
    p.tiers[0].calls = {{.tier = "ratings", .timeout = Duration::millis(500), .max_attempts = 2}};
    p.families[0].max_attempts = 1;
    zu::EdgeStack stack(sim, p);
    crash(stack.world(), {world::TargetKind::kGroup, "tier/ratings"}, Duration::seconds(10),
          Duration::seconds(100));
    sim.run_until(Time::zero() + Duration::seconds(40));
    return std::pair{counter(sim, zu::edge_counter_names().retries),
                     counter(sim, zu::edge_counter_names().origin_errors)};
  }();
  CHECK(all.second > 500);  // tv's requests after 10 s fail at the API
  CHECK(all.first == 0);    // and none is retried
  // An API that holds one request at a time sheds (503) at once; Zuul retries elsewhere.
  const auto shedding = run(zu::Mode::event_loop, 1, "");
  CHECK(shedding.api_shed > 0);
  CHECK(shedding.retries > 0);
}
