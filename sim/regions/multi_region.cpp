#include <faultline/sim/regions/multi_region.hpp>

#include <faultline/probe.hpp>

#include <fmt/format.h>

#include <cmath>

namespace faultline::sim::regions {

namespace {
const ProbePoint kProbeFailover("regions/dns/failover");

constexpr std::uint64_t kWeight = 1000;  // a record's total weight
Time at(Duration d) { return Time::from_ns(d.ns()); }
}  // namespace

ScopeMetricNames scope_metric_names(std::string_view scope) {
  const std::string p = fmt::format("regions/{}/", scope);
  return {p + "requests", p + "successes", p + "failures", p + "latency"};
}

MultiRegion::Scope MultiRegion::make_scope(std::string_view name) {
  auto n = scope_metric_names(name);
  auto& m = sim_.metrics();
  return {&m.counter(n.requests), &m.counter(n.successes), &m.counter(n.failures),
          &m.histogram(n.latency)};
}

MultiRegion::MultiRegion(Simulation& sim, RegionsParams params)
    : sim_(sim),
      params_((params.validate(), std::move(params))),
      traffic_rng_(sim.rng("regions/traffic")),
      all_(make_scope("all")),
      keys_(static_cast<std::uint64_t>(params_.cache.keys), params_.cache.zipf_s) {
  const auto npop = static_cast<int>(params_.populations.size());
  for (const auto& r : params_.regions) {
    backends_.push_back(
        std::make_unique<Backend>(sim_, r, params_.autoscaling, params_.cache, npop));
    health_.emplace_back(params_.failover.error_threshold, params_.failover.checks);
    broken_.push_back(0.0);
    region_scopes_.push_back(make_scope(r.name));
  }
  for (const auto& p : params_.populations) {
    const int home = params_.region_index(p.home);
    std::vector<std::uint64_t> w(params_.regions.size(), 0);
    w[static_cast<std::size_t>(home)] = kWeight;
    records_.emplace_back(p.name, std::move(w));
    pools_.emplace_back(params_.dns, sim_.rng("regions/dns/" + p.name));
    home_.push_back(home);
    population_scopes_.push_back(make_scope(p.name));
  }
}

double MultiRegion::resolver_share(int population, int region) const {
  return pools_[static_cast<std::size_t>(population)].share(region);
}

void MultiRegion::start() {
  Rng warm = sim_.rng("regions/cache-warm");
  for (int p = 0; p < populations(); ++p) {
    pools_[static_cast<std::size_t>(p)].prime(sim_.now(), records_[static_cast<std::size_t>(p)]);
    if (params_.cache.warm_home) {
      backend(home_[static_cast<std::size_t>(p)]).warm(p, warm);
    }
    next_request(p);
  }
  for (auto& b : backends_) {
    b->start();
  }
  if (params_.failover.enabled) {
    sim_.schedule_after(params_.failover.check_interval, [this] { health_check(); });
  }
  for (const auto& f : params_.edge_faults) {
    const int r = params_.region_index(f.region);
    sim_.schedule_at(at(f.at), [this, r, frac = f.broken_fraction] { set_edge_broken(r, frac); });
    sim_.schedule_at(at(f.at + f.duration), [this, r] { set_edge_broken(r, 0.0); });
  }
  const auto& ev = params_.evacuation;
  if (ev.enabled) {
    const int from = params_.region_index(ev.region);
    const int to = params_.region_index(ev.to);
    for (const auto& step : ev.schedule()) {
      sim_.schedule_at(at(step.when),
                       [this, from, to, share = step.share] { shift(from, to, share); });
    }
  }
}

void MultiRegion::set_edge_broken(int region, double fraction) {
  broken_[static_cast<std::size_t>(region)] = fraction;
  sim_.record("regions", fraction > 0.0 ? "edge-broken" : "edge-repaired",
              {{"node", "edge/" + params_.regions[static_cast<std::size_t>(region)].name},
               {"broken_fraction", fraction}});
}

void MultiRegion::shift(int from, int to, double share) {
  for (int p = 0; p < populations(); ++p) {
    if (home_[static_cast<std::size_t>(p)] != from) {
      continue;
    }
    record(p).set_weights(evacuation_weights(params_.regions.size(), from, to, share, kWeight));
    sim_.record("regions", "evacuation-step",
                {{"node", "dns/" + params_.populations[static_cast<std::size_t>(p)].name},
                 {"from", params_.regions[static_cast<std::size_t>(from)].name},
                 {"to", params_.regions[static_cast<std::size_t>(to)].name},
                 {"share_moved", share}});
  }
}

void MultiRegion::next_request(int population) {
  const double rate = params_.populations[static_cast<std::size_t>(population)].rate_per_s;
  const double gap_s = traffic_rng_.exponential(1.0 / rate);
  sim_.schedule_after(Duration::nanos(static_cast<std::int64_t>(gap_s * 1e9) + 1),
                      [this, population] {
                        request(population);
                        next_request(population);
                      });
}

void MultiRegion::finish(std::initializer_list<Scope*> scopes, bool ok, Duration latency) {
  for (Scope* s : scopes) {
    (ok ? s->successes : s->failures)->inc();
    if (ok) {
      s->latency->record(latency);
    }
  }
}

void MultiRegion::request(int population) {
  const auto p = static_cast<std::size_t>(population);
  const auto& c = params_.client;
  const int home = home_[p];
  const int entry = pools_[p].resolve(sim_.now(), records_[p]);
  Scope* pop = &population_scopes_[p];
  pop->requests->inc();
  all_.requests->inc();
  auto& health = health_[static_cast<std::size_t>(entry)];
  health.sent();
  if (traffic_rng_.uniform01() < broken_[static_cast<std::size_t>(entry)]) {
    // A misprogrammed ELB node black-holes the request; the client gives up after the timeout.
    health.failed();
    Scope* all = &all_;
    sim_.schedule_after(c.timeout, [pop, all] {
      pop->failures->inc();
      all->failures->inc();
    });
    return;
  }
  // Isthmus: the other region's edge is a thin layer that tunnels to the home backend.
  const bool tunnel =
      params_.failover.mode == FailoverParams::Mode::kIsthmus && entry != home;
  const int served_by = tunnel ? home : entry;
  Scope* region = &region_scopes_[static_cast<std::size_t>(served_by)];
  region->requests->inc();
  const std::uint64_t key = keys_(traffic_rng_) - 1;
  const auto outcome = backend(served_by).serve(population, key);
  Duration latency = c.latency_base + Duration::nanos(static_cast<std::int64_t>(
                                          traffic_rng_.exponential(
                                              static_cast<double>(c.latency_mean.ns()))));
  if (entry != home) {
    latency += c.cross_region_rtt;  // the client is far from the region it was sent to
  }
  if (tunnel) {
    latency += c.cross_region_rtt;
  }
  const bool ok = outcome == Backend::Outcome::kHit || outcome == Backend::Outcome::kMiss;
  if (outcome == Backend::Outcome::kMiss) {
    latency += c.store_latency;
  }
  if (!ok) {
    health.failed();
  }
  finish({pop, region, &all_}, ok, latency);
}

void MultiRegion::health_check() {
  for (int r = 0; r < regions(); ++r) {
    auto& h = health_[static_cast<std::size_t>(r)];
    if (!h.close_interval()) {
      continue;
    }
    const std::string node = "edge/" + params_.regions[static_cast<std::size_t>(r)].name;
    if (h.healthy()) {
      sim_.record("regions", "edge-healthy", {{"node", node}});  // no failback (README)
      continue;
    }
    sim_.record("regions", "edge-unhealthy", {{"node", node}, {"error_rate", h.last_error_rate()}});
    fail_over(r);
  }
  sim_.schedule_after(params_.failover.check_interval, [this] { health_check(); });
}

void MultiRegion::fail_over(int region) {
  const auto r = static_cast<std::size_t>(region);
  for (int p = 0; p < populations(); ++p) {
    // Prefer the population's home; otherwise the first healthy region.
    const int to = failover_target(region, home_[static_cast<std::size_t>(p)], health_);
    if (to < 0 || !move_weight(record(p), region, to)) {
      continue;  // nowhere healthy to go, or no weight here
    }
    FAULTLINE_PROBE(sim_, kProbeFailover);
    sim_.record("regions", "dns-failover",
                {{"node", "dns/" + params_.populations[static_cast<std::size_t>(p)].name},
                 {"from", params_.regions[r].name},
                 {"to", params_.regions[static_cast<std::size_t>(to)].name},
                 {"mode", std::string(to_string(params_.failover.mode))},
                 {"ttl_s", params_.dns.ttl.to_seconds()}});
  }
}

}  // namespace faultline::sim::regions
