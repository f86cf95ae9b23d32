#include <faultline/sim/elb/region.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace faultline::sim::elb {

namespace {
/// A stream start and its answer: the API's first bytes (sizes are assumptions).
struct StreamStart {
  int family = 0;
};
constexpr std::uint64_t kRequestBytes = 512;
constexpr std::uint64_t kReplyBytes = 1024;
const std::array<const char*, 3> kZones = {"us-east-1a", "us-east-1b", "us-east-1c"};

world::HostParams host_params() {
  // A day-long run over thousands of hosts must not pay for per-second CPU samples or NTP
  // polls on each: the model reads no clock and the scenario observes its own series.
  world::HostParams h;
  h.cpu.cores = 2;
  h.cpu.sample_interval = Duration::zero();
  h.clock.ntp_enabled = false;
  return h;
}
}  // namespace

/// One LB node: routes by the backend list it was last programmed with (kept by the region as
/// the control plane programmed it, `Elb::broken`). A node that boots again after a crash is a
/// replacement, programmed from the ELB's state then.
class ElbRegion::LbNode final : public world::Program {
public:
  LbNode(ElbRegion& r, int elb, int node) : r_(r), elb_(elb), node_(node) {}
  void start(world::Node& n) override {
    n.on_request([this, &n](const world::Message&, world::Responder reply) {
      if (r_.elbs_[static_cast<std::size_t>(elb_)].broken[static_cast<std::size_t>(node_)]) {
        return;  // an empty backend list: the request is black-holed, the device times out
      }
      const auto& c = r_.params_.client;
      const Duration service =
          c.latency_base + Duration::nanos(static_cast<std::int64_t>(r_.traffic_rng_.exponential(
                               static_cast<double>(c.latency_mean.ns()))));
      n.after(service, [reply] { reply.reply(world::Payload{}, kReplyBytes); });
    });
  }

private:
  ElbRegion& r_;
  int elb_, node_;
};

/// A device family's population: a Poisson stream of stream starts through its ELB (or, after
/// a failover, the other region).
class ElbRegion::Device final : public world::Program {
public:
  Device(ElbRegion& r, int family) : r_(r), family_(family) {}
  void start(world::Node& n) override { next(n); }

private:
  void next(world::Node& n) {
    const double gap_s = r_.traffic_rng_.exponential(
        1.0 / r_.params_.families[static_cast<std::size_t>(family_)].rate_per_s);
    n.after(Duration::nanos(static_cast<std::int64_t>(gap_s * 1e9) + 1), [this, &n] {
      r_.request(n, family_);
      next(n);
    });
  }
  ElbRegion& r_;
  int family_;
};

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
  world_ = std::make_unique<world::World>(sim_);
  world::World& w = *world_;
  const auto region = w.add_region("us-east");
  std::vector<world::ZoneId> zones;
  for (const char* z : kZones) {
    zones.push_back(w.add_zone(region, z));
  }
  const auto internet = w.add_zone(w.add_region("internet"), "internet-1");
  const auto hp = host_params();
  // Each LB node on its own host, round robin over the zones.
  auto add_elb = [&](Elb e, int nodes) {
    const int index = static_cast<int>(elbs_.size());
    e.broken.assign(static_cast<std::size_t>(nodes), false);
    for (int i = 0; i < nodes; ++i) {
      const std::string name = fmt::format("{}-{}", e.name, i);
      const auto host = w.add_host(zones[static_cast<std::size_t>(i % 3)], name, hp);
      e.nodes.push_back(w.add_node(host, name, "elb/" + e.name, [this, index, i](world::Node& n) {
        // A first boot has the full list; a node booting after a crash is a replacement the
        // control plane programs from the ELB's state.
        if (n.incarnation() > 1) {
          program_replacement(index, i);
        }
        return std::make_unique<LbNode>(*this, index, i);
      }));
    }
    elbs_.push_back(std::move(e));
  };
  auto& m = sim_.metrics();
  for (const auto& f : params_.families) {
    Elb e;
    e.name = "api-" + f.name;
    e.family = static_cast<int>(families_.size());
    e.touch_mean = f.touch_mean;
    add_elb(std::move(e), f.nodes);
    const int family = static_cast<int>(families_.size());
    const std::string device = "device-" + f.name;
    devices_.push_back(w.add_node(w.add_host(internet, device, hp), device, "device/" + f.name,
                                  [this, family](world::Node&) {
                                    return std::make_unique<Device>(*this, family);
                                  }));
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
    e.touch_mean = params_.fleet.touch_mean;
    add_elb(std::move(e), params_.fleet.nodes);
  }
  auto cp = control_plane_metric_names();
  cp_requests_ = &m.counter(cp.requests);
  cp_successes_ = &m.counter(cp.successes);
  cp_failures_ = &m.counter(cp.failures);
}

ElbRegion::~ElbRegion() {
  world_.reset();  // the programs go first: they hold references into the region
}

std::vector<std::string> ElbRegion::groups(const ElbParams& params) {
  std::vector<std::string> g;
  for (const auto& f : params.families) {
    g.push_back("device/" + f.name);
    g.push_back("elb/api-" + f.name);
  }
  for (int i = 0; i < params.fleet.elbs; ++i) {
    g.push_back(fmt::format("elb/fleet-{}", i));
  }
  std::sort(g.begin(), g.end());
  return g;
}

world::NodeId ElbRegion::lb_node(int elb, int node) const {
  return elbs_[static_cast<std::size_t>(elb)].nodes[static_cast<std::size_t>(node)];
}

void ElbRegion::program_replacement(int elb, int node) {
  Elb& e = elbs_[static_cast<std::size_t>(elb)];
  cp_requests_->inc();
  if (e.state) {
    cp_successes_->inc();
    e.broken[static_cast<std::size_t>(node)] = false;
    return;
  }
  cp_failures_->inc();
  // Fail static: the control plane refuses to program from missing state and gives the new
  // node the ELB's last known good configuration.
  const bool fail_static = params_.control_plane.fail_static;
  if (!fail_static) {
    e.broken[static_cast<std::size_t>(node)] = true;
  }
  if (e.family >= 0) {
    sim_.record("elb", fail_static ? "refused" : "reprogram",
                {{"node", e.name}, {"from_missing_state", true}, {"replacement", true}});
  }
}

void ElbRegion::start() {
  for (int e = 0; e < elbs(); ++e) {
    schedule_touch(e);
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

void ElbRegion::request(world::Node& device, int family) {
  Family& f = families_[static_cast<std::size_t>(family)];
  const auto& c = params_.client;
  f.requests->inc();
  // Without failover the family's name always answers this region; with it, the answer is
  // whatever the device's resolver has cached (sim/regions/dns.hpp).
  const bool other_region = f.resolvers && f.resolvers->resolve(sim_.now(), *f.record) == 1;
  if (other_region) {
    // Active-active: the other region serves. Isthmus: its ELB and Zuul tunnel the request to
    // this region's Zuul, bypassing this region's broken ELB. The other region is not built
    // (README): its latency is this one's service time plus the extra round trips.
    const auto& fo = params_.failover;
    const Duration extra = fo.extra_latency + (fo.mode == FailoverParams::Mode::kIsthmus
                                                   ? fo.tunnel_latency
                                                   : Duration::zero());
    const Duration service =
        c.latency_base + Duration::nanos(static_cast<std::int64_t>(
                             traffic_rng_.exponential(static_cast<double>(c.latency_mean.ns()))));
    f.successes->inc();
    f.latency->record(service + extra);
    return;
  }
  const Elb& e = elbs_[static_cast<std::size_t>(family_elb(family))];
  const auto node = e.nodes[traffic_rng_.below(e.nodes.size())];  // DNS round robin
  if (f.health) {
    f.health->sent();
  }
  device.call(node, world::Payload::make<StreamStart>(StreamStart{family}), kRequestBytes,
              c.timeout, [&f](world::RpcResult r) {
                if (r.ok()) {
                  f.successes->inc();
                  f.latency->record(r.latency);
                  return;
                }
                f.failures->inc();
                if (f.health) {
                  f.health->failed();
                }
              });
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
