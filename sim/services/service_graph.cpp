// ServiceGraph: metric names, building the tiers' and clients' hosts and nodes, the
// per-interval series, and the queries over a running graph. The programs live in instance.cpp
// and client.cpp, the caller's policies in caller.hpp.
#include <faultline/sim/services/service_graph.hpp>

#include "caller.hpp"

#include <faultline/world/world.hpp>

#include <fmt/format.h>

#include <optional>
#include <stdexcept>
#include <utility>

namespace faultline::sim::services {

ClientMetricNames client_metric_names(std::string_view client) {
  const std::string p = fmt::format("services/client/{}/", client);
  return {p + "requests",       p + "successes",     p + "failures",
          p + "attempts",       p + "retries",       p + "rejected_local",
          p + "timeouts",       p + "hedges_sent",   p + "hedges_won",
          p + "hedges_cancelled", p + "latency",     p + "offered_rate",
          p + "goodput",        p + "error_ratio",   p + "attempts_per_request",
          p + "attempt_rate",   p + "breaker_open"};
}

TierMetricNames tier_metric_names(std::string_view tier) {
  const std::string p = fmt::format("services/tier/{}/", tier);
  return {p + "arrivals",     p + "served",       p + "shed",      p + "cancelled",
          p + "queue_wait",   p + "successes",    p + "failures",  p + "latency",
          p + "arrival_rate", p + "goodput",      p + "shed_rate", p + "queue_length",
          p + "cpu_util"};
}

std::string ServiceGraph::tier_group(std::string_view tier) { return fmt::format("tier/{}", tier); }
std::string ServiceGraph::client_group(std::string_view client) {
  return fmt::format("client/{}", client);
}

// --- building --------------------------------------------------------------------------------

ServiceGraph::ServiceGraph(ServiceGraphParams params) : params_(std::move(params)) {
  params_.validate();
  hooks_.resize(params_.tiers.size());
}

void ServiceGraph::set_tier_hook(std::string_view tier, TierHook hook) {
  FAULTLINE_ASSERT(!impl_, "ServiceGraph::set_tier_hook must be called before build()");
  for (std::size_t i = 0; i < params_.tiers.size(); ++i) {
    if (params_.tiers[i].name == tier) {
      hooks_[i] = std::move(hook);
      return;
    }
  }
  throw std::invalid_argument(fmt::format("services: no tier named \"{}\"", tier));
}

ServiceGraph::~ServiceGraph() = default;

namespace {
/// Per-interval rate of a counter: the increase since the previous sample, per second.
struct RateProbe {
  const Counter* counter;
  Duration interval;
  std::uint64_t last = 0;
  double operator()() {
    const std::uint64_t v = counter->value();
    const double r = static_cast<double>(v - last) / interval.to_seconds();
    last = v;
    return r;
  }
};
/// Per-interval ratio of two counters' increases (0 when the denominator did not move).
struct RatioProbe {
  const Counter* num;
  const Counter* den;
  std::uint64_t last_num = 0;
  std::uint64_t last_den = 0;
  double operator()() {
    const std::uint64_t n = num->value() - last_num;
    const std::uint64_t d = den->value() - last_den;
    last_num = num->value();
    last_den = den->value();
    return d ? static_cast<double>(n) / static_cast<double>(d) : 0.0;
  }
};
}  // namespace

void ServiceGraph::build(world::World& w) {
  FAULTLINE_ASSERT(!impl_, "ServiceGraph::build may be called once");
  impl_ = std::make_unique<Impl>();
  Impl& g = *impl_;
  g.world = &w;
  g.sim = &w.sim();
  Simulation& sim = w.sim();
  Metrics& metrics = sim.metrics();

  // Zones of the world that already exist by name (another model's, in the same World) are
  // shared, so the graph's hosts sit beside that model's; the rest go in region "services".
  std::optional<world::RegionId> region;
  std::vector<world::ZoneId> zones;
  for (const auto& z : params_.zones) {
    if (const auto existing = w.topology().find_zone(z)) {
      zones.push_back(*existing);
      continue;
    }
    if (!region) {
      region = w.add_region("services");
    }
    zones.push_back(w.add_zone(*region, z));
  }

  g.tiers.resize(params_.tiers.size());
  for (std::size_t i = 0; i < params_.tiers.size(); ++i) {
    g.tiers[i].params = &params_.tiers[i];
    g.tiers[i].index = i;
    if (hooks_[i]) {
      g.tiers[i].hook = &hooks_[i];
    }
    if (params_.tiers[i].service_time.kind == ServiceTime::Kind::tail_at_scale) {
      g.tiers[i].profile.emplace(params_.tiers[i].service_time.table1_leaves);
    }
    g.tiers[i].metrics =
        std::make_unique<TierMetrics>(metrics, tier_metric_names(params_.tiers[i].name));
    for (const auto& d : params_.tiers[i].dependencies) {
      const std::string edge = fmt::format("{}->{}", params_.tiers[i].name, d.tier);
      if (!g.edges.count(edge)) {
        g.edges.emplace(edge, std::make_unique<CallerMetrics>(metrics, client_metric_names(edge)));
      }
    }
  }
  for (const auto& c : params_.clients) {
    if (c.policy.hedge.enabled) {
      g.tier(c.target).receives_cancels = true;
    }
  }
  for (const auto& t : params_.tiers) {
    for (const auto& d : t.dependencies) {
      if (d.policy.hedge.enabled) {
        g.tier(d.tier).receives_cancels = true;
      }
    }
  }
  // Hosts first (every tier's node ids must exist before any caller is built), then nodes.
  for (auto& t : g.tiers) {
    for (int i = 0; i < t.params->instances; ++i) {
      world::HostParams hp = w.params().host_defaults;
      hp.cpu.cores = static_cast<std::uint32_t>(t.params->cores);
      if (t.params->clock) {
        hp.clock = *t.params->clock;
      }
      const auto zone = zones[static_cast<std::size_t>(i) % zones.size()];
      t.hosts.push_back(w.add_host(zone, fmt::format("{}-{}", t.params->name, i), hp));
    }
  }
  for (auto& t : g.tiers) {
    for (int i = 0; i < t.params->instances; ++i) {
      TierInfo* tp = &t;
      t.nodes.push_back(w.add_node(t.hosts[static_cast<std::size_t>(i)],
                                   fmt::format("{}-{}", t.params->name, i),
                                   tier_group(t.params->name), [&g, tp](Node& n) {
                                     return make_instance_program(g, *tp, n);
                                   }));
    }
  }
  g.clients.resize(params_.clients.size());
  for (std::size_t c = 0; c < params_.clients.size(); ++c) {
    ClientInfo& ci = g.clients[c];
    ci.params = &params_.clients[c];
    ci.metrics = std::make_unique<CallerMetrics>(metrics, client_metric_names(ci.params->name));
    for (int i = 0; i < ci.params->processes; ++i) {
      world::HostParams hp = w.params().host_defaults;
      hp.cpu.cores = 64;  // clients only wait; their CPU is not what this model studies
      const auto zone = zones[static_cast<std::size_t>(i) % zones.size()];
      const auto host = w.add_host(zone, fmt::format("{}-{}", ci.params->name, i), hp);
      ClientInfo* cp = &ci;
      ci.nodes.push_back(w.add_node(host, fmt::format("{}-{}", ci.params->name, i),
                                    client_group(ci.params->name), [&g, cp](Node& n) {
                                      return make_client_program(g, *cp, n);
                                    }));
    }
  }

  // Per-interval series.
  const Duration every = params_.sample_interval;
  if (every == Duration::zero()) {
    return;
  }
  for (auto& ci : g.clients) {
    const auto n = client_metric_names(ci.params->name);
    const CallerMetrics& m = *ci.metrics;
    sim.sample_every(n.offered_rate, every, RateProbe{m.requests, every});
    sim.sample_every(n.goodput, every, RateProbe{m.successes, every});
    sim.sample_every(n.attempt_rate, every, RateProbe{m.attempts, every});
    sim.sample_every(n.error_ratio, every, RatioProbe{m.failures, m.requests});
    sim.sample_every(n.attempts_per_request, every, RatioProbe{m.attempts, m.requests});
    sim.sample_every(n.breaker_open, every,
                     [this, name = ci.params->name] { return breaker_open_fraction(name); });
  }
  for (auto& t : g.tiers) {
    const auto n = tier_metric_names(t.params->name);
    sim.sample_every(n.arrival_rate, every, RateProbe{t.metrics->arrivals, every});
    sim.sample_every(n.goodput, every, RateProbe{t.metrics->served, every});
    sim.sample_every(n.shed_rate, every, RateProbe{t.metrics->shed, every});
    sim.sample_every(n.queue_length, every,
                     [this, name = t.params->name] { return queue_length(name); });
    struct Util {
      world::World* w;
      std::vector<world::HostId> hosts;
      std::vector<Duration> last;
      Duration interval;
      double operator()() {
        double sum = 0.0;
        for (std::size_t i = 0; i < hosts.size(); ++i) {
          world::Cpu& cpu = w->host(hosts[i]).cpu();
          const Duration busy = cpu.busy_time();
          sum += world::Cpu::utilisation(last[i], busy, interval, cpu.cores());
          last[i] = busy;
        }
        return hosts.empty() ? 0.0 : sum / static_cast<double>(hosts.size());
      }
    };
    sim.sample_every(n.cpu_util, every,
                     Util{&w, t.hosts, std::vector<Duration>(t.hosts.size()), every});
  }
}

std::vector<NodeId> ServiceGraph::instances(std::string_view tier) const {
  return impl_ ? impl_->tier(tier).nodes : std::vector<NodeId>{};
}

std::vector<NodeId> ServiceGraph::client_processes(std::string_view client) const {
  if (impl_) {
    for (const auto& c : impl_->clients) {
      if (c.params->name == client) {
        return c.nodes;
      }
    }
  }
  return {};
}

double ServiceGraph::queue_length(std::string_view tier) const {
  if (!impl_) {
    return 0.0;
  }
  double sum = 0.0;
  for (NodeId id : impl_->tier(tier).nodes) {
    sum += static_cast<double>(instance_queue_length(impl_->world->node(id).program()));
  }
  return sum;
}

double ServiceGraph::cpu_busy_fraction(std::string_view tier) const {
  if (!impl_) {
    return 0.0;
  }
  double busy = 0.0;
  double cores = 0.0;
  for (world::HostId h : impl_->tier(tier).hosts) {
    const world::Cpu& cpu = impl_->world->host(h).cpu();
    busy += cpu.busy_cores();
    cores += cpu.cores();
  }
  return cores > 0.0 ? busy / cores : 0.0;
}

double ServiceGraph::breaker_open_fraction(std::string_view client) const {
  if (!impl_) {
    return 0.0;
  }
  for (const auto& c : impl_->clients) {
    if (c.params->name != client) {
      continue;
    }
    int open = 0;
    for (NodeId id : c.nodes) {
      open += client_breaker_open(impl_->world->node(id).program()) ? 1 : 0;
    }
    return c.nodes.empty() ? 0.0 : static_cast<double>(open) / static_cast<double>(c.nodes.size());
  }
  for (const auto& e : impl_->externals) {
    if (e->name != client) {
      continue;
    }
    // A caller from outside the graph has one breaker per calling process incarnation; only
    // the live ones count (a crashed process's breaker went with it).
    int live = 0;
    int open = 0;
    for (const auto& [key, caller] : e->callers) {
      const Node& node = impl_->world->node(NodeId{key.first});
      if (!node.up() || node.incarnation() != key.second) {
        continue;
      }
      ++live;
      open += caller->breaker_open() ? 1 : 0;
    }
    return live == 0 ? 0.0 : static_cast<double>(open) / static_cast<double>(live);
  }
  return 0.0;
}

}  // namespace faultline::sim::services
