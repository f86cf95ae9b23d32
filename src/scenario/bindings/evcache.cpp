// Binding of the EVCache model (sim/evcache): "model": {"name": "evcache"}.
// JSON keys are the field names of faultline::sim::evcache::EvcacheParams, one to one:
//   {"zones", "replicated", "server": {...}, "client": {...},
//    "store": {"concurrency", "queue_limit", "latency_base", "latency_mean", "latency_sigma",
//              "timeout"},
//    "warmup": {"write_only", "duration", "until_fill"},
//    "discovery": {"enabled", "renew_every", "lease", "expiry", "evict_every", "fetch_every"}}
// The store's service time is latency_base + lognormal(mean latency_mean, sigma latency_sigma).
// Outages are world faults ("faults"): the servers are world nodes on their own hosts (groups
// "evcache/<zone>", zones "us-east-1a"..) beside one client node per zone ("client/<zone>"), so
// {"kind": "crash", "target": "zone:us-east-1a", "at": "60s", "for": "30s"} loses a zone.
//
// Measure scopes (sim/evcache/cluster.hpp): "reads" (the default), "zone-a".. (per client zone,
// with its latency), "store" (throughput = backing-store load), and three ratio scopes whose
// availability is a rate: "cache" (hit rate), "local" (local-zone hit rate), "fallback" (the
// fraction of reads sent to another zone). Probes: store_queue, store_busy, items/<zone>.
#include "world_faults.hpp"

#include <faultline/scenario/registry.hpp>
#include <faultline/sim/evcache/cluster.hpp>

#include <stdexcept>

namespace faultline::scenario {
namespace {

namespace ev = faultline::sim::evcache;

class EvcacheInstance : public ModelInstance {
public:
  EvcacheInstance(ev::EvcacheParams params, bindings::FaultPlan faults)
      : params_(std::move(params)), faults_(std::move(faults)) {}

  void start(Simulation& sim) override {
    cluster_ = std::make_unique<ev::EvcacheCluster>(sim, params_);
    bindings::schedule_faults(cluster_->world().faults(), faults_);
    cluster_->start();
  }

  std::optional<MeasureNames> measures(std::string_view of) const override {
    const std::string scope = of.empty() ? std::string("reads") : std::string(of);
    const auto scopes = measure_scopes();
    if (std::find(scopes.begin(), scopes.end(), scope) == scopes.end()) {
      return std::nullopt;
    }
    auto n = ev::scope_names(scope);
    return MeasureNames{n.requests, n.successes, n.failures, ev::attempts_name(), n.latency};
  }
  std::vector<std::string> measure_scopes() const override {
    std::vector<std::string> s{"cache", "fallback", "local", "reads", "store"};
    for (int z = 0; z < params_.zones; ++z) {
      s.push_back("zone-" + ev::zone_name(z));
    }
    return s;
  }

  std::vector<std::string> probes() const override {
    std::vector<std::string> p;
    const int groups = params_.replicated ? params_.zones : 1;
    for (int g = 0; g < groups; ++g) {
      p.push_back("items/" + ev::zone_name(g));
    }
    p.push_back("store_busy");
    p.push_back("store_queue");
    return p;
  }
  double probe(std::string_view name) const override {
    if (name == "store_queue") {
      return static_cast<double>(cluster_->store_queue());
    }
    if (name == "store_busy") {
      return static_cast<double>(cluster_->store_busy());
    }
    const auto zone = ev::parse_zone(name.substr(6), params_.zones);
    return static_cast<double>(cluster_->items(zone.value_or(0)));
  }

private:
  ev::EvcacheParams params_;
  bindings::FaultPlan faults_;
  std::unique_ptr<ev::EvcacheCluster> cluster_;
};

std::unique_ptr<ModelInstance> prepare_evcache(const ModelInput& in) {
  const Source& source = *in.source;
  ev::EvcacheParams p;
  if (in.params != nullptr) {
    ObjectReader r(*in.params, "/model/params", source);
    r.get("zones", p.zones, {.min = 1, .max = 26},
          "zones with clients, named a, b, c, ... (model-facts §4.2: Netflix ran three)");
    r.get("replicated", p.replicated,
          "true: a server group in every zone, every write set in all (EVCache, model-facts "
          "§4.4); false: one group in zone a read by every zone");
    if (auto o = r.object("server", "memcached-like servers of each zone's server group")) {
      auto& s = p.server;
      o->get("servers_per_zone", s.servers_per_zone, {.min = 1, .max = 1000},
             "servers in each zone's group; keys are sharded over them by a Ketama ring");
      o->get("memory_bytes", s.memory_bytes, {.min = 1024},
             "item memory per server, bytes; LRU eviction beyond it (small by default so a run "
             "is fast; model-facts §4.4: ~12 GB instances, memcached uses 90 % of RAM)");
      o->get("item_overhead_bytes", s.item_overhead_bytes, {.min = 0},
             "bytes an item costs beyond its value (assumption: memcached's header, key, CAS)");
      o->get("ring_points", s.ring_points, {.min = 1, .max = 1000},
             "Ketama ring points per server (Ketama and spymemcached use 160)");
      o->get("service_time", s.service_time, {.min = Duration::zero()},
             "time a server spends on one get or set (assumption: tens of µs for memcached)");
      o->finish();
    }
    if (auto o = r.object("client", "the application reading and writing through the client")) {
      auto& c = p.client;
      o->get("ops_per_s", c.ops_per_s, {.min = 1e-9, .max = 1e6},
             "cache operations per second over all clients (Poisson), spread evenly over zones");
      o->get("write_ratio", c.write_ratio, {.min = 0, .max = 1},
             "fraction of operations that are writes, set in every zone (model-facts §4.4: "
             "read-heavy)");
      o->get("keys", c.keys, {.min = 1, .max = 10'000'000},
             "size of the key space (assumption, scaled with memory_bytes)");
      o->get("zipf_s", c.zipf_s, {.min = 0, .max = 5},
             "Zipf exponent of key popularity (assumption: 1 gives the ~90 % hit rate of "
             "model-facts §4.4 with the defaults)");
      o->get("value_bytes", c.value_bytes, {.min = 1},
             "size of every value, bytes (model-facts §4.4 quotes latencies for 1 KB)");
      o->get("ttl", c.ttl, {.min = Duration::nanos(1)},
             "item time to live (model-facts §4.4: a few minutes to a few hours)");
      o->get("read_timeout", c.read_timeout, {.min = Duration::nanos(1)},
             "how long a read waits for a cache server before it is an error (assumption)");
      o->get("fallback_on_miss", c.fallback_on_miss,
             "zone fallback after a local miss: read another zone (model-facts §4.4)");
      o->get("fallback_on_error", c.fallback_on_error,
             "zone fallback after a local error or timeout: read another zone (model-facts §4.4)");
      o->get("fill_on_miss", c.fill_on_miss,
             "after a read misses in every zone, read the store and set the value in every zone");
      bindings::check_request_count(*o, "ops_per_s", c.ops_per_s, in.duration);
      o->finish();
    }
    if (auto o = r.object("store", "the backing store (source of truth) behind the cache")) {
      auto& s = p.store;
      o->get("concurrency", s.concurrency, {.min = 1, .max = 100000},
             "store requests served at once; more wait in the queue (assumption)");
      o->get("queue_limit", s.queue_limit, {.min = 0, .max = 10'000'000},
             "store requests that may wait; beyond it they are rejected at once (assumption)");
      o->get("latency_base", s.latency.base, {.min = Duration::zero()},
             "fixed part of the store's service time (assumption: 1 ms)");
      o->get("latency_mean", s.latency.jitter_mean, {.min = Duration::zero()},
             "mean of the lognormal part of the store's service time (default 24 ms: p99 ~340 "
             "ms, model-facts §4.4: several hundred ms at the 99th percentile)");
      o->get("latency_sigma", s.latency.jitter_shape, {.min = 0, .max = 5},
             "sigma (shape) of the lognormal part of the store's service time, unitless");
      o->get("timeout", s.timeout, {.min = Duration::nanos(1)},
             "the client gives up on the store after this long; the store still serves it "
             "(assumption)");
      o->finish();
    }
    if (auto o = r.object("warmup",
                          "write-only mode of a zone back from an outage (model-facts §4.4)")) {
      o->get("write_only", p.warmup.write_only,
             "a zone back from an outage (empty) takes writes while its reads go to other zones");
      o->get("duration", p.warmup.duration, {.min = Duration::zero()},
             "how long a returning zone stays write-only (an operator's switch; assumption); "
             "with until_fill, the longest it may stay write-only");
      o->get("until_fill", p.warmup.until_fill, {.min = 0, .max = 1},
             "0: the window lasts its duration; above 0: it ends once the zone holds this "
             "fraction of the items its warm peers hold on average, checked every second "
             "(model-facts §4.4: write only \"until its cache fills\")");
      o->finish();
    }
    if (auto o = r.object("discovery",
                          "how clients learn which servers are alive: Eureka's registry (EVCache "
                          "README; Eureka wiki) or, disabled, only their own timeouts")) {
      auto& d = p.discovery;
      o->get("enabled", d.enabled,
             "servers heartbeat to a registry, which drops a silent one after its lease; "
             "clients build their rings from the registry they fetch");
      o->get("renew_every", d.renew_every, {.min = Duration::nanos(1)},
             "a server's heartbeat interval; a restarted server registers with its first "
             "(Eureka: 30 s)");
      o->get("lease", d.lease, {.min = Duration::nanos(1)},
             "a server's lease (Eureka: 90 s); see expiry for when a silent one is dropped");
      std::string expiry =
          d.expiry == ev::DiscoveryParams::Expiry::kOneLease ? "one-lease" : "two-leases";
      o->get_choice("expiry", expiry, {"two-leases", "one-lease"},
                    "two-leases: a silent server is dropped two leases after its last heartbeat, "
                    "as Eureka's code does (Lease.isExpired's comment; Netflix/eureka#531); "
                    "one-lease: after one, as its wiki states the contract");
      d.expiry = expiry == "one-lease" ? ev::DiscoveryParams::Expiry::kOneLease
                                       : ev::DiscoveryParams::Expiry::kTwoLeases;
      o->get("evict_every", d.evict_every, {.min = Duration::nanos(1)},
             "how often the registry looks for expired leases (Eureka server: 60 s)");
      o->get("fetch_every", d.fetch_every, {.min = Duration::nanos(1)},
             "how often clients fetch the registry and rebuild their rings (Eureka: 30 s)");
      o->finish();
    }
    r.finish();
  }
  bindings::validate_at(source, p);
  auto faults = bindings::parse_faults(in.faults, source, in.duration, ev::EvcacheCluster::groups(p));
  return std::make_unique<EvcacheInstance>(std::move(p), std::move(faults));
}

}  // namespace

void register_evcache_model(ModelRegistry& registry) {
  registry.add({"evcache",
                "Netflix EVCache: memcached-like servers (memory budget, LRU, TTL) in one "
                "server group per zone sharded by a Ketama ring, a client that writes every "
                "zone and reads the local one with zone fallback, write-only warm-up, a "
                "heavy-tailed backing store; servers on world hosts (sim/evcache)",
                {"faults"},
                prepare_evcache});
}

}  // namespace faultline::scenario
