// EdgeStack: builds the world (one region in three zones, plus the devices' internet), the
// EVCache cluster, the tiers (an embedded service graph), Zuul and the devices, the routing
// table and its scheduled changes, and Chaos Monkey.
#include "internal.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace faultline::sim::zuul {

ScopeNames scope_names(std::string_view scope) {
  if (scope.starts_with("tier/")) {  // the tiers are the service graph's: its measures
    const auto n = services::tier_metric_names(scope.substr(5));
    return {n.arrivals, n.successes, n.failures, n.arrivals, n.latency};
  }
  const std::string p = fmt::format("zuul/{}/", scope);
  return {p + "requests", p + "successes", p + "failures", p + "attempts", p + "latency"};
}

const EdgeCounterNames& edge_counter_names() {
  static const EdgeCounterNames names{"zuul/edge/shed",           "zuul/edge/throttled",
                                      "zuul/edge/retries",        "zuul/edge/retries_denied",
                                      "zuul/edge/failovers",      "zuul/edge/origin_errors"};
  return names;
}

Scope make_scope(Metrics& m, std::string_view scope) {
  const auto n = scope_names(scope);
  return Scope{&m.counter(n.requests), &m.counter(n.successes), &m.counter(n.failures),
               &m.counter(n.attempts), &m.histogram(n.latency)};
}

int EdgeStack::State::tier_index(std::string_view name) const {
  for (std::size_t i = 0; i < p.tiers.size(); ++i) {
    if (p.tiers[i].name == name) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

int EdgeStack::State::family_index(std::string_view name) const {
  for (std::size_t i = 0; i < p.families.size(); ++i) {
    if (p.families[i].name == name) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

void EdgeStack::State::set_zuul_load(int i, int open_requests, int threads) {
  const auto k = static_cast<std::size_t>(i);
  auto bytes = [&](int o, int t) {
    return static_cast<std::int64_t>(o) * p.zuul.connection_memory_bytes +
           static_cast<std::int64_t>(t) * p.zuul.thread_memory_bytes;
  };
  memory_now += bytes(open_requests, threads) - bytes(open[k], busy_threads[k]);
  open[k] = open_requests;
  busy_threads[k] = threads;
  memory_peak = std::max(memory_peak, memory_now);
}

std::string region_stem(std::string_view stem, const RegionParams& region, int index) {
  return index == 0 ? std::string(stem) : fmt::format("{}@{}", stem, region.name);
}

std::vector<std::string> EdgeStack::groups(const StackParams& params) {
  std::vector<std::string> g;
  const auto regions = params.region_list();
  for (std::size_t r = 0; r < regions.size(); ++r) {
    auto in = [&](std::string_view stem) {
      return region_stem(stem, regions[r], static_cast<int>(r));
    };
    g.push_back(in("zuul"));
    if (params.elb.enabled) {
      g.push_back(in("elb/control-plane"));
      g.push_back(in("elb/state-store"));
      for (const auto& f : params.families) {
        g.push_back("elb/" + in("api-" + f.name));
      }
    }
    if (params.multi_region.cache_replication.enabled) {
      g.push_back(relay_stem(regions[r], static_cast<int>(r)));
    }
    for (const auto& t : params.tiers) {
      g.push_back("tier/" + in(t.name));
    }
    for (int z = 0; z < params.evcache.zones; ++z) {
      if (params.evcache.replicated || z == 0) {
        g.push_back(in("evcache") + "/" + evcache::zone_name(z));
      }
    }
  }
  for (const auto& f : params.families) {
    g.push_back("device/" + f.name);
  }
  if (params.multi_region.failback) {  // validate() asks for two regions or more
    g.push_back("health-checker");
  }
  std::sort(g.begin(), g.end());
  return g;
}

EdgeStack::EdgeStack(Simulation& sim, StackParams params) : s_(std::make_unique<State>()) {
  params.validate();
  State& s = *s_;
  s.sim = &sim;
  s.p = std::move(params);
  // A week-long run must not pay for per-second CPU samples or NTP polls on every host: the
  // model reads no clock and the scenario observes its own series. (The defaults, so that the
  // service graph's hosts get them too.)
  world::WorldParams wp;
  wp.host_defaults.cpu.sample_interval = Duration::zero();
  wp.host_defaults.clock.ntp_enabled = false;
  s.world = std::make_unique<world::World>(sim, wp);
  world::World& w = *s.world;
  const auto region_list = s.p.region_list();
  for (const auto& rp : region_list) {
    RegionStack rs;
    rs.params = rp;
    const auto region = w.add_region(rp.name);
    for (const auto& z : rp.zones) {
      rs.zones.push_back(w.add_zone(region, z));
    }
    s.regions.push_back(std::move(rs));
  }
  // Devices reach the edge over the internet: another region.
  const auto internet = w.add_zone(w.add_region("internet"), "internet-1");

  auto host_params = [&w](int cores) {
    world::HostParams h = w.params().host_defaults;
    h.cpu.cores = static_cast<std::uint32_t>(cores);
    return h;
  };
  const AddNode add = [&](world::ZoneId z, int zone_index, int cores, const std::string& name,
                         const std::string& group, world::ProgramFactory f) {
    const auto id = w.add_node(w.add_host(z, name, host_params(cores)), name, group, std::move(f));
    if (s.instance_zone.size() <= id.value()) {
      s.instance_zone.resize(id.value() + 1, 0);
    }
    s.instance_zone[id.value()] = zone_index;
    return id;
  };

  // Each region's cache servers are world nodes in its zones; its tiers read through them.
  for (std::size_t r = 0; r < s.regions.size(); ++r) {
    auto& rs = s.regions[r];
    rs.cache = std::make_unique<evcache::EvcacheCluster>(
        w, rs.zones, s.p.evcache, region_stem("evcache", rs.params, static_cast<int>(r)));
  }

  auto& m = sim.metrics();
  s.devices = make_scope(m, "devices");
  for (const auto& f : s.p.families) {
    s.families.push_back(make_scope(m, "family/" + f.name));
    s.home.push_back(s.p.home_of(f));
  }
  const auto& c = edge_counter_names();
  s.shed = &m.counter(c.shed);
  s.throttled = &m.counter(c.throttled);
  s.retries = &m.counter(c.retries);
  s.retries_denied = &m.counter(c.retries_denied);
  s.failovers = &m.counter(c.failovers);
  s.origin_errors = &m.counter(c.origin_errors);

  for (std::size_t f = 0; f < s.p.families.size(); ++f) {
    Route r;
    for (const auto& rp : s.p.zuul.routes) {
      if (rp.family == s.p.families[f].name) {
        r.origin = s.tier_index(rp.origin);
        r.failover = rp.failover_origin.empty() ? -1 : s.tier_index(rp.failover_origin);
      }
    }
    s.routes.push_back(r);
  }

  // Tiers first, so Zuul and the callers can name their instances at boot: per region a
  // service graph in the region's zones (instance i in zone i % 3), whose tiers read through
  // the region's EVCache.
  for (std::size_t r = 0; r < s.regions.size(); ++r) {
    auto& rs = s.regions[r];
    const int ri = static_cast<int>(r);
    rs.graph = std::make_unique<services::ServiceGraph>(graph_params(s.p, ri));
    for (const auto& tp : s.p.tiers) {
      if (tp.cache_reads > 0) {
        rs.graph->set_tier_hook(region_stem(tp.name, rs.params, ri),
                                cache_read_hook(s, ri, tp.cache_reads));
      }
    }
    rs.graph->build(w);
    rs.tier_ids.resize(s.p.tiers.size());
    for (std::size_t t = 0; t < s.p.tiers.size(); ++t) {
      const std::string tier = region_stem(s.p.tiers[t].name, rs.params, ri);
      rs.tier_ids[t] = rs.graph->instances(tier);
      for (std::size_t i = 0; i < rs.tier_ids[t].size(); ++i) {
        const auto id = rs.tier_ids[t][i].value();
        if (s.instance_zone.size() <= id) {
          s.instance_zone.resize(id + 1, 0);
        }
        s.instance_zone[id] = static_cast<int>(i % 3);
      }
      // Zuul calls an origin as a caller from outside the graph: one attempt to the instance
      // it picked (its own balancing, ejection, failover and retries decide the rest).
      services::CallPolicy call;
      call.timeout.timeout = s.p.zuul.origin_timeout;
      call.retry = {.max_attempts = 1};
      rs.origin_callers.push_back(rs.graph->add_external_caller("zuul->" + tier, tier, call));
    }
  }
  const auto zuuls = static_cast<std::size_t>(s.p.zuul.instances) * s.regions.size();
  s.open.assign(zuuls, 0);
  s.busy_threads.assign(zuuls, 0);
  for (std::size_t r = 0; r < s.regions.size(); ++r) {
    auto& rs = s.regions[r];
    const std::string stem = region_stem("zuul", rs.params, static_cast<int>(r));
    for (int i = 0; i < s.p.zuul.instances; ++i) {
      rs.zuul_ids.push_back(add(rs.zones[static_cast<std::size_t>(i % 3)], i % 3, s.p.zuul.cores,
                                fmt::format("{}-{}", stem, i), stem,
                                zuul_factory(s, static_cast<int>(r), i)));
    }
  }
  if (s.p.elb.enabled) {
    start_elbs(s);  // before the devices, which send to the LB nodes
  }
  for (std::size_t f = 0; f < s.p.families.size(); ++f) {
    const auto& name = s.p.families[f].name;
    add(internet, 0, 4, "device-" + name, "device/" + name,
        device_factory(s, static_cast<int>(f)));
  }
  if (s.regions.size() > 1) {
    start_steering(s, add, internet);
  }
  if (s.p.multi_region.cache_replication.enabled) {
    start_cache_replication(s, add);
  }

  for (const auto& change : s.p.zuul.route_changes) {
    State* sp = &s;
    RouteChange rc = change;
    sim.schedule_at(Time::zero() + rc.at, [sp, rc] {
      const int f = sp->family_index(rc.route.family);
      Route& r = sp->routes[static_cast<std::size_t>(f)];
      r.origin = sp->tier_index(rc.route.origin);
      r.failover = rc.route.failover_origin.empty() ? -1 : sp->tier_index(rc.route.failover_origin);
      sp->sim->record("zuul", "route",
                      {{"family", rc.route.family}, {"origin", rc.route.origin}});
    });
  }
  if (s.p.chaos_monkey_enabled) {
    w.faults().chaos_monkey(s.p.chaos_monkey);
  }
}

EdgeStack::~EdgeStack() {
  for (auto& r : s_->regions) {
    r.graph.reset();  // before the World, as the graph asks
  }
  s_->world.reset();  // the programs go first: their destructors touch the shared state (and
                      // the LB nodes' programs point at the ELB services)
}

std::uint64_t EdgeStack::degraded() const {
  std::uint64_t n = 0;
  for (std::size_t r = 0; r < s_->regions.size(); ++r) {
    for (const auto& t : s_->p.tiers) {
      const auto tier = region_stem(t.name, s_->regions[r].params, static_cast<int>(r));
      if (const Counter* c = s_->sim->metrics().find_counter(
              fmt::format("services/tier/{}/degraded", tier))) {
        n += c->value();
      }
    }
  }
  return n;
}

world::World& EdgeStack::world() { return *s_->world; }
evcache::EvcacheCluster& EdgeStack::cache(int region) {
  return *s_->regions.at(static_cast<std::size_t>(region)).cache;
}
int EdgeStack::region_count() const { return static_cast<int>(s_->regions.size()); }

double EdgeStack::dns_share(std::string_view family, std::string_view region) const {
  const int f = s_->family_index(family);
  const int r = s_->p.region_index(region);
  if (f < 0 || r < 0) {
    return 0.0;
  }
  if (!s_->steering) {
    return 1.0;  // one region: every answer is it
  }
  return s_->steering->resolvers[static_cast<std::size_t>(f)].share(r);
}

bool EdgeStack::edge_healthy(std::string_view region) const {
  const int r = s_->p.region_index(region);
  if (r < 0 || !s_->steering) {
    return r >= 0;
  }
  for (const auto& domain : s_->steering->health) {
    if (!domain[static_cast<std::size_t>(r)].healthy()) {
      return false;
    }
  }
  return true;
}

elb::ElbService* EdgeStack::elb(int region) {
  return s_->elb ? s_->elb->services.at(static_cast<std::size_t>(region)).get() : nullptr;
}

int EdgeStack::elb_broken_nodes(std::string_view family, std::string_view region) const {
  const int f = s_->family_index(family);
  const int r = s_->p.region_index(region);
  if (f < 0 || r < 0 || !s_->elb) {
    return 0;
  }
  return s_->elb->services[static_cast<std::size_t>(r)]->broken_nodes(f);
}
std::uint64_t EdgeStack::replicated_sets(std::string_view region) const {
  const int r = s_->p.region_index(region);
  if (r < 0 || !s_->replication) {
    return 0;
  }
  return s_->replication->applied[static_cast<std::size_t>(r)]->value();
}

const StackParams& EdgeStack::params() const { return s_->p; }
std::int64_t EdgeStack::zuul_memory_bytes() const { return s_->memory_now; }
std::int64_t EdgeStack::zuul_memory_peak_bytes() const { return s_->memory_peak; }

int EdgeStack::zuul_open_requests() const {
  int n = 0;
  for (int o : s_->open) {
    n += o;
  }
  return n;
}

int EdgeStack::zuul_busy_threads() const {
  int n = 0;
  for (int t : s_->busy_threads) {
    n += t;
  }
  return n;
}

}  // namespace faultline::sim::zuul
