// Binding of the Zuul edge stack (sim/zuul): "model": {"name": "zuul"}.
// JSON keys are the field names of faultline::sim::zuul::StackParams, one to one:
//   {"zuul": {"instances", "mode": "thread_per_request" | "event_loop", "threads", ...,
//             "retry": {...}, "retry_budget": {...}, "routes": [...], "route_changes": [...],
//             "throttles": [...]},
//    "tiers": [{"name", "instances", "cores", "cpu", "max_in_flight", "cache_reads",
//               "calls": [{"tier", "timeout", "max_attempts", "fallback"}]}],
//    "families": [{"name", "rate_per_s", "timeout", "max_attempts", ...}],
//    "evcache": {"replicated", "servers_per_zone", "memory_bytes", "keys", "zipf_s", "ttl",
//                "read_timeout", "store_concurrency", "store_timeout"},
//    "chaos_monkey": {"enabled", "groups", "mean_workdays", "min_between", "restart_after",
//                     "utc_offset", "start_hour", "end_hour"},
//    "multi_region": {"regions": [{"name", "zones"}], "dns": {...}, "failover":
//                     "none" | "active_active" | "isthmus", "check_interval", "error_threshold",
//                     "checks", "failback", "failback_over", "failback_steps",
//                     "health_probes", "probe_timeout",
//                     "evacuation": {...}, "cache_replication": {"enabled", "lag_base",
//                     "lag_mean"}},
//    "elb": {"enabled", "nodes", "touch_mean", "control_plane": {"scale_ratio", "fail_static",
//            "call_timeout", "retry_after"}, "state_loss": {"at", "region", "families",
//            "change_managed", "workflows_disabled_at", "restored_at"}}}
//   (families[].home: a region's name)
// Fault targets: node:<name>, group:<zuul|tier/<t>|evcache/<z>|device/<f>> (another region's:
// zuul@<r>, tier/<t>@<r>, evcache@<r>/<z>), evcache-relay (evcache-relay@<r>) with
// cache_replication, health-checker with failback, with ELBs elb/api-<f>, elb/control-plane,
// elb/state-store (elb/api-<f>@<r>...), region:<r>, region:internet.
//
// Measure scopes: "devices" (the default: every family), each family's name, "tier/<t>" (and
// "tier/<t>@<r>"), "cache" ("cache@<r>": EVCache reads; availability = the hit rate) and
// "store" ("store@<r>": backing-store calls; throughput = the store's load), with ELBs
// "control-plane" ("control-plane@<r>": workflow runs; a failure is an API error).
// Probes: zuul_memory_bytes, zuul_memory_peak_bytes, zuul_open, zuul_busy_threads, shed,
// throttled, retries, retries_denied, failovers, origin_errors, degraded, chaos_kills; with
// several regions also share/<f>/<r> (share of a family's resolvers answering region r),
// edge_healthy/<r> (1 or 0), and replicated/<r> (replicated sets applied to region r's cache
// so far; 0 without cache_replication); with ELBs elb_broken/<f>/<r> (LB nodes of family f's
// ELB in region r that black-hole requests).
#include "elb_readers.hpp"
#include "regions_readers.hpp"
#include "world_faults.hpp"

#include <faultline/scenario/registry.hpp>
#include <faultline/sim/evcache/cluster.hpp>
#include <faultline/sim/zuul/stack.hpp>
#include <faultline/world/world.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <stdexcept>

namespace faultline::scenario {
namespace {

namespace zu = faultline::sim::zuul;
namespace res = faultline::resilience;

class ZuulInstance : public ModelInstance {
public:
  ZuulInstance(zu::StackParams params, bindings::FaultPlan faults)
      : params_(std::move(params)), faults_(std::move(faults)) {}

  void start(Simulation& sim) override {
    stack_ = std::make_unique<zu::EdgeStack>(sim, params_);
    bindings::schedule_faults(stack_->world().faults(), faults_);
    metrics_ = &sim.metrics();
  }

  std::optional<MeasureNames> measures(std::string_view of) const override {
    if (const auto stem = evcache_stem(of, "store")) {  // throughput = the store's load
      auto n = sim::evcache::scope_names("store", *stem);
      return MeasureNames{n.requests, n.successes, n.failures, n.requests, n.latency};
    }
    if (const auto stem = evcache_stem(of, "cache")) {  // availability = the EVCache hit rate
      auto n = sim::evcache::scope_names("cache", *stem);
      return MeasureNames{n.requests, n.successes, n.failures,
                          sim::evcache::attempts_name(*stem), n.latency};
    }
    if (params_.elb.enabled && (of == "control-plane" || of.starts_with("control-plane@"))) {
      const auto scopes = measure_scopes();
      if (std::find(scopes.begin(), scopes.end(), of) == scopes.end()) {
        return std::nullopt;
      }
      const std::string p = "elb/" + std::string(of) + "/";  // ElbService's counters
      return MeasureNames{p + "requests", p + "successes", p + "failures", p + "requests",
                          p + "latency"};
    }
    std::string scope = "devices";
    if (of.starts_with("tier/")) {
      const auto scopes = measure_scopes();
      if (std::find(scopes.begin(), scopes.end(), of) == scopes.end()) {
        return std::nullopt;
      }
      scope = std::string(of);
    } else if (!of.empty() && of != "devices") {
      const bool family = std::any_of(params_.families.begin(), params_.families.end(),
                                      [&](const auto& f) { return f.name == of; });
      if (!family) {
        return std::nullopt;
      }
      scope = "family/" + std::string(of);
    }
    auto n = zu::scope_names(scope);
    return MeasureNames{n.requests, n.successes, n.failures, n.attempts, n.latency};
  }
  std::vector<std::string> measure_scopes() const override {
    std::vector<std::string> s{"devices"};
    const auto regions = params_.region_list();
    for (std::size_t r = 0; r < regions.size(); ++r) {
      const std::string at = r == 0 ? "" : "@" + regions[r].name;
      s.push_back("cache" + at);
      s.push_back("store" + at);
      if (params_.elb.enabled) {
        s.push_back("control-plane" + at);
      }
      for (const auto& t : params_.tiers) {
        s.push_back("tier/" + t.name + at);
      }
    }
    for (const auto& f : params_.families) {
      s.push_back(f.name);
    }
    return s;
  }

  std::vector<std::string> probes() const override {
    std::vector<std::string> p{"chaos_kills",       "degraded",          "failovers",
                               "origin_errors",     "retries",           "retries_denied",
                               "shed",              "throttled",         "zuul_busy_threads",
                               "zuul_memory_bytes", "zuul_memory_peak_bytes", "zuul_open"};
    const auto regions = params_.region_list();
    if (params_.elb.enabled) {
      for (const auto& r : regions) {
        for (const auto& f : params_.families) {
          p.push_back("elb_broken/" + f.name + "/" + r.name);
        }
      }
    }
    if (regions.size() > 1) {
      for (const auto& r : regions) {
        p.push_back("edge_healthy/" + r.name);
        for (const auto& f : params_.families) {
          p.push_back("share/" + f.name + "/" + r.name);
        }
        p.push_back("replicated/" + r.name);
      }
    }
    return p;
  }
  double probe(std::string_view name) const override {
    if (name.starts_with("edge_healthy/")) {
      return stack_->edge_healthy(name.substr(13)) ? 1.0 : 0.0;
    }
    if (name.starts_with("replicated/")) {
      return static_cast<double>(stack_->replicated_sets(name.substr(11)));
    }
    if (name.starts_with("share/") || name.starts_with("elb_broken/")) {  // <f>/<r>
      const auto rest = name.substr(name.find('/') + 1);
      const auto slash = rest.rfind('/');
      const auto family = rest.substr(0, slash);
      const auto region = rest.substr(slash + 1);
      return name.starts_with("share/") ? stack_->dns_share(family, region)
                                        : stack_->elb_broken_nodes(family, region);
    }
    if (name == "zuul_memory_bytes") {
      return static_cast<double>(stack_->zuul_memory_bytes());
    }
    if (name == "zuul_memory_peak_bytes") {
      return static_cast<double>(stack_->zuul_memory_peak_bytes());
    }
    if (name == "zuul_open") {
      return stack_->zuul_open_requests();
    }
    if (name == "zuul_busy_threads") {
      return stack_->zuul_busy_threads();
    }
    if (name == "degraded") {
      return static_cast<double>(stack_->degraded());
    }
    if (name == "chaos_kills") {
      const auto& fired = stack_->world().faults().fired();
      return static_cast<double>(std::count_if(fired.begin(), fired.end(), [](const auto& f) {
        return f.origin == "chaos-monkey" && f.kind == world::FaultKind::kCrash;
      }));
    }
    const auto& c = zu::edge_counter_names();
    const std::string counter = name == "shed"             ? c.shed
                                : name == "throttled"      ? c.throttled
                                : name == "retries"        ? c.retries
                                : name == "retries_denied" ? c.retries_denied
                                : name == "failovers"      ? c.failovers
                                                           : c.origin_errors;
    const Counter* k = metrics_->find_counter(counter);
    return k == nullptr ? 0.0 : static_cast<double>(k->value());
  }

private:
  /// "<scope>" or "<scope>@<region>" ("cache", "store"): that region's EVCache cluster's
  /// metric stem.
  std::optional<std::string> evcache_stem(std::string_view of, std::string_view scope) const {
    if (of == scope) {
      return std::string("evcache");
    }
    if (of.starts_with(scope) && of.substr(scope.size()).starts_with("@") &&
        params_.region_index(of.substr(scope.size() + 1)) > 0) {
      return "evcache" + std::string(of.substr(scope.size()));
    }
    return std::nullopt;
  }

  zu::StackParams params_;
  bindings::FaultPlan faults_;
  std::unique_ptr<zu::EdgeStack> stack_;
  const Metrics* metrics_ = nullptr;
};

void read_zuul(ObjectReader& o, zu::ZuulParams& z, const Source& source) {
  o.get("instances", z.instances, {.min = 1, .max = 10000}, "Zuul instances, a count");
  o.get("cores", z.cores, {.min = 1, .max = 256}, "cores of each Zuul host");
  std::string mode(zu::to_string(z.mode));
  o.get_choice("mode", mode, {"thread_per_request", "event_loop"},
               "Zuul 1 (a worker thread per request, blocking) or Zuul 2 (an event loop per "
               "core, non-blocking; Netflix tech blog, Zuul 2, 2016)");
  z.mode = *zu::parse_mode(mode);
  o.get("filter_cpu", z.filter_cpu, {.min = Duration::zero()},
        "CPU per request for Zuul's filters: routing, auth, metrics (assumption)");
  o.get("threads", z.threads, {.min = 1, .max = 100000},
        "Zuul 1: worker threads per instance (Tomcat's default maxThreads: 200)");
  o.get("accept_queue", z.accept_queue, {.min = 0, .max = 1'000'000},
        "Zuul 1: requests waiting for a thread before new ones are shed (Tomcat's acceptCount "
        "default: 100)");
  o.get("thread_memory_bytes", z.thread_memory_bytes, {.min = 0},
        "Zuul 1: memory a busy worker thread holds, bytes (assumption: 256 KB of the JVM's 1 MB "
        "default stack touched)");
  o.get("connection_memory_bytes", z.connection_memory_bytes, {.min = 0},
        "memory of one open client connection, bytes, both modes (assumption: socket and "
        "channel buffers)");
  o.get("max_connections", z.max_connections, {.min = 1, .max = 10'000'000},
        "Zuul 2: requests open per instance before new ones are shed (assumption)");
  o.get("origin_max_concurrency", z.origin_max_concurrency, {.min = 0, .max = 10'000'000},
        "requests in flight to one origin per instance before new ones to it are shed (Zuul 2's "
        "origin concurrency protection); 0: no limit");
  o.get("origin_timeout", z.origin_timeout, {.min = Duration::nanos(1)},
        "timeout of one call from Zuul to an origin instance");
  if (auto rt = o.object("retry", "Zuul's retries of a failed origin call, each to another "
                                  "instance (Ribbon's MaxAutoRetriesNextServer: 1)")) {
    rt->get("max_attempts", z.retry.max_attempts, {.min = 1, .max = 10},
            "attempts per request including the first; 1 disables retries");
    rt->get("base", z.retry.base, {.min = Duration::zero()},
            "first backoff before a retry (Zuul retries at once: 0s); doubles up to cap");
    rt->get("cap", z.retry.cap, {.min = Duration::zero()}, "largest backoff");
    std::string jitter(res::to_string(z.retry.jitter));
    rt->get_choice("jitter", jitter, {"none", "full", "equal", "decorrelated"},
                   "how the backoff is randomised (Brooker 2015)");
    z.retry.jitter = *res::parse_jitter(jitter);
    rt->get("retry_on_timeout", z.retry.retry_on_timeout,
            "whether a timed-out origin call is retried (it may still run on the origin)");
    rt->finish();
  }
  if (auto b = o.object("retry_budget", "a cap on retries as a share of requests (SRE book "
                                        "ch. 21: retries under 10 % of requests)")) {
    b->get("enabled", z.retry_budget_enabled, "whether the budget applies");
    b->get("ratio", z.retry_budget.ratio, {.min = 0, .max = 10},
           "retries allowed per request over the window (SRE book: 0.1)");
    b->get("window", z.retry_budget.window, {.min = Duration::nanos(1)},
           "the window the ratio is counted over");
    b->get("min_retries", z.retry_budget.min_retries, {.min = 0, .max = 1'000'000},
           "retries always allowed per window, a count");
    b->finish();
  }
  o.get("eject_for", z.eject_for, {.min = Duration::nanos(1)},
        "an origin instance that refused or timed out is skipped for this long (assumption)");
  auto read_route = [](ObjectReader& r, zu::RouteParams& route) {
    r.get("family", route.family, "the device family routed");
    r.get("origin", route.origin, "the tier its requests go to");
    r.get("failover_origin", route.failover_origin,
          "the tier they go to when no instance of the origin can be reached (empty: none)");
  };
  if (const Json* routes = o.array("routes", "dynamic routing: each family's origin")) {
    for (std::size_t i = 0; i < routes->size(); ++i) {
      ObjectReader r((*routes)[i], child_pointer(o.pointer("routes"), i), source);
      zu::RouteParams route;
      read_route(r, route);
      r.finish();
      z.routes.push_back(route);
    }
  }
  if (const Json* changes =
          o.array("route_changes", "routing changes pushed at run time (new routing filters)")) {
    for (std::size_t i = 0; i < changes->size(); ++i) {
      ObjectReader r((*changes)[i], child_pointer(o.pointer("route_changes"), i), source);
      zu::RouteChange c;
      r.get("at", c.at, {.min = Duration::zero()}, "when the change is pushed, from the start");
      read_route(r, c.route);
      r.finish();
      z.route_changes.push_back(c);
    }
  }
  if (const Json* throttles =
          o.array("throttles", "per-family rate limits at each Zuul instance (token buckets)")) {
    for (std::size_t i = 0; i < throttles->size(); ++i) {
      ObjectReader r((*throttles)[i], child_pointer(o.pointer("throttles"), i), source);
      zu::ThrottleParams t;
      r.get("family", t.family, "the device family throttled");
      r.get("rate_per_s", t.rate_per_s, {.min = 1e-9, .max = 1e9},
            "requests per second each Zuul instance lets through for the family");
      r.get("burst", t.burst, {.min = 1, .max = 1e9}, "bucket depth: a burst above the rate");
      r.finish();
      z.throttles.push_back(t);
    }
  }
}

void read_tier(ObjectReader& r, zu::TierParams& t, const Source& source) {
  r.get("name", t.name, "the tier's name (\"api\", a microservice)");
  r.get("instances", t.instances, {.min = 1, .max = 10000},
        "instances, one per host, spread over the three zones");
  r.get("cores", t.cores, {.min = 1, .max = 256}, "cores of each instance's host");
  r.get("cpu", t.cpu, {.min = Duration::zero()},
        "mean CPU per request, exponential (assumption)");
  r.get("max_in_flight", t.max_in_flight, {.min = 1, .max = 10'000'000},
        "requests in an instance at once beyond which new ones are shed (503)");
  r.get("cache_reads", t.cache_reads, {.min = 0, .max = 100},
        "reads through the EVCache client per request, from the instance's zone");
  if (const Json* calls = r.array("calls", "calls to other tiers per request, in order")) {
    for (std::size_t i = 0; i < calls->size(); ++i) {
      ObjectReader c((*calls)[i], child_pointer(r.pointer("calls"), i), source);
      zu::CallParams call;
      c.get("tier", call.tier, "the tier called (listed after this one)");
      c.get("timeout", call.timeout, {.min = Duration::nanos(1)}, "timeout of one attempt");
      c.get("max_attempts", call.max_attempts, {.min = 1, .max = 10},
            "attempts including the first, each to the next instance");
      c.get("fallback", call.fallback,
            "a call that still fails is answered by a degraded local fallback (Hystrix)");
      c.finish();
      t.calls.push_back(call);
    }
  }
}

void read_family(ObjectReader& r, zu::FamilyParams& f, Duration run) {
  r.get("name", f.name, "the device family (\"tv\", \"web\", \"ios\")");
  r.get("rate_per_s", f.rate_per_s, {.min = 1e-9, .max = 1e6},
        "requests per second from the family's devices (Poisson)");
  bindings::check_request_count(r, "rate_per_s", f.rate_per_s, run);
  r.get("timeout", f.timeout, {.min = Duration::nanos(1)}, "how long a device waits");
  r.get("max_attempts", f.max_attempts, {.min = 1, .max = 10},
        "device-side attempts including the first, each to another Zuul instance");
  r.get("edge_eject_for", f.edge_eject_for, {.min = Duration::nanos(1)},
        "the family's edge skips a Zuul instance that refused a connection for this long "
        "(assumption: ELB health checks take tens of seconds)");
  r.get("rate_change_at", f.rate_change_at, {.min = Duration::zero()},
        "when the rate steps to rate_after (0s: never)");
  r.get("rate_after", f.rate_after, {.min = 0, .max = 1e6}, "the rate after the step");
  r.get("home", f.home,
        "the region the family's DNS name answers in steady state (default: the first region)");
}

void read_multi_region(ObjectReader& o, zu::MultiRegionParams& m, const Source& source,
                       Duration run) {
  if (const Json* regions = o.array("regions", "the regions, each with the whole stack")) {
    for (std::size_t i = 0; i < regions->size(); ++i) {
      ObjectReader r((*regions)[i], child_pointer(o.pointer("regions"), i), source);
      zu::RegionParams region;
      r.require("name", "\"us-west\"", "the region's name");
      r.get("name", region.name, "the region's name (\"us-east\", \"us-west\")");
      r.require("zones", "[\"us-west-2a\", \"us-west-2b\", \"us-west-2c\"]",
                "the region's three zones");
      r.get("zones", region.zones, "the region's three zones, by name");
      r.finish();
      m.regions.push_back(std::move(region));
    }
  }
  if (auto d = o.object("dns", "DNS steering: resolver caches that keep an answer for the TTL")) {
    bindings::read_dns(*d, m.dns);
    d->finish();
  }
  std::string failover(zu::to_string(m.failover));
  o.get_choice("failover", failover, {"none", "active_active", "isthmus"},
               "what DNS failover does with a family on an unhealthy region's edge: none; "
               "active_active (another region serves it); isthmus (another region's Zuul "
               "tunnels it to its home region's API)");
  m.failover = *zu::parse_failover(failover);
  o.get("check_interval", m.check_interval, {.min = Duration::nanos(1)},
        "interval of each region edge's health check over the devices' attempts");
  o.get("error_threshold", m.error_threshold, {.min = 1e-9, .max = 1},
        "error rate above which an interval's check fails");
  o.get("checks", m.checks, {.min = 1, .max = 100},
        "failing checks in a row before DNS moves the region's families (Route 53: 3)");
  o.get("failback", m.failback,
        "when a region's edge is healthy again, DNS moves the families homed there back "
        "(health checkers then probe every region each interval)");
  o.get("failback_over", m.failback_over, {.min = Duration::zero()},
        "with failback: move a family home in equal steps over this long (0s: one step, as "
        "Route 53 does; Netflix moved traffic back gradually after Chaos Kong)");
  o.get("failback_steps", m.failback_steps, {.min = 1, .max = 1000},
        "with failback_over: the steps of weight moved home");
  o.get("health_probes", m.health_probes, {.min = 1, .max = 1000},
        "with failback: the health checkers' requests to each region's Zuul per interval");
  o.get("probe_timeout", m.probe_timeout, {.min = Duration::nanos(1)},
        "with failback: a probe not answered within this is a failure (Route 53: 4 s to connect)");
  if (auto e = o.object("evacuation", "Chaos Kong: a region's DNS weight moved to another "
                                      "region (model-facts §4.2)")) {
    bindings::read_evacuation(*e, m.evacuation, run);
    e->finish();
  }
  if (auto c = o.object("cache_replication",
                        "EVCache's cross-region replication through Kafka and a relay per "
                        "region (model-facts §4.4)")) {
    auto& cr = m.cache_replication;
    c->get("enabled", cr.enabled, "replicate every region's cache sets to the other regions");
    c->get("lag_base", cr.lag_base, {.min = Duration::zero()},
           "Kafka's produce-to-consume lag and the relay's read: the fixed part");
    c->get("lag_mean", cr.lag_mean, {.min = Duration::zero()},
           "the exponential part's mean (50ms + 100ms: p99 under 1 s with the hop)");
    c->finish();
  }
}

void read_elb(ObjectReader& o, zu::ElbEdgeParams& e, Duration run) {
  o.get("enabled", e.enabled,
        "put each family's own ELB, with its control plane and state store, between its devices "
        "and every region's Zuul (model-facts §4.1-§4.2)");
  o.get("nodes", e.nodes, {.min = 1, .max = 100},
        "LB nodes per family ELB per region, round robin over the zones");
  o.get("touch_mean", e.touch_mean, {.min = Duration::nanos(1)},
        "mean time between control-plane workflows touching one ELB, exponential (assumption: "
        "Netflix's ELBs scaled often at the evening peak)");
  if (auto c = o.object("control_plane", "what a control-plane workflow does to a running ELB")) {
    bindings::read_control_plane(*c, e.control_plane);
    c->finish();
  }
  if (auto l = o.object("state_loss", "the Christmas Eve 2012 deletion of ELB state in one "
                                      "region's store (model-facts §4.1)")) {
    auto& s = e.state_loss;
    const DurationBounds in_run{.min = Duration::zero(), .max = run};
    l->get("at", s.at, in_run,
           "when a maintenance process deletes the state (record: 12:24 PM PST; 0s: never)");
    l->get("region", s.region, "the region whose store loses it (default: the first region)");
    l->get("families", s.families,
           "the families whose ELBs' state is deleted (model-facts §4.2: the TV devices')");
    l->get("change_managed", s.change_managed,
           "change management on production state refuses the deletion (AWS's fix)");
    l->get("workflows_disabled_at", s.workflows_disabled_at, in_run,
           "the operators disable the region's workflows (record: T0 + 4.6 h; 0s: never)");
    l->get("restored_at", s.restored_at, in_run,
           "the state is back and every broken ELB of the region is reprogrammed from it "
           "(record: merged at T0 + 17.3 h; 0s: never)");
    l->finish();
  }
}

void read_evcache(ObjectReader& e, sim::evcache::EvcacheParams& ev) {
  e.get("replicated", ev.replicated,
        "a server group in every zone, every write to all (EVCache, model-facts §4.4); false: "
        "one group in zone a");
  e.get("servers_per_zone", ev.server.servers_per_zone, {.min = 1, .max = 1000},
        "memcached servers in each zone's group");
  e.get("memory_bytes", ev.server.memory_bytes, {.min = 1024},
        "item memory per server, bytes; LRU beyond it");
  e.get("keys", ev.client.keys, {.min = 1, .max = 10'000'000}, "size of the key space read");
  e.get("zipf_s", ev.client.zipf_s, {.min = 0, .max = 5},
        "Zipf exponent of key popularity (assumption)");
  e.get("ttl", ev.client.ttl, {.min = Duration::nanos(1)},
        "item time to live (model-facts §4.4: minutes to hours)");
  e.get("read_timeout", ev.client.read_timeout, {.min = Duration::nanos(1)},
        "how long a cache read waits for a server (assumption)");
  e.get("store_concurrency", ev.store.concurrency, {.min = 1, .max = 100000},
        "backing-store requests served at once (assumption)");
  e.get("store_timeout", ev.store.timeout, {.min = Duration::nanos(1)},
        "the client gives up on the backing store after this long (assumption)");
}

void read_chaos_monkey(ObjectReader& c, zu::StackParams& p) {
  auto& m = p.chaos_monkey;
  c.get("enabled", p.chaos_monkey_enabled, "whether Chaos Monkey runs");
  c.get("groups", m.groups, "node groups it terminates in: \"zuul\", \"tier/<name>\"");
  c.get("mean_workdays", m.mean_workdays, {.min = 1, .max = 1000},
        "mean work days between terminations per group (Chaos Monkey 2.x default: 2)");
  c.get("min_between", m.min_between, {.min = Duration::zero()},
        "minimum time between terminations per group (Chaos Monkey 2.x default: 1 day)");
  c.get("restart_after", m.restart_after, {.min = Duration::zero()},
        "the auto-scaling group replaces a terminated instance after this (assumption: 5 min)");
  c.get("utc_offset", m.hours.utc_offset, {.min = -Duration::hours(14), .max = Duration::hours(14)},
        "business hours' time zone, as an offset from UTC (\"-8h\" for Los Gatos in winter)");
  c.get("start_hour", m.hours.start_hour, {.min = 0, .max = 23},
        "business hours begin, local hour (Simian Army: business hours; default 9)");
  c.get("end_hour", m.hours.end_hour, {.min = 1, .max = 24},
        "business hours end, local hour (default 17)");
  c.get("weekdays_only", m.hours.weekdays_only,
        "business hours are on weekdays only (Chaos Monkey 2.x: a weekday cron)");
}

std::unique_ptr<ModelInstance> prepare_zuul(const ModelInput& in) {
  const Source& source = *in.source;
  zu::StackParams p;
  p.chaos_monkey.groups = {"zuul"};
  if (in.params != nullptr) {
    ObjectReader r(*in.params, "/model/params", source);
    if (auto o = r.object("zuul", "the Zuul tier: routing, throttling, shedding, retries")) {
      read_zuul(*o, p.zuul, source);
      o->finish();
    }
    if (const Json* tiers = r.array("tiers", "origins (the API) and microservices")) {
      for (std::size_t i = 0; i < tiers->size(); ++i) {
        ObjectReader t((*tiers)[i], child_pointer("/model/params/tiers", i), source);
        zu::TierParams tier;
        read_tier(t, tier, source);
        t.finish();
        p.tiers.push_back(tier);
      }
    }
    if (const Json* fams = r.array("families", "device families, each behind its own edge")) {
      for (std::size_t i = 0; i < fams->size(); ++i) {
        ObjectReader f((*fams)[i], child_pointer("/model/params/families", i), source);
        zu::FamilyParams fam;
        read_family(f, fam, in.duration);
        f.finish();
        p.families.push_back(fam);
      }
    }
    if (auto e = r.object("evcache", "the EVCache cluster the tiers read through (sim/evcache)")) {
      read_evcache(*e, p.evcache);
      e->finish();
    }
    if (auto m = r.object("multi_region", "several regions, each with the whole stack; DNS "
                                          "failover, Isthmus and Chaos Kong (model-facts §4.2)")) {
      read_multi_region(*m, p.multi_region, source, in.duration);
      m->finish();
    }
    if (auto e = r.object("elb", "each family's own ELB in every region, with its control "
                                 "plane (sim/elb's service; model-facts §4.1-§4.2)")) {
      read_elb(*e, p.elb, in.duration);
      e->finish();
    }
    if (auto c = r.object("chaos_monkey", "Chaos Monkey over node groups (model-facts §4.3)")) {
      read_chaos_monkey(*c, p);
      const auto groups = zu::EdgeStack::groups(p);
      for (const auto& g : p.chaos_monkey.groups) {
        if (std::find(groups.begin(), groups.end(), g) == groups.end()) {
          c->report(c->error("groups", fmt::format("\"{}\" is not a node group", g),
                             fmt::format("use one of: {}", fmt::join(groups, ", "))));
        }
      }
      c->finish();
    }
    r.finish();
  }
  bindings::validate_at(source, p);
  auto faults = bindings::parse_faults(in.faults, source, in.duration, zu::EdgeStack::groups(p));
  return std::make_unique<ZuulInstance>(std::move(p), std::move(faults));
}

}  // namespace

void register_zuul_model(ModelRegistry& registry) {
  registry.add({"zuul",
                "Netflix's edge: device families behind their own edge, a Zuul tier (Zuul 1 "
                "threads or Zuul 2 event loops) with dynamic routing, throttling, load shedding "
                "and retries, an API in front of microservices reading through EVCache, Chaos "
                "Monkey (sim/zuul)",
                {"faults"},
                prepare_zuul});
}

}  // namespace faultline::scenario
