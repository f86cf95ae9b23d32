#include "services_fixture.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>

using namespace faultline;
using namespace faultline::sim::services;
using faultline::sim::services::testing::Run;

namespace {
ServiceGraphParams one_tier(double rate_per_s) {
  ServiceGraphParams p;
  TierParams api;
  api.name = "api";
  api.instances = 4;
  api.cores = 2;
  api.service_time.mean = Duration::millis(10);  // capacity 800/s
  p.tiers.push_back(api);
  ClientParams c;
  c.name = "users";
  c.target = "api";
  c.rate_per_s = rate_per_s;
  c.policy.timeout.timeout = Duration::seconds(2);
  p.clients.push_back(c);
  return p;
}
}  // namespace

TEST_CASE("services params: bad graphs are rejected naming the field",
          "[models][services][params]") {
  auto p = one_tier(100);
  p.clients[0].target = "nope";
  CHECK_THROWS_WITH(p.validate(), Catch::Contains("clients[0].target"));
  p = one_tier(100);
  p.tiers[0].dependencies.push_back({"api", 1, {}});
  CHECK_THROWS_WITH(p.validate(), Catch::Contains("cycle"));
  p = one_tier(100);
  p.tiers[0].instances = 0;
  CHECK_THROWS_WITH(p.validate(), Catch::Contains("tiers[0].instances"));
  p = one_tier(100);
  p.clients[0].policy.retry.max_attempts = 0;
  CHECK_THROWS_WITH(p.validate(), Catch::Contains("clients[0].policy.retry.max_attempts"));
  p = one_tier(100);
  p.clients[0].fanout = 5;
  CHECK_THROWS_AS(ServiceGraph(p), std::invalid_argument);
  CHECK(parse_balancer("least_outstanding") == Balancer::least_outstanding);
}

TEST_CASE("services: a service under capacity serves everything once, at the offered rate",
          "[models][services]") {
  Run r(one_tier(400.0));
  r.run_for(Duration::seconds(20));
  const auto c = client_metric_names("users");
  const auto t = tier_metric_names("api");
  CHECK(r.mean(c.offered_rate, 2, 20) == Approx(400.0).epsilon(0.1));
  CHECK(r.mean(c.goodput, 2, 20) == Approx(400.0).epsilon(0.1));
  CHECK(r.mean(c.error_ratio, 2, 20) == 0.0);
  CHECK(r.mean(c.attempts_per_request, 2, 20) == 1.0);
  CHECK(r.mean(t.cpu_util, 2, 20) == Approx(0.5).epsilon(0.15));  // 400/s of 800/s capacity
  CHECK(r.graph->cpu_busy_fraction("api") >= 0.0);
  CHECK(r.graph->cpu_busy_fraction("api") <= 1.0);
  CHECK(r.graph->instances("api").size() == 4);
  CHECK(r.graph->client_processes("users").size() == 4);
  CHECK(r.count(c.attempts) == r.count(c.requests));  // no retries were needed
  // Every success was served once (a few requests may still be in flight at the end).
  CHECK(r.count(t.served) >= r.count(c.successes));
  CHECK(r.count(t.served) <= r.count(c.successes) + 10);
}

TEST_CASE("services: dependencies are called per request and their failure fails it",
          "[models][services]") {
  auto p = one_tier(100.0);
  TierParams db;
  db.name = "db";
  db.instances = 2;
  db.service_time.mean = Duration::millis(1);
  p.tiers.push_back(db);
  p.tiers[0].dependencies.push_back({"db", 2, {}});
  Run r(p);
  world::FaultSpec crash;
  crash.at = Duration::seconds(10);
  crash.kind = world::FaultKind::kCrash;
  crash.target = {world::TargetKind::kGroup, ServiceGraph::tier_group("db")};
  crash.duration = Duration::seconds(5);
  r.world->faults().schedule(crash);
  r.run_for(Duration::seconds(20));
  const auto c = client_metric_names("users");
  CHECK(r.count(tier_metric_names("db").served) >= 2 * r.count(c.successes));
  CHECK(r.mean(c.error_ratio, 2, 10) == 0.0);
  CHECK(r.mean(c.error_ratio, 11, 15) > 0.9);  // db down: every request fails
  CHECK(r.mean(c.error_ratio, 16, 20) == 0.0);
}

TEST_CASE("services: shedding keeps accepted requests' latency bounded under 3x overload",
          "[models][services][shedding]") {
  auto shed = one_tier(2400.0);  // 3x the 800/s capacity
  shed.tiers[0].admission.queue_timeout = Duration::millis(50);
  shed.tiers[0].admission.order = resilience::QueueOrder::adaptive_lifo;
  Run with(shed);
  with.run_for(Duration::seconds(20));
  Run without(one_tier(2400.0));
  without.run_for(Duration::seconds(20));
  const auto c = client_metric_names("users");
  const auto t = tier_metric_names("api");
  const Histogram& lat_with = *with.sim.metrics().find_histogram(c.latency);
  const Histogram* lat_without = without.sim.metrics().find_histogram(c.latency);
  // Accepted requests wait at most the 50 ms deadline plus their own service time.
  CHECK(Duration::nanos(lat_with.p99()) < Duration::millis(150));
  CHECK(with.mean(c.goodput, 5, 20) > 700.0);  // still serving at capacity
  CHECK(with.count(t.shed) > 0);
  // Without shedding the queue grows without bound: requests time out and goodput collapses.
  CHECK(without.mean(c.goodput, 10, 20) < 100.0);
  CHECK((lat_without == nullptr || lat_without->count() == 0 ||
         Duration::nanos(lat_without->p99()) > Duration::millis(1000)));
}

TEST_CASE("services: a queued request is a ticket, not a suspended coroutine",
          "[models][services][memory]") {
  // 3x overload with no shedding and a 60 s client timeout: the queue grows by about 1,600
  // requests a second. Each queued request used to be a suspended coroutine (about 1 KB with
  // its completion), so memory and the cost per event grew with the queue (issue #20); now only
  // the requests holding a slot run as coroutines.
  auto p = one_tier(2400.0);
  p.clients[0].policy.timeout.timeout = Duration::seconds(60);
  Run r(p);
  r.run_for(Duration::seconds(5));
  const auto ids = r.graph->instances("api");
  std::size_t coroutines = 0;
  for (world::NodeId id : ids) {
    coroutines += r.world->node(id).process().task_count();
  }
  CHECK(r.graph->queue_length("api") > 5000.0);
  CHECK(coroutines <= ids.size() * 2 + 4);  // the 2 cores' requests per instance, and slack
  const auto t = tier_metric_names("api");
  CHECK(r.count(t.served) > 3500);  // still serving at capacity (800/s)
}

TEST_CASE("services: tied requests run each request once and cancel the other copy",
          "[models][services][hedging]") {
  auto p = one_tier(200.0);
  p.clients[0].policy.hedge.enabled = true;
  p.clients[0].policy.hedge.tied = true;
  p.clients[0].policy.hedge.tied_delay = Duration::millis(1);
  Run r(p);
  r.run_for(Duration::seconds(10));
  const auto c = client_metric_names("users");
  const auto t = tier_metric_names("api");
  // Two copies per request go out, but the server cancels queued copies whose twin started.
  CHECK(r.count(c.attempts) > r.count(c.requests) * 19 / 10);
  CHECK(r.count(t.served) < r.count(c.attempts));
  CHECK(r.mean(c.error_ratio, 1, 10) == 0.0);
}

TEST_CASE("services: the same seed gives the same run", "[models][services][determinism]") {
  auto p = one_tier(700.0);
  p.clients[0].policy.retry.max_attempts = 3;
  Run a(p, 11);
  Run b(p, 11);
  a.run_for(Duration::seconds(5));
  b.run_for(Duration::seconds(5));
  CHECK(a.sim.trace().hash() == b.sim.trace().hash());
  const auto c = client_metric_names("users");
  CHECK(a.count(c.attempts) == b.count(c.attempts));
  CHECK(a.sim.metrics().find_histogram(c.latency)->p99() ==
        b.sim.metrics().find_histogram(c.latency)->p99());
}

TEST_CASE("services: a retry token bucket stops retries when spent and refills on success",
          "[models][services][budget]") {
  auto p = one_tier(100.0);
  p.clients[0].policy.retry.max_attempts = 3;
  p.clients[0].policy.retry.base = Duration::millis(10);
  p.clients[0].policy.retry_quota_enabled = true;  // 500 tokens, 5 per retry, per process
  Run r(p);
  // Two outages of the whole tier; requests are refused (unavailable, retryable).
  for (int at : {10, 40}) {
    world::FaultSpec crash;
    crash.at = Duration::seconds(at);
    crash.kind = world::FaultKind::kCrash;
    crash.target = {world::TargetKind::kGroup, ServiceGraph::tier_group("api")};
    crash.duration = Duration::seconds(10);
    r.world->faults().schedule(crash);
  }
  const auto c = client_metric_names("users");
  r.run_for(Duration::seconds(20));
  const std::uint64_t first = r.count(c.retries);
  // 4 processes x 500 tokens / 5 per retry = 400 retries at most, then only first attempts.
  CHECK(first > 300);
  CHECK(first <= 400);
  CHECK(r.mean(c.attempts_per_request, 16, 20) < 1.05);
  r.run_for(Duration::seconds(30));  // healthy from 20 s to 40 s: first-try successes refill
  CHECK(r.mean(c.error_ratio, 22, 40) == 0.0);
  r.run_for(Duration::seconds(20));
  const std::uint64_t second = r.count(c.retries) - first;
  CHECK(second > 300);  // the bucket had refilled (20 s x 25 successes/s per process >> 100)
  CHECK(second <= 400);
}
