#include <faultline/sim/elb/region.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace faultline::sim::elb {

FamilyMetricNames family_metric_names(std::string_view family) {
  const std::string p = fmt::format("elb/{}/", family);
  return {p + "requests", p + "successes", p + "failures", p + "latency"};
}
FamilyMetricNames control_plane_metric_names() { return family_metric_names("control-plane"); }

ElbRegion::ElbRegion(Simulation& sim, ElbParams params)
    : sim_(sim),
      params_(std::move(params)),
      touch_rng_(sim.rng("elb/workflows")),
      traffic_rng_(sim.rng("elb/traffic")),
      incident_rng_(sim.rng("elb/incident")) {
  params_.validate();
  auto& m = sim_.metrics();
  for (const auto& f : params_.families) {
    Elb e;
    e.name = "api-" + f.name;
    e.family = static_cast<int>(families_.size());
    e.broken.assign(static_cast<std::size_t>(f.nodes), false);
    e.touch_mean = f.touch_mean;
    elbs_.push_back(std::move(e));
    auto n = family_metric_names(f.name);
    Family fam;
    fam.requests = &m.counter(n.requests);
    fam.successes = &m.counter(n.successes);
    fam.failures = &m.counter(n.failures);
    fam.latency = &m.histogram(n.latency);
    if (params_.failover.enabled) {
      const auto& fo = params_.failover;
      regions::DnsParams dns;
      dns.ttl = fo.dns_ttl;
      dns.resolvers = fo.resolvers;
      dns.sticky_fraction = fo.sticky_fraction;
      dns.sticky_extra = fo.sticky_extra;
      fam.record.emplace("api-" + f.name, std::vector<std::uint64_t>{1, 0});
      fam.resolvers.emplace(dns, sim_.rng("elb/dns/" + f.name));
      fam.health.emplace(fo.error_threshold, fo.checks);
    }
    families_.push_back(std::move(fam));
  }
  for (int i = 0; i < params_.fleet.elbs; ++i) {
    Elb e;
    e.name = fmt::format("fleet-{}", i);
    e.broken.assign(static_cast<std::size_t>(params_.fleet.nodes), false);
    e.touch_mean = params_.fleet.touch_mean;
    elbs_.push_back(std::move(e));
  }
  auto cp = control_plane_metric_names();
  cp_requests_ = &m.counter(cp.requests);
  cp_successes_ = &m.counter(cp.successes);
  cp_failures_ = &m.counter(cp.failures);
}

void ElbRegion::start() {
  for (int e = 0; e < elbs(); ++e) {
    schedule_touch(e);
  }
  for (int f = 0; f < static_cast<int>(families_.size()); ++f) {
    next_request(f);
  }
  const auto& inc = params_.incident;
  auto at = [](Duration d) { return Time::from_ns(d.ns()); };
  if (inc.enabled) {
    sim_.schedule_at(at(inc.deleted_at), [this] { incident_delete(); });
    sim_.schedule_at(at(inc.workflows_disabled_at), [this] {
      workflows_enabled_ = false;
      sim_.record("elb", "workflows-disabled", {});
    });
    sim_.schedule_at(at(inc.restored_at), [this] { sim_.record("elb", "snapshot-restored", {}); });
    sim_.schedule_at(at(inc.merged_at), [this] { merge(); });
    if (inc.families_repaired_at > Duration::zero()) {
      sim_.schedule_at(at(inc.families_repaired_at), [this] {
        for (std::size_t f = 0; f < families_.size(); ++f) {
          restore_elb(static_cast<int>(f));
        }
        sim_.record("elb", "families-repaired", {});
      });
    }
  }
  if (params_.failover.enabled) {
    for (auto& f : families_) {
      f.resolvers->prime(sim_.now(), *f.record);
    }
    sim_.schedule_after(params_.failover.check_interval, [this] { health_check(); });
  }
}

void ElbRegion::schedule_touch(int elb) {
  const Duration mean = elbs_[static_cast<std::size_t>(elb)].touch_mean;
  const double gap = touch_rng_.exponential(static_cast<double>(mean.ns()));
  sim_.schedule_after(Duration::nanos(static_cast<std::int64_t>(gap) + 1), [this, elb] {
    if (workflows_enabled_) {
      touch(elb, touch_rng_.uniform01() < params_.control_plane.scale_ratio);
    }
    schedule_touch(elb);
  });
}

void ElbRegion::delete_state(int elb) { elbs_[static_cast<std::size_t>(elb)].state = false; }

void ElbRegion::incident_delete() {
  if (params_.incident.change_managed) {
    sim_.record("elb", "deletion-refused", {{"reason", "change management"}});
    return;
  }
  int deleted = 0;
  for (std::size_t f = 0; f < families_.size(); ++f) {
    if (params_.families[f].state_deleted) {
      delete_state(static_cast<int>(f));
      ++deleted;
    }
  }
  // An exact share of the fleet, chosen by a partial Fisher-Yates shuffle.
  std::vector<int> fleet;
  for (int e = static_cast<int>(families_.size()); e < elbs(); ++e) {
    fleet.push_back(e);
  }
  const auto n = static_cast<std::size_t>(
      params_.incident.deleted_fraction * static_cast<double>(fleet.size()) + 0.5);
  for (std::size_t i = 0; i < n; ++i) {
    const auto j = i + incident_rng_.below(fleet.size() - i);
    std::swap(fleet[i], fleet[j]);
    delete_state(fleet[i]);
    ++deleted;
  }
  sim_.record("elb", "state-deleted", {{"elbs", deleted}});
}

void ElbRegion::touch(int elb, bool scale) {
  Elb& e = elbs_[static_cast<std::size_t>(elb)];
  cp_requests_->inc();
  const bool trace = e.family >= 0;  // the fleet's reprogramming is counted, not traced
  if (e.state) {
    cp_successes_->inc();
    // Programmed from intact state: the nodes it touches get the full backend list.
    if (scale) {
      e.broken[touch_rng_.below(e.broken.size())] = false;
    } else {
      std::fill(e.broken.begin(), e.broken.end(), false);
    }
    if (trace) {
      sim_.record("elb", "reprogram",
                  {{"node", e.name}, {"from_missing_state", false}, {"scale", scale}});
    }
    return;
  }
  cp_failures_->inc();
  if (params_.control_plane.fail_static) {
    if (trace) {
      sim_.record("elb", "refused", {{"node", e.name}, {"reason", "state missing"}});
    }
    return;
  }
  // §4.1: "it used the missing state and misconfigured that ELB".
  int nodes = 1;
  if (scale) {
    e.broken[touch_rng_.below(e.broken.size())] = true;
  } else {
    std::fill(e.broken.begin(), e.broken.end(), true);
    nodes = static_cast<int>(e.broken.size());
  }
  if (trace) {
    sim_.record("elb", "reprogram",
                {{"node", e.name}, {"from_missing_state", true}, {"scale", scale},
                 {"nodes", nodes}, {"backends", 0}, {"broken_nodes", broken_nodes(elb)}});
  }
}

int ElbRegion::broken_nodes(int elb) const {
  const auto& b = elbs_[static_cast<std::size_t>(elb)].broken;
  return static_cast<int>(std::count(b.begin(), b.end(), true));
}

int ElbRegion::impacted() const {
  int n = 0;
  for (int e = 0; e < elbs(); ++e) {
    n += broken_nodes(e) > 0 ? 1 : 0;
  }
  return n;
}

bool ElbRegion::failed_over(int family) const {
  return families_[static_cast<std::size_t>(family)].failover_at.has_value();
}

double ElbRegion::other_region_share(int family) const {
  const auto& f = families_[static_cast<std::size_t>(family)];
  return f.resolvers ? f.resolvers->share(1) : 0.0;
}

void ElbRegion::merge() {
  // §4.1: the merge completes, then "workflows and APIs were slowly re-enabled" and the
  // affected ELBs come back over hours.
  for (auto& e : elbs_) {
    e.state = true;
  }
  sim_.record("elb", "merged", {});
  const Duration over = params_.incident.reenable_over;
  for (int e = 0; e < elbs(); ++e) {
    if (broken_nodes(e) > 0) {
      const auto delay = Duration::nanos(
          over.ns() == 0 ? 0 : static_cast<std::int64_t>(incident_rng_.below(
                                   static_cast<std::uint64_t>(over.ns()))));
      sim_.schedule_after(delay, [this, e] { restore_elb(e); });
    }
  }
  sim_.schedule_after(over, [this] {
    workflows_enabled_ = true;
    sim_.record("elb", "workflows-enabled", {});
  });
}

void ElbRegion::restore_elb(int elb) {
  Elb& e = elbs_[static_cast<std::size_t>(elb)];
  e.state = true;
  std::fill(e.broken.begin(), e.broken.end(), false);
  if (e.family >= 0) {
    sim_.record("elb", "restored", {{"node", e.name}});
  }
}

void ElbRegion::next_request(int family) {
  const double gap_s = traffic_rng_.exponential(1.0 / params_.families[static_cast<std::size_t>(family)].rate_per_s);
  sim_.schedule_after(Duration::nanos(static_cast<std::int64_t>(gap_s * 1e9) + 1), [this, family] {
    request(family);
    next_request(family);
  });
}

void ElbRegion::request(int family) {
  Family& f = families_[static_cast<std::size_t>(family)];
  const auto& c = params_.client;
  f.requests->inc();
  Duration latency = c.latency_base +
                     Duration::nanos(static_cast<std::int64_t>(
                         traffic_rng_.exponential(static_cast<double>(c.latency_mean.ns()))));
  // Without failover the family's name always answers this region; with it, the answer is
  // whatever the device's resolver has cached (sim/regions/dns.hpp).
  const bool other_region = f.resolvers && f.resolvers->resolve(sim_.now(), *f.record) == 1;
  if (other_region) {
    // Active-active: the other region serves. Isthmus: its ELB and Zuul tunnel the request to
    // this region's Zuul, bypassing this region's broken ELB.
    const auto& fo = params_.failover;
    const Duration extra = fo.extra_latency + (fo.mode == FailoverParams::Mode::kIsthmus
                                                   ? fo.tunnel_latency
                                                   : Duration::zero());
    f.successes->inc();
    f.latency->record(latency + extra);
    return;
  }
  const Elb& e = elbs_[static_cast<std::size_t>(family_elb(family))];
  const bool broken = e.broken[traffic_rng_.below(e.broken.size())];  // DNS round robin
  if (f.health) {
    f.health->sent();
  }
  if (broken) {
    if (f.health) {
      f.health->failed();
    }
    sim_.schedule_after(c.timeout, [failures = f.failures] { failures->inc(); });
    return;
  }
  f.successes->inc();
  f.latency->record(latency);
}

void ElbRegion::health_check() {
  const auto& fo = params_.failover;
  for (std::size_t i = 0; i < families_.size(); ++i) {
    Family& f = families_[i];
    // Health checks see only the requests still sent to this region's ELB.
    if (f.health->close_interval() && !f.health->healthy() && !f.failover_at) {
      f.failover_at = sim_.now();
      f.record->set_weights({0, 1});  // no failback (README)
      sim_.record("elb", "failover",
                  {{"node", elbs_[i].name}, {"family", params_.families[i].name},
                   {"error_rate", f.health->last_error_rate()},
                   {"mode", std::string(to_string(fo.mode))},
                   {"dns_ttl_s", fo.dns_ttl.to_seconds()},
                   {"resolvers_moved", f.resolvers->share(1)}});
    }
  }
  sim_.schedule_after(fo.check_interval, [this] { health_check(); });
}

}  // namespace faultline::sim::elb
