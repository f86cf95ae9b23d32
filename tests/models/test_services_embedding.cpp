// The service graph's extension points for a model that embeds it (sim/zuul does): a tier's
// hook after its dependency calls, instances without an admission queue, the answer of a failed
// dependency, outlier ejection by a caller, and an external call to a chosen instance.
#include <faultline/sim/services/service_graph.hpp>
#include <faultline/simulation.hpp>
#include <faultline/world/world.hpp>

#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

using namespace faultline;
using namespace faultline::sim::services;

namespace {

/// A graph with a hook set before build(); clients as the params say.
struct Embedded {
  Simulation sim;
  std::unique_ptr<world::World> world;
  std::unique_ptr<ServiceGraph> graph;

  explicit Embedded(ServiceGraphParams p, std::uint64_t seed = 1) : sim({.seed = seed}) {
    world = std::make_unique<world::World>(sim);
    graph = std::make_unique<ServiceGraph>(std::move(p));
  }
  ~Embedded() {
    graph.reset();
    world.reset();
  }
  std::uint64_t count(const std::string& name) const {
    const Counter* c = sim.metrics().find_counter(name);
    return c ? c->value() : 0;
  }
  void crash(const std::string& target, world::TargetKind kind, Duration at, Duration length) {
    world::FaultSpec f;
    f.at = at;
    f.kind = world::FaultKind::kCrash;
    f.target = {kind, target};
    f.duration = length;
    world->faults().schedule(f);
  }
  /// Builds the graph, keeps tier `down`'s instances crashed from the start, and runs 5 s.
  void run_with_tier_down(const std::string& down) {
    graph->build(*world);
    crash(ServiceGraph::tier_group(down), world::TargetKind::kGroup, Duration::zero(),
          Duration::seconds(100));
    sim.run_until(Time::zero() + Duration::seconds(5));
  }
};

TierParams tier(std::string name, int instances) {
  TierParams t;
  t.name = std::move(name);
  t.instances = instances;
  t.service_time.mean = Duration::millis(1);
  return t;
}

ClientParams users(std::string target, double rate) {
  ClientParams c;
  c.name = "users";
  c.target = std::move(target);
  c.rate_per_s = rate;
  c.processes = 2;
  return c;
}

class Idle final : public world::Program {};

}  // namespace

TEST_CASE("services: a tier's hook runs after its dependency calls, in the instance's node, "
          "and its failure fails the request",
          "[models][services][hook]") {
  auto run = [](bool hook_ok) {
    ServiceGraphParams p;
    p.tiers = {tier("api", 2), tier("db", 2)};
    p.tiers[0].dependencies.push_back({"db", 1, {}});
    p.clients = {users("api", 50)};
    Embedded e(p);
    auto calls = std::make_shared<std::map<std::string, int>>();
    auto db_served_at_hook = std::make_shared<std::uint64_t>(0);
    const Counter* db_served = nullptr;
    e.graph->set_tier_hook("api", [&, calls, db_served_at_hook, hook_ok](
                                      world::Node& node, std::function<void(bool)> done) {
      ++(*calls)[node.name()];
      *db_served_at_hook = db_served->value();
      node.after(Duration::millis(5), [done, hook_ok] { done(hook_ok); });  // asynchronous work
    });
    db_served = &e.sim.metrics().counter(tier_metric_names("db").served);
    e.graph->build(*e.world);
    e.sim.run_until(Time::zero() + Duration::seconds(10));
    const auto c = client_metric_names("users");
    const auto api = tier_metric_names("api");
    return std::tuple{*calls, *db_served_at_hook, e.count(c.requests), e.count(c.successes),
                      e.count(api.successes), e.count(api.failures)};
  };
  const auto [calls, db_at_hook, requests, ok, api_ok, api_failed] = run(true);
  REQUIRE(requests > 400);
  CHECK(calls.size() == 2);  // both api instances ran it, in their own nodes
  CHECK(calls.at("api-0") + calls.at("api-1") >= static_cast<int>(ok));
  CHECK(db_at_hook > 0);  // it ran after the dependency call
  CHECK(ok + 2 >= requests);
  CHECK(api_ok == ok);
  CHECK(api_failed == 0);

  const auto [calls_f, db_f, requests_f, ok_f, api_ok_f, api_failed_f] = run(false);
  CHECK(ok_f == 0);  // a failed hook fails every request
  CHECK(api_ok_f == 0);
  CHECK(api_failed_f + 2 >= requests_f);
}

TEST_CASE("services: the hook's completion is ignored once its instance has crashed",
          "[models][services][hook]") {
  ServiceGraphParams p;
  p.tiers = {tier("api", 1)};
  p.tiers[0].admission.max_concurrency = 100;
  p.clients = {users("api", 20)};
  Embedded e(p);
  // The hook's answer comes from outside the process (as a cache server's would), late: the
  // crash at 5 s leaves about two requests' answers to arrive after it.
  e.graph->set_tier_hook("api", [&e](world::Node&, std::function<void(bool)> done) {
    e.sim.schedule_after(Duration::millis(100), [done] { done(true); });
  });
  e.graph->build(*e.world);
  e.crash(ServiceGraph::tier_group("api"), world::TargetKind::kGroup, Duration::seconds(5),
          Duration::seconds(1));
  e.sim.run_until(Time::zero() + Duration::seconds(10));  // must not touch a dead frame
  const auto t = tier_metric_names("api");
  CHECK(e.count(t.successes) > 140);  // served before the crash and after the restart
  CHECK(e.count(t.successes) + e.count(t.failures) <= e.count(t.arrivals));
}

TEST_CASE("services: without an admission queue an instance sheds beyond max_concurrency at "
          "once",
          "[models][services][admission]") {
  auto run = [](bool queue) {
    ServiceGraphParams p;
    p.tiers = {tier("api", 1)};
    p.tiers[0].cores = 1;
    p.tiers[0].service_time = {.kind = ServiceTime::Kind::fixed, .mean = Duration::millis(10)};
    p.tiers[0].admission.max_concurrency = 2;
    p.tiers[0].queue_when_busy = queue;
    p.clients = {users("api", 300)};  // 3x what one core serves
    Embedded e(p);
    e.graph->build(*e.world);
    e.sim.run_until(Time::zero() + Duration::seconds(5));
    const auto t = tier_metric_names("api");
    const Histogram* lat = e.sim.metrics().find_histogram(t.latency);
    return std::tuple{e.count(t.shed), e.count(t.arrivals), lat->quantile(0.99)};
  };
  const auto [shed, arrivals, p99] = run(false);
  CHECK(shed > arrivals / 2);                   // about two thirds shed
  CHECK(p99 <= Duration::millis(25).ns());      // nothing waited: at most 2 in service
  const auto [shed_q, arrivals_q, p99_q] = run(true);
  CHECK(shed_q == 0);                           // an unbounded queue sheds nothing
  CHECK(p99_q > Duration::seconds(1).ns());
}

TEST_CASE("services: a failed dependency answers the tier's dependency_failure; a server_error "
          "is not retried, an overload is",
          "[models][services][retry]") {
  auto run = [](resilience::Outcome answer) {
    ServiceGraphParams p;
    p.tiers = {tier("api", 2), tier("db", 1)};
    p.tiers[0].dependencies.push_back({"db", 1, {}});
    p.tiers[0].dependency_failure = answer;
    p.clients = {users("api", 20)};
    p.clients[0].policy.retry = {.max_attempts = 3, .base = Duration::zero(),
                                 .jitter = resilience::Jitter::none};
    Embedded e(p);
    e.run_with_tier_down("db");
    const auto c = client_metric_names("users");
    return std::tuple{e.count(c.requests), e.count(c.attempts), e.count(c.successes)};
  };
  const auto [req, attempts, ok] = run(resilience::Outcome::server_error);
  REQUIRE(req > 50);
  CHECK(ok == 0);
  CHECK(attempts == req);  // a 500 is not retried
  const auto [req_o, attempts_o, ok_o] = run(resilience::Outcome::overloaded);
  CHECK(ok_o == 0);
  CHECK(attempts_o == 3 * req_o);  // a 503 is retried up to max_attempts
  ServiceGraphParams bad;
  bad.tiers = {tier("api", 1)};
  bad.tiers[0].dependency_failure = resilience::Outcome::timeout;
  CHECK_THROWS_WITH(bad.validate(), Catch::Contains("dependency_failure"));
}

TEST_CASE("services: a caller ejects an instance that timed out or was unreachable, and its "
          "retries go to the next instance; after max_attempts a fallback answers",
          "[models][services][ejection]") {
  auto run = [](Duration eject_for, bool fallback) {
    ServiceGraphParams p;
    p.tiers = {tier("api", 1), tier("db", 3)};
    DependencyParams d{"db", 1, {}};
    d.policy.timeout.timeout = Duration::millis(100);
    d.policy.retry = {.max_attempts = 2, .base = Duration::zero(),
                      .jitter = resilience::Jitter::none};
    d.policy.eject_for = eject_for;
    d.fallback = fallback;
    p.tiers[0].dependencies.push_back(d);
    p.clients = {users("api", 50)};
    Embedded e(p);
    e.graph->build(*e.world);
    e.crash("db-0", world::TargetKind::kNode, Duration::seconds(1), Duration::seconds(100));
    e.sim.run_until(Time::zero() + Duration::seconds(11));
    const auto edge = client_metric_names("api->db");
    return std::tuple{e.count(edge.attempts), e.count(edge.requests), e.count(edge.failures),
                      e.count("services/tier/api/degraded")};
  };
  const auto [attempts, calls, failed, degraded] = run(Duration::seconds(30), false);
  const auto [attempts_n, calls_n, failed_n, degraded_n] = run(Duration::zero(), false);
  INFO("attempts " << attempts << "/" << calls << " with ejection, " << attempts_n << "/"
                   << calls_n << " without");
  // With ejection, db-0 costs one failed attempt (the retry goes to the next instance), then
  // it is skipped; without, a third of the calls pay a retry for the whole outage.
  CHECK(attempts < calls + 5);
  CHECK(attempts_n > calls_n + calls_n / 5);
  CHECK(failed == 0);
  CHECK(failed_n == 0);
  CHECK(degraded == 0);

  // Every instance down: after max_attempts the fallback answers and the request goes on.
  ServiceGraphParams p;
  p.tiers = {tier("api", 1), tier("db", 2)};
  DependencyParams d{"db", 1, {}};
  d.policy.retry = {.max_attempts = 2, .base = Duration::zero(),
                    .jitter = resilience::Jitter::none};
  d.policy.eject_for = Duration::seconds(30);
  d.fallback = true;
  p.tiers[0].dependencies.push_back(d);
  p.clients = {users("api", 20)};
  Embedded e(p);
  e.run_with_tier_down("db");
  const auto c = client_metric_names("users");
  CHECK(e.count(c.successes) > 50);
  CHECK(e.count("services/tier/api/degraded") == e.count(client_metric_names("api->db").requests));
  CHECK(e.count(client_metric_names("api->db").attempts) ==
        2 * e.count(client_metric_names("api->db").requests));
}

TEST_CASE("services: an external caller can call a chosen instance and learns the outcome",
          "[models][services][external]") {
  ServiceGraphParams p;
  p.tiers = {tier("api", 3)};
  p.tiers[0].dependency_failure = resilience::Outcome::server_error;
  Embedded e(p);
  auto seen = std::make_shared<std::vector<std::string>>();
  auto fail = std::make_shared<bool>(false);
  e.graph->set_tier_hook("api", [seen, fail](world::Node& node, std::function<void(bool)> done) {
    seen->push_back(node.name());
    done(!*fail);
  });
  e.graph->build(*e.world);
  world::World& w = *e.world;
  const auto zone = w.add_zone(w.add_region("edge"), "edge-1");
  const auto from = w.add_node(w.add_host(zone, "edge"), "edge", "edge",
                               [](world::Node&) { return std::make_unique<Idle>(); });
  const auto caller = e.graph->add_external_caller("edge", "api", CallPolicy{});
  std::vector<resilience::Outcome> outcomes;
  e.sim.schedule_after(Duration::seconds(1), [&] {
    e.graph->call(caller, from, 2, [&](resilience::Outcome o) { outcomes.push_back(o); });
  });
  e.sim.schedule_after(Duration::seconds(2), [&] {
    *fail = true;
    e.graph->call(caller, from, 1, [&](resilience::Outcome o) { outcomes.push_back(o); });
  });
  e.crash("api-0", world::TargetKind::kNode, Duration::seconds(3), Duration::seconds(10));
  e.sim.schedule_after(Duration::seconds(4), [&] {
    e.graph->call(caller, from, 0, [&](resilience::Outcome o) { outcomes.push_back(o); });
  });
  e.sim.run_until(Time::zero() + Duration::seconds(10));
  CHECK(*seen == std::vector<std::string>{"api-2", "api-1"});
  REQUIRE(outcomes.size() == 3);
  CHECK(outcomes[0] == resilience::Outcome::ok);
  CHECK(outcomes[1] == resilience::Outcome::server_error);
  CHECK((outcomes[2] == resilience::Outcome::unavailable ||
         outcomes[2] == resilience::Outcome::timeout));
}
