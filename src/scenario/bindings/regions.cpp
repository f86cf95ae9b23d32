// Binding of the regions model (sim/regions): "model": {"name": "regions"}.
// JSON keys are the field names of faultline::sim::regions::RegionsParams, one to one:
//   {"regions": [{"name", "servers", "min_servers", "max_servers", "server_rate_per_s",
//                 "store_rate_per_s"}, ...],
//    "populations": [{"name", "home", "rate_per_s"}, ...],
//    "dns": {"ttl", "resolvers", "sticky_fraction", "sticky_extra"},
//    "autoscaling": {"enabled", "interval", "target_utilisation", "boot_time"},
//    "cache": {"keys", "zipf_s", "item_ttl", "warm_home"},
//    "failover": {"enabled", "mode", "check_interval", "error_threshold", "checks"},
//    "edge_faults": [{"region", "at", "duration", "broken_fraction"}, ...],
//    "evacuation": {"enabled", "region", "to", "start", "over", "steps"},
//    "client": {"timeout", "latency_base", "latency_mean", "cross_region_rtt", "store_latency"}}
// Times are from the start of the run.
//
// Measure scopes: "all", each population's name (its stream starts), each region's name (the
// requests its backend served). Probes: servers/<region>, booting/<region>,
// hit_rate/<region> and store_rate/<region> (over the last autoscaling interval),
// share/<population>/<region> (share of the population's resolvers answering that region),
// edge_healthy/<region>.
#include "world_faults.hpp"

#include "regions_readers.hpp"

#include <faultline/scenario/registry.hpp>
#include <faultline/sim/regions/multi_region.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace faultline::scenario {
namespace {

namespace rg = faultline::sim::regions;

class RegionsInstance : public ModelInstance {
public:
  explicit RegionsInstance(rg::RegionsParams params) : params_(std::move(params)) {}

  void start(Simulation& sim) override {
    world_ = std::make_unique<rg::MultiRegion>(sim, params_);
    world_->start();
  }

  std::optional<MeasureNames> measures(std::string_view of) const override {
    const std::string scope = of.empty() ? std::string("all") : std::string(of);
    const auto s = measure_scopes();
    if (std::find(s.begin(), s.end(), scope) == s.end()) {
      return std::nullopt;
    }
    auto n = rg::scope_metric_names(scope);
    return MeasureNames{n.requests, n.successes, n.failures, n.requests, n.latency};
  }
  std::vector<std::string> measure_scopes() const override {
    std::vector<std::string> s{"all"};
    for (const auto& p : params_.populations) {
      s.push_back(p.name);
    }
    for (const auto& r : params_.regions) {
      s.push_back(r.name);
    }
    return s;
  }

  std::vector<std::string> probes() const override {
    std::vector<std::string> p;
    for (const auto& r : params_.regions) {
      for (const char* k : {"servers/", "booting/", "hit_rate/", "store_rate/", "edge_healthy/"}) {
        p.push_back(k + r.name);
      }
      for (const auto& pop : params_.populations) {
        p.push_back("share/" + pop.name + "/" + r.name);
      }
    }
    std::sort(p.begin(), p.end());
    return p;
  }
  double probe(std::string_view name) const override {
    const auto slash = name.find('/');
    const auto kind = name.substr(0, slash);
    std::string_view rest = name.substr(slash + 1);
    int pop = -1;
    if (kind == "share") {
      const auto second = rest.find('/');
      for (std::size_t i = 0; i < params_.populations.size(); ++i) {
        if (params_.populations[i].name == rest.substr(0, second)) {
          pop = static_cast<int>(i);
        }
      }
      rest = rest.substr(second + 1);
    }
    const int r = params_.region_index(rest);
    if (r < 0) {
      return 0.0;
    }
    const auto& b = world_->backend(r);
    if (kind == "servers") {
      return b.servers();
    }
    if (kind == "booting") {
      return b.booting();
    }
    if (kind == "hit_rate") {
      return b.hit_rate();
    }
    if (kind == "store_rate") {
      return b.store_rate();
    }
    if (kind == "edge_healthy") {
      return world_->edge_healthy(r) ? 1.0 : 0.0;
    }
    return pop < 0 ? 0.0 : world_->resolver_share(pop, r);
  }

private:
  rg::RegionsParams params_;
  std::unique_ptr<rg::MultiRegion> world_;
};

void read_region(ObjectReader& o, rg::RegionParams& r) {
  o.require("name", "\"us-east-1\"", "region name, used as `of` and in probes");
  o.get("name", r.name, "region name, used as `of` and in probes");
  o.get("servers", r.servers, {.min = 1, .max = 100000},
        "servers up at the start (assumption: scaled down)");
  o.get("min_servers", r.min_servers, {.min = 1, .max = 100000},
        "the autoscaler's lower bound");
  o.get("max_servers", r.max_servers, {.min = 1, .max = 100000},
        "the autoscaler's upper bound");
  o.get("server_rate_per_s", r.server_rate_per_s, {.min = 1e-9, .max = 1e9},
        "requests per second one server handles; above the region's capacity requests are shed "
        "(assumption)");
  o.get("store_rate_per_s", r.store_rate_per_s, {.min = 1e-9, .max = 1e9},
        "reads per second the backing store answers; a cache miss above it fails (assumption)");
  o.finish();
}

void read_population(ObjectReader& o, rg::PopulationParams& p, const ModelInput& in) {
  o.require("name", "\"east-members\"", "population name, used as `of` and in probes");
  o.get("name", p.name, "population name, used as `of` and in probes");
  o.require("home", "\"us-east-1\"", "the region its DNS name answers at the start");
  o.get("home", p.home, "the region its DNS name answers at the start");
  o.get("rate_per_s", p.rate_per_s, {.min = 1e-9, .max = 100000},
        "Poisson requests (stream starts) per second (scaled down; assumption)");
  bindings::check_request_count(o, "rate_per_s", p.rate_per_s, in.duration);
  o.finish();
}

void read_params(ObjectReader& r, rg::RegionsParams& p, const ModelInput& in) {
  const DurationBounds run_time{.min = Duration::zero(), .max = in.duration};
  if (const Json* regions = r.array("regions", "the regions, each with an edge and a backend")) {
    p.regions.clear();
    for (std::size_t i = 0; i < regions->size(); ++i) {
      ObjectReader o((*regions)[i], child_pointer("/model/params/regions", i), *in.source);
      rg::RegionParams reg;
      read_region(o, reg);
      p.regions.push_back(std::move(reg));
    }
  }
  if (const Json* pops = r.array("populations",
                                 "member populations, each steered by its own DNS name")) {
    p.populations.clear();
    for (std::size_t i = 0; i < pops->size(); ++i) {
      ObjectReader o((*pops)[i], child_pointer("/model/params/populations", i), *in.source);
      rg::PopulationParams pop;
      read_population(o, pop, in);
      p.populations.push_back(std::move(pop));
    }
  }
  if (auto o = r.object("dns", "DNS steering: resolver caches that keep an answer for the TTL")) {
    bindings::read_dns(*o, p.dns);
    o->finish();
  }
  if (auto o = r.object("autoscaling", "target tracking on each region's arrival rate")) {
    auto& a = p.autoscaling;
    o->get("enabled", a.enabled, "scale each region's servers with its load");
    o->get("interval", a.interval, {.min = Duration::nanos(1)},
           "how often the scaler looks at the last interval's arrival rate");
    o->get("target_utilisation", a.target_utilisation, {.min = 1e-9, .max = 1},
           "utilisation the scaler aims at (assumption: 0.6)");
    o->get("boot_time", a.boot_time, {.min = Duration::zero()},
           "time for a new server to boot and join (assumption: 5 min)");
    o->finish();
  }
  if (auto o = r.object("cache", "each region's cache per population (EVCache, simplified)")) {
    auto& c = p.cache;
    o->get("keys", c.keys, {.min = 1, .max = 10000000},
           "keys in each population's working set (assumption)");
    o->get("zipf_s", c.zipf_s, {.min = 0, .max = 5},
           "Zipf exponent of key popularity (assumption)");
    o->get("item_ttl", c.item_ttl, {.min = Duration::nanos(1)},
           "an item expires this long after it was filled (EVCache: minutes to hours, "
           "model-facts §4.4)");
    o->get("warm_home", c.warm_home,
           "each region starts warm for the populations it is home to");
    o->finish();
  }
  if (auto o = r.object("failover", "health-based DNS failover on each region's edge "
                                    "(model-facts §4.2: Isthmus, Active-Active)")) {
    auto& f = p.failover;
    o->get("enabled", f.enabled,
           "health-check each region's edge and switch DNS off a failing one");
    std::string mode = std::string(rg::to_string(f.mode));
    o->get_choice("mode", mode, {"active-active", "isthmus"},
                  "active-active: the other region serves; isthmus: the other region's edge "
                  "tunnels to the home region's backend, the broken ELB bypassed");
    f.mode = mode == "isthmus" ? rg::FailoverParams::Mode::kIsthmus
                               : rg::FailoverParams::Mode::kActiveActive;
    o->get("check_interval", f.check_interval, {.min = Duration::nanos(1)},
           "interval of the health checks; each looks at the interval's error rate");
    o->get("error_threshold", f.error_threshold, {.min = 0, .max = 1},
           "error rate (fraction) above which a check fails");
    o->get("checks", f.checks, {.min = 1, .max = 1000},
           "consecutive failing checks before the records are switched (assumption)");
    o->finish();
  }
  if (const Json* faults = r.array("edge_faults", "a region's ELB black-holing requests")) {
    for (std::size_t i = 0; i < faults->size(); ++i) {
      ObjectReader o((*faults)[i], child_pointer("/model/params/edge_faults", i), *in.source);
      rg::EdgeFaultParams f;
      o.require("region", "\"us-east-1\"", "the region whose edge fails");
      o.get("region", f.region, "the region whose edge fails");
      o.get("at", f.at, run_time, "when it fails");
      o.get("duration", f.duration, {.min = Duration::nanos(1)}, "how long it stays failed");
      o.get("broken_fraction", f.broken_fraction, {.min = 0, .max = 1},
            "share of its ELB nodes that black-hole requests");
      o.finish();
      p.edge_faults.push_back(std::move(f));
    }
  }
  if (auto o = r.object("evacuation", "Chaos Kong: a region's DNS weight moved to another "
                                      "region (model-facts §4.2)")) {
    bindings::read_evacuation(*o, p.evacuation, in.duration);
    o->finish();
  }
  if (auto o = r.object("client", "the devices and the latency they see")) {
    auto& c = p.client;
    o->get("timeout", c.timeout, {.min = Duration::nanos(1)},
           "a black-holed request is given up after this");
    o->get("latency_base", c.latency_base, {.min = Duration::zero()},
           "fixed part of a served request's latency (assumption)");
    o->get("latency_mean", c.latency_mean, {.min = Duration::zero()},
           "mean of the exponential part (assumption)");
    o->get("cross_region_rtt", c.cross_region_rtt, {.min = Duration::zero()},
           "round trip between regions (world cross-region: 30 ms one way)");
    o->get("store_latency", c.store_latency, {.min = Duration::zero()},
           "added to a cache miss: the backing store's read (assumption)");
    o->finish();
  }
}

std::unique_ptr<ModelInstance> prepare_regions(const ModelInput& in) {
  const Source& source = *in.source;
  rg::RegionsParams p;
  if (in.params != nullptr) {
    ObjectReader r(*in.params, "/model/params", source);
    read_params(r, p, in);
    for (const auto& pop : p.populations) {
      for (const auto& reg : p.regions) {
        if (pop.name == reg.name || pop.name == "all") {
          r.report(r.error("populations",
                           fmt::format("population \"{}\" has a region's or \"all\"'s name",
                                       pop.name),
                           "give populations and regions distinct names"));
        }
      }
    }
    r.finish();
  }
  bindings::validate_at(source, p);
  return std::make_unique<RegionsInstance>(std::move(p));
}

}  // namespace

void register_regions_model(ModelRegistry& registry) {
  registry.add({"regions",
                "several regions, each with an edge, autoscaled servers, a cache and a store; "
                "member populations steered by DNS with a TTL; health-based failover in "
                "active-active or Isthmus mode; Chaos Kong region evacuation (sim/regions)",
                {},
                prepare_regions});
}

namespace bindings {

void read_dns(ObjectReader& o, sim::regions::DnsParams& dns) {
  o.get("ttl", dns.ttl, {.min = Duration::zero()}, "TTL of the steering records (assumption: 60 s)");
  o.get("resolvers", dns.resolvers, {.min = 1, .max = 100000},
        "resolver caches per population; the clients behind one share its answer");
  o.get("sticky_fraction", dns.sticky_fraction, {.min = 0, .max = 1},
        "share of resolvers or devices keeping an answer beyond its TTL (assumption)");
  o.get("sticky_extra", dns.sticky_extra, {.min = Duration::zero()},
        "how much longer a sticky resolver keeps an answer");
}

void read_evacuation(ObjectReader& o, sim::regions::EvacuationParams& e, Duration run) {
  const DurationBounds run_time{.min = Duration::zero(), .max = run};
  o.get("enabled", e.enabled, "run the drill");
  o.get("region", e.region, "the region evacuated");
  o.get("to", e.to, "the region that takes its traffic");
  o.get("start", e.start, run_time, "when the first step is taken");
  o.get("over", e.over, {.min = Duration::zero()}, "the drill's length; 0s: a sudden cut in one step");
  o.get("steps", e.steps, {.min = 1, .max = 10000}, "equal weight steps over `over`");
}

}  // namespace bindings

}  // namespace faultline::scenario
