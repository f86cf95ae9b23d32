// Binding of the generic service-graph model (sim/services): "model": {"name": "services"}.
// JSON keys are the field names of faultline::sim::services::ServiceGraphParams and the
// resilience params structs it holds, one to one; durations are strings.
#include "services_readers.hpp"
#include "world_faults.hpp"

#include <faultline/scenario/registry.hpp>
#include <faultline/sim/services/leaf_profile.hpp>
#include <faultline/sim/services/params.hpp>
#include <faultline/sim/services/service_graph.hpp>
#include <faultline/world/world.hpp>

#include <algorithm>
#include <stdexcept>

namespace faultline::scenario {
namespace {

namespace svc = faultline::sim::services;
namespace res = faultline::resilience;

void read_timeout(ObjectReader& r, res::TimeoutParams& p) {
  r.get("timeout", p.timeout, {.min = Duration::nanos(1)},
        "per-attempt timeout, and a percentile timeout's fallback until it has enough samples");
  r.get("percentile", p.percentile, {.min = 0.0, .max = 0.999999},
        "0: fixed timeout; else time out at this quantile of observed latency (Brooker, AWS "
        "Builders' Library: e.g. 0.999)");
  r.get("multiplier", p.multiplier, {.min = 0.0},
        "headroom: the observed percentile is multiplied by this");
  r.get("min_timeout", p.min_timeout, {.min = Duration::zero()}, "least percentile timeout");
  r.get("max_timeout", p.max_timeout, {.min = Duration::zero()}, "largest percentile timeout");
  r.get("min_samples", p.min_samples, {}, "latencies needed before the percentile is trusted");
  r.finish();
}

void read_retry(ObjectReader& r, res::RetryParams& p) {
  r.get("max_attempts", p.max_attempts, {.min = 1, .max = 1000},
        "attempts per request including the first; 1 disables retries (AWS SDKs' standard mode: "
        "3)");
  r.get("base", p.base, {.min = Duration::zero()},
        "first backoff; doubles per attempt up to cap (0s with no jitter: retry at once)");
  r.get("cap", p.cap, {.min = Duration::zero()}, "largest backoff (AWS SDKs: 20 s)");
  std::string jitter(res::to_string(p.jitter));
  r.get_choice("jitter", jitter, {"none", "full", "equal", "decorrelated"},
               "how the backoff is randomised (Brooker 2015)");
  p.jitter = *res::parse_jitter(jitter);
  r.get("retry_on_timeout", p.retry_on_timeout,
        "retry an attempt that timed out (it may still be running on the server)");
  r.finish();
}

void read_policy(ObjectReader& r, svc::CallPolicy& p) {
  if (auto t = r.object("timeout", "per-attempt timeout, fixed or a latency percentile")) {
    read_timeout(*t, p.timeout);
  }
  if (auto t = r.object("retry", "retries with capped exponential backoff and jitter")) {
    read_retry(*t, p.retry);
  }
  r.get("retry_quota_enabled", p.retry_quota_enabled,
        "limit retries with a token bucket (the AWS SDKs' retry quota)");
  if (auto q = r.object("retry_quota", "the retry quota's token bucket")) {
    q->get("capacity", p.retry_quota.capacity, {.min = 0},
           "tokens the bucket holds (AWS SDKs: 500)");
    q->get("retry_cost", p.retry_quota.retry_cost, {.min = 0},
           "tokens a retry takes (AWS SDKs: 5)");
    q->get("timeout_retry_cost", p.retry_quota.timeout_retry_cost, {.min = 0},
           "tokens a retry after a timeout takes (AWS SDKs: 10)");
    q->get("no_retry_increment", p.retry_quota.no_retry_increment, {.min = 0},
           "tokens refunded by a success on the first attempt (AWS SDKs: 1)");
    q->finish();
  }
  r.get("adaptive_throttle_enabled", p.adaptive_throttle_enabled,
        "reject requests locally as the backend refuses them (SRE book ch. 21 client-side "
        "throttling)");
  if (auto a = r.object("adaptive_throttle",
                        "the adaptive throttle: reject with probability max(0, (requests - k x "
                        "accepts) / (requests + 1))")) {
    a->get("k", p.adaptive_throttle.k, {.min = 1.0}, "accepts multiplier (SRE book: 2)");
    a->get("window", p.adaptive_throttle.window, {.min = Duration::nanos(1)},
           "history the throttle counts over (SRE book: two minutes)");
    a->get("buckets", p.adaptive_throttle.buckets, {.min = 1}, "buckets of the rolling window");
    a->finish();
  }
  r.get("circuit_breaker_enabled", p.circuit_breaker_enabled,
        "a circuit breaker per client process and dependency");
  if (auto b = r.object("circuit_breaker",
                        "the circuit breaker (Hystrix-style: closed, open, half-open)")) {
    auto& cb = p.circuit_breaker;
    std::string trip(cb.trip == res::BreakerTrip::failure_ratio ? "failure_ratio"
                                                                : "consecutive_failures");
    b->get_choice("trip", trip, {"failure_ratio", "consecutive_failures"},
                  "what opens the breaker: a failure ratio over the window, or consecutive "
                  "failures");
    cb.trip = trip == "failure_ratio" ? res::BreakerTrip::failure_ratio
                                      : res::BreakerTrip::consecutive_failures;
    b->get("failure_ratio", cb.failure_ratio, {.min = 0.0, .max = 1.0},
           "failure ratio over the window that opens the breaker");
    b->get("window", cb.window, {.min = Duration::nanos(1)},
           "window the failure ratio is counted over");
    b->get("buckets", cb.buckets, {.min = 1}, "buckets of the rolling window");
    b->get("consecutive_failures", cb.consecutive_failures, {.min = 1},
           "failures in a row that open the breaker (consecutive mode)");
    b->get("open_duration", cb.open_duration, {.min = Duration::zero()},
           "how long an open breaker rejects calls (Hystrix's sleep window)");
    b->get("half_open_probes", cb.half_open_probes, {.min = 1},
           "calls let through while half-open");
    b->get("half_open_successes", cb.half_open_successes, {.min = 1},
           "successes while half-open that close the breaker");
    b->finish();
  }
  if (auto h = r.object("hedge",
                        "hedged or tied requests (Dean and Barroso, The Tail at Scale, 2013)")) {
    auto& hp = p.hedge;
    h->get("enabled", hp.enabled, "send hedges");
    h->get("delay", hp.delay, {.min = Duration::zero()},
           "fixed delay before a hedge (Tail at Scale's BigTable benchmark: 10 ms)");
    h->get("percentile", hp.percentile, {.min = 0.0, .max = 0.999999},
           "0: fixed delay; else hedge after this quantile of observed latency (e.g. 0.95)");
    h->get("min_samples", hp.min_samples, {}, "samples needed before the percentile is trusted");
    h->get("max_hedges", hp.max_hedges, {.min = 0}, "extra copies per request");
    h->get("tied", hp.tied, "tied requests: copies cancel each other when one starts service");
    h->get("tied_delay", hp.tied_delay, {.min = Duration::zero()},
           "delay before a tied copy goes out");
    h->finish();
  }
  std::string balancer(svc::to_string(p.balancer));
  r.get_choice("balancer", balancer, {"round_robin", "random", "least_outstanding"},
               "how a caller picks an instance of the tier it calls");
  p.balancer = *svc::parse_balancer(balancer);
  r.finish();
}

std::string required_name(ObjectReader& r, std::string_view key, std::string_view example,
                          Doc doc) {
  const Json& v = r.require(key, example, doc);
  if (!v.is_string() || v.get<std::string>().empty()) {
    r.report(r.error(key, "expected a non-empty string"));
    return std::string(example.substr(1, example.size() - 2));
  }
  return v.get<std::string>();
}

svc::TierParams read_tier(ObjectReader& r) {
  svc::TierParams t;
  t.name = required_name(r, "name", "\"api\"", "tier name, as callers and faults name it");
  r.get("instances", t.instances, {.min = 1, .max = 10000},
        "instances of the tier, one per host, spread over the zones");
  r.get("cores", t.cores, {.min = 1, .max = 1024}, "cores of each instance's host");
  if (auto s = r.object("service_time", "CPU time of one request on an instance")) {
    std::string kind(svc::to_string(t.service_time.kind));
    s->get_choice("kind", kind, {"fixed", "exponential", "lognormal", "tail-at-scale"},
                  "distribution of the service time (tail-at-scale: Table 1 of The Tail at Scale)");
    t.service_time.kind = *svc::parse_service_time_kind(kind);
    s->get("mean", t.service_time.mean, {.min = Duration::nanos(1)},
           "mean service time (not used by tail-at-scale)");
    s->get("sigma", t.service_time.sigma, {.min = 0.0}, "lognormal only: sigma of the natural log");
    s->get("table1_leaves", t.service_time.table1_leaves,
           {.min = svc::TailAtScaleProfile::kMinLeaves, .max = svc::TailAtScaleProfile::kMaxLeaves},
           "tail-at-scale only: fan-out whose all-leaves row (p50/p99 40/140 ms) is matched");
    s->finish();
  }
  if (auto a = r.object("admission",
                        "admission control of each instance: concurrency, queue, CoDel, order")) {
    auto& ad = t.admission;
    a->get("max_concurrency", ad.max_concurrency, {.min = 0},
           "requests served at once per instance (0: one per core)");
    a->get("max_queue_length", ad.max_queue_length, {.min = 0},
           "requests that may wait per instance (0: unbounded)");
    a->get("queue_timeout", ad.queue_timeout, {.min = Duration::zero()},
           "a request waiting longer is dropped (0s: never)");
    a->get("codel", ad.codel, "CoDel queue management (Nichols and Jacobson 2012)");
    a->get("codel_target", ad.codel_target, {.min = Duration::nanos(1)},
           "CoDel's target queueing delay (the paper: 5 ms)");
    a->get("codel_interval", ad.codel_interval, {.min = Duration::nanos(1)},
           "CoDel's interval (the paper: 100 ms)");
    std::string order(res::to_string(ad.order));
    a->get_choice("order", order, {"fifo", "lifo", "adaptive_lifo"},
                  "queue order: FIFO, LIFO, or adaptive LIFO (LIFO while the queue is long)");
    ad.order = *res::parse_queue_order(order);
    a->finish();
  }
  if (const Json* deps = r.array("dependencies",
                                 "tiers this tier calls per request, after its own CPU work, "
                                 "in order")) {
    for (std::size_t i = 0; i < deps->size(); ++i) {
      ObjectReader d((*deps)[i], child_pointer(r.pointer("dependencies"), i), r.source());
      svc::DependencyParams dep;
      dep.tier = required_name(d, "tier", "\"db\"", "the tier called");
      d.get("calls", dep.calls, {.min = 1, .max = 1000}, "calls to that tier per request");
      if (auto p = d.object("policy",
                            "the caller's policy for these calls (timeout, retries, breaker, "
                            "hedging)")) {
        read_policy(*p, dep.policy);
      }
      d.get("fallback", dep.fallback,
            "a failed call is answered by a degraded local fallback (e.g. a straight-line ETA) "
            "and the request goes on");
      d.finish();
      t.dependencies.push_back(std::move(dep));
    }
  }
  r.get("request_bytes", t.request_bytes, {}, "bytes of a request on the wire");
  r.get("response_bytes", t.response_bytes, {}, "bytes of a response on the wire");
  bindings::read_timed_wait_threads(
      r, t.timed_wait_threads, t.timed_wait, t.cpu_slice, 100000,
      "threads per instance that loop on short absolute timed waits (the 2012 leap-second "
      "futex livelock)",
      "the run queue's time slice: request work runs in slices of it, and a thread whose wait "
      "returned at once holds a core for one slice (0: requests run to completion)");
  if (auto c = r.object("clock", "clock of the tier's hosts (leap mode, NTP, smear)")) {
    world::ClockParams clock;
    bindings::read_clock(*c, clock);
    t.clock = clock;
  }
  r.finish();
  return t;
}

svc::ClientParams read_client(ObjectReader& r) {
  svc::ClientParams c;
  c.name = required_name(r, "name", "\"web\"",
                         "population name, the `of` of observations and expectations");
  c.target = required_name(r, "target", "\"api\"", "the tier the population calls");
  std::string arrival(svc::to_string(c.arrival));
  r.get_choice("arrival", arrival, {"poisson", "closed_loop"},
               "poisson (open loop: users) or closed_loop (sessions that wait, think and repeat)");
  c.arrival = *svc::parse_arrival(arrival);
  r.get("rate_per_s", c.rate_per_s, {.min = 0.0, .max = 1e7},
        "poisson: logical requests per second across the population");
  r.get("sessions", c.sessions, {.min = 1, .max = 1000000}, "closed loop: sessions per process");
  r.get("think_time", c.think_time, {.min = Duration::zero()},
        "closed loop: mean think time between a session's requests (exponential)");
  r.get("processes", c.processes, {.min = 1, .max = 100000},
        "client processes (each with its own policy state)");
  r.get("max_outstanding", c.max_outstanding, {.min = 0},
        "requests a process holds at once; beyond it arrivals fail at once (0: unlimited)");
  r.get("fanout", c.fanout, {.min = 1},
        "a request fans out to this many distinct instances and waits for all");
  r.get("start", c.start, {.min = Duration::zero()}, "when the population starts");
  r.get("stop", c.stop, {.min = Duration::zero()}, "when it stops (0s: at the end of the run)");
  r.get("rate_change_at", c.rate_change_at, {.min = Duration::zero()},
        "when the rate steps to rate_after_change (a spike or a failover; 0s: never)");
  r.get("rate_after_change", c.rate_after_change, {.min = 0.0, .max = 1e7},
        "poisson rate after rate_change_at");
  if (auto p = r.object("policy",
                        "the clients' resilience policy (timeout, retries, quota, throttle, "
                        "breaker, hedging)")) {
    read_policy(*p, c.policy);
  }
  if (auto m = r.object("malformed",
                        "a malformed payload served to these clients over [from, until) (the "
                        "map-data retry storm recipe, model-facts §5.4)")) {
    m->get("from", c.malformed.from, {.min = Duration::zero()},
           "when responses start carrying the malformed payload");
    m->get("until", c.malformed.until, {.min = Duration::zero()},
           "when the payload is rolled back (0: never malformed)");
    m->get("crash", c.malformed.crash,
           "the app crashes parsing it and relaunches (false: it validates the payload and keeps "
           "its cached last-good copy)");
    m->get("relaunch", c.malformed.relaunch, {.min = Duration::nanos(1)},
           "time for a crashed app to relaunch and request again at once");
    m->finish();
  }
  r.finish();
  return c;
}

class ServicesInstance : public ModelInstance {
public:
  ServicesInstance(svc::ServiceGraphParams params, world::WorldParams world_params,
                   bindings::FaultPlan faults)
      : params_(std::move(params)), world_params_(std::move(world_params)),
        faults_(std::move(faults)) {}
  ~ServicesInstance() override {
    graph_.reset();  // the graph goes before the world it lives in
    world_.reset();
  }

  void start(Simulation& sim) override {
    sim_ = &sim;
    world_ = std::make_unique<world::World>(sim, world_params_);
    graph_ = std::make_unique<svc::ServiceGraph>(params_);
    graph_->build(*world_);
    bindings::schedule_faults(world_->faults(), faults_);
  }

  std::optional<MeasureNames> measures(std::string_view of) const override {
    if (of.empty() && !params_.clients.empty()) {
      of = params_.clients.front().name;
    }
    for (const auto& c : params_.clients) {
      if (c.name == of) {
        auto n = svc::client_metric_names(c.name);
        return MeasureNames{n.requests, n.successes, n.failures, n.attempts, n.latency};
      }
    }
    for (const auto& t : params_.tiers) {
      if (t.name == of) {
        auto n = svc::tier_metric_names(t.name);
        return MeasureNames{n.arrivals, n.served, "", "", n.queue_wait};
      }
    }
    // A dependency edge "api->db" is measured as a client population of its own: the calls
    // tier api makes to tier db.
    for (const auto& edge : edges()) {
      if (edge == of) {
        auto n = svc::client_metric_names(edge);
        return MeasureNames{n.requests, n.successes, n.failures, n.attempts, n.latency};
      }
    }
    return std::nullopt;
  }

  std::vector<std::string> edges() const {
    std::vector<std::string> out;
    for (const auto& t : params_.tiers) {
      for (const auto& d : t.dependencies) {
        std::string edge = t.name + "->" + d.tier;
        if (std::find(out.begin(), out.end(), edge) == out.end()) {
          out.push_back(std::move(edge));
        }
      }
    }
    return out;
  }

  std::vector<std::string> measure_scopes() const override {
    std::vector<std::string> out;
    for (const auto& c : params_.clients) {
      out.push_back(c.name);
    }
    for (const auto& t : params_.tiers) {
      out.push_back(t.name);
    }
    for (auto& edge : edges()) {
      out.push_back(std::move(edge));
    }
    return out;
  }

  std::vector<std::string> probes() const override {
    std::vector<std::string> out;
    for (const auto& c : params_.clients) {
      out.push_back("breaker_open/" + c.name);
    }
    for (const auto& t : params_.tiers) {
      out.push_back("cpu_utilisation/" + t.name);
      out.push_back("queue_length/" + t.name);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  double probe(std::string_view name) const override {
    auto slash = name.find('/');
    std::string_view kind = name.substr(0, slash);
    std::string_view what = name.substr(slash + 1);
    if (kind == "queue_length") {
      return graph_->queue_length(what);
    }
    if (kind == "breaker_open") {
      return graph_->breaker_open_fraction(what);
    }
    return graph_->cpu_busy_fraction(what);
  }

private:
  svc::ServiceGraphParams params_;
  world::WorldParams world_params_;
  bindings::FaultPlan faults_;
  Simulation* sim_ = nullptr;
  std::unique_ptr<world::World> world_;
  std::unique_ptr<svc::ServiceGraph> graph_;
};

std::unique_ptr<ModelInstance> prepare_services(const ModelInput& in) {
  const Source& source = *in.source;
  svc::ServiceGraphParams params;
  ObjectReader r(*in.params, "/model/params", source);
  r.get_names("zones", params.zones, "zones the instances and clients are spread over");
  r.get("sample_interval", params.sample_interval, {.min = Duration::nanos(1)},
        "interval of the model's own series (probes)");
  bindings::check_sample_count(r, "sample_interval", params.sample_interval, in.duration);
  world::WorldParams world_params;
  bindings::read_leap_seconds(r, "leap_seconds", world_params.leap_seconds);
  params.tiers.clear();
  if (const Json* tiers = r.array("tiers",
                                  "service tiers: instances with CPU, admission control and "
                                  "dependencies")) {
    for (std::size_t i = 0; i < tiers->size(); ++i) {
      ObjectReader t((*tiers)[i], child_pointer("/model/params/tiers", i), source);
      params.tiers.push_back(read_tier(t));
    }
  }
  if (const Json* clients = r.array("clients", "client populations, each calling one tier")) {
    for (std::size_t i = 0; i < clients->size(); ++i) {
      ObjectReader c((*clients)[i], child_pointer("/model/params/clients", i), source);
      params.clients.push_back(read_client(c));
      const auto& client = params.clients.back();
      bindings::check_request_count(c, "rate_per_s",
                                    std::max(client.rate_per_s, client.rate_after_change),
                                    in.duration);
    }
  }
  r.finish();
  bindings::validate_at(source, params);
  std::vector<std::string> groups;
  for (const auto& t : params.tiers) {
    groups.push_back(svc::ServiceGraph::tier_group(t.name));
  }
  for (const auto& c : params.clients) {
    groups.push_back(svc::ServiceGraph::client_group(c.name));
  }
  auto faults = bindings::parse_faults(in.faults, source, in.duration, groups);
  return std::make_unique<ServicesInstance>(std::move(params), std::move(world_params),
                                            std::move(faults));
}

}  // namespace

namespace bindings {
svc::TierParams read_service_tier(ObjectReader& r) { return read_tier(r); }
svc::ClientParams read_service_client(ObjectReader& r) { return read_client(r); }
void read_call_policy(ObjectReader& r, svc::CallPolicy& p) { read_policy(r, p); }
}  // namespace bindings

void register_services_model(ModelRegistry& registry) {
  registry.add({"services",
                "generic service graph: clients with open/closed-loop arrivals, tiers with CPU "
                "and queues, dependencies, per-call resilience policies (sim/services)",
                {"faults"},
                prepare_services});
}

}  // namespace faultline::scenario
