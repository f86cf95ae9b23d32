#include <faultline/sim/elb/region.hpp>

#include <faultline/probe.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <utility>

namespace faultline::sim::elb {

namespace {
const ProbePoint kProbeFailover("elb/dns/failover");

/// A stream start and its answer: the API's first bytes (sizes are assumptions).
struct StreamStart {
  int family = 0;
};
constexpr std::uint64_t kRequestBytes = 512;
constexpr std::uint64_t kReplyBytes = 1024;
const std::array<const char*, 3> kZones = {"us-east-1a", "us-east-1b", "us-east-1c"};
const std::array<const char*, 3> kWestZones = {"us-west-2a", "us-west-2b", "us-west-2c"};

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

/// An LB node of a family's ELB in the other region (built with failover). Active-active: the
/// other region's stack serves the request (the service time). Isthmus: the other region's ELB
/// and Zuul forward it over the inter-region link to this region's Zuul (`zuul-us-east`),
/// bypassing this region's ELB.
class ElbRegion::OtherRegionNode final : public world::Program {
public:
  explicit OtherRegionNode(ElbRegion& r) : r_(r) {}
  void start(world::Node& n) override {
    n.on_request([this, &n](const world::Message& m, world::Responder reply) {
      if (r_.params_.failover.mode == FailoverParams::Mode::kIsthmus) {
        n.call(r_.east_zuul_, m.payload, kRequestBytes, r_.params_.client.timeout,
               [reply](world::RpcResult res) {
                 if (res.ok()) {
                   reply.reply(world::Payload{}, kReplyBytes);
                 }  // else the device times out
               });
        return;
      }
      n.after(r_.service_time(), [reply] { reply.reply(world::Payload{}, kReplyBytes); });
    });
  }

private:
  ElbRegion& r_;
};

/// This region's Zuul as Isthmus reaches it from the other region: it serves the request (the
/// service time stands for Zuul, the API and what they call, as an LB node's does).
class ElbRegion::EastZuul final : public world::Program {
public:
  explicit EastZuul(ElbRegion& r) : r_(r) {}
  void start(world::Node& n) override {
    n.on_request([this, &n](const world::Message&, world::Responder reply) {
      n.after(r_.service_time(), [reply] { reply.reply(world::Payload{}, kReplyBytes); });
    });
  }

private:
  ElbRegion& r_;
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
  ServiceLayout layout;
  layout.control_plane_zone = zones[0];
  layout.state_store_zone = zones[1];
  layout.host = hp;
  layout.metrics = "elb/control-plane";
  // A programmed LB node answers after the serving stack's time.
  service_ = std::make_unique<ElbService>(
      sim_, w, params_.control_plane, layout,
      [this](world::Node& n, int, const world::Message&, world::Responder reply) {
        n.after(service_time(), [reply] { reply.reply(world::Payload{}, kReplyBytes); });
      });
  auto& m = sim_.metrics();
  for (const auto& f : params_.families) {
    service_->add_elb("api-" + f.name, true, f.nodes, f.touch_mean, zones);
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
  if (params_.failover.enabled) {
    add_other_region(region, w.topology().region_of(internet));
  }
  for (int i = 0; i < params_.fleet.elbs; ++i) {
    service_->add_elb(fmt::format("fleet-{}", i), false, params_.fleet.nodes,
                      params_.fleet.touch_mean, zones);
  }
}

void ElbRegion::add_other_region(world::RegionId east, world::RegionId internet) {
  world::World& w = *world_;
  const auto& fo = params_.failover;
  const auto hp = host_params();
  const auto west = w.add_region("us-west");
  std::vector<world::ZoneId> zones;
  for (const char* z : kWestZones) {
    zones.push_back(w.add_zone(west, z));
  }
  // The devices are `extra_latency` (a round trip) farther from the other region than from
  // this one, and the regions are `tunnel_latency` (a round trip) apart: world links, so a
  // fault plan's latency or partition of either region pair acts on them too.
  auto& topo = w.topology();
  world::LinkParams to_west = topo.defaults().cross_region;
  to_west.latency.base = to_west.latency.base + fo.extra_latency / 2;
  topo.set_link(internet, west, to_west);
  world::LinkParams between = topo.defaults().cross_region;
  between.latency.base = fo.tunnel_latency / 2;
  topo.set_link(east, west, between);
  for (std::size_t f = 0; f < params_.families.size(); ++f) {
    const auto& fp = params_.families[f];
    for (int i = 0; i < fp.nodes; ++i) {
      const std::string name = fmt::format("west-api-{}-{}", fp.name, i);
      families_[f].other_region_nodes.push_back(
          w.add_node(w.add_host(zones[static_cast<std::size_t>(i % 3)], name, hp), name,
                     "elb/west-api-" + fp.name,
                     [this](world::Node&) { return std::make_unique<OtherRegionNode>(*this); }));
    }
  }
  if (fo.mode == FailoverParams::Mode::kIsthmus) {
    const auto east_zone = w.topology().zones_in(east).front();
    east_zuul_ = w.add_node(w.add_host(east_zone, "zuul-us-east", hp), "zuul-us-east",
                            "zuul/us-east",
                            [this](world::Node&) { return std::make_unique<EastZuul>(*this); });
  }
}

Duration ElbRegion::service_time() {
  const auto& c = params_.client;
  return c.latency_base + Duration::nanos(static_cast<std::int64_t>(traffic_rng_.exponential(
                              static_cast<double>(c.latency_mean.ns()))));
}

ElbRegion::~ElbRegion() {
  world_.reset();  // the programs go first: they hold references into the region and service
}

std::vector<std::string> ElbRegion::groups(const ElbParams& params) {
  std::vector<std::string> g = {"elb/control-plane", "elb/state-store"};
  for (const auto& f : params.families) {
    g.push_back("device/" + f.name);
    g.push_back("elb/api-" + f.name);
  }
  for (int i = 0; i < params.fleet.elbs; ++i) {
    g.push_back(fmt::format("elb/fleet-{}", i));
  }
  if (params.failover.enabled) {
    for (const auto& f : params.families) {
      g.push_back("elb/west-api-" + f.name);
    }
    if (params.failover.mode == FailoverParams::Mode::kIsthmus) {
      g.push_back("zuul/us-east");
    }
  }
  std::sort(g.begin(), g.end());
  return g;
}

world::NodeId ElbRegion::lb_node(int elb, int node) const {
  return service_->nodes(elb)[static_cast<std::size_t>(node)];
}

void ElbRegion::start() {
  service_->start();
  const auto& inc = params_.incident;
  auto at = [](Duration d) { return Time::from_ns(d.ns()); };
  if (inc.enabled) {
    sim_.schedule_at(at(inc.deleted_at), [this] { incident_delete(); });
    sim_.schedule_at(at(inc.workflows_disabled_at), [this] {
      service_->set_workflows_enabled(false);
      sim_.record("elb", "workflows-disabled", {});
    });
    sim_.schedule_at(at(inc.restored_at), [this] { sim_.record("elb", "snapshot-restored", {}); });
    sim_.schedule_at(at(inc.merged_at), [this] { merge(); });
    if (inc.families_repaired_at > Duration::zero()) {
      sim_.schedule_at(at(inc.families_repaired_at), [this] {
        for (std::size_t f = 0; f < families_.size(); ++f) {
          service_->restore_state(family_elb(static_cast<int>(f)));
          service_->order_restore(family_elb(static_cast<int>(f)));
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
  for (int e = 0; e < elbs(); ++e) {
    service_->restore_state(e);
  }
  sim_.record("elb", "merged", {});
  const Duration over = params_.incident.reenable_over;
  for (int e = 0; e < elbs(); ++e) {
    if (broken_nodes(e) > 0) {
      const auto delay = Duration::nanos(
          over.ns() == 0 ? 0 : static_cast<std::int64_t>(incident_rng_.below(
                                   static_cast<std::uint64_t>(over.ns()))));
      sim_.schedule_after(delay, [this, e] { service_->order_restore(e); });
    }
  }
  sim_.schedule_after(over, [this] {
    service_->set_workflows_enabled(true);
    sim_.record("elb", "workflows-enabled", {});
  });
}

void ElbRegion::request(world::Node& device, int family) {
  Family& f = families_[static_cast<std::size_t>(family)];
  const auto& c = params_.client;
  f.requests->inc();
  // Without failover the family's name always answers this region; with it, the answer is
  // whatever the device's resolver has cached (sim/regions/dns.hpp).
  const bool other_region = f.resolvers && f.resolvers->resolve(sim_.now(), *f.record) == 1;
  auto done = [&f, other_region](world::RpcResult r) {
    if (r.ok()) {
      f.successes->inc();
      f.latency->record(r.latency);
      return;
    }
    f.failures->inc();
    if (f.health && !other_region) {
      f.health->failed();  // health checks see only the requests sent to this region's ELB
    }
  };
  if (other_region) {
    // The other region's ELB for this family (active-active: its stack serves; Isthmus: its
    // ELB and Zuul tunnel the request to this region's Zuul, bypassing this region's ELB).
    const auto node = f.other_region_nodes[traffic_rng_.below(f.other_region_nodes.size())];
    device.call(node, world::Payload::make<StreamStart>(StreamStart{family}), kRequestBytes,
                c.timeout, std::move(done));
    return;
  }
  const auto& nodes = service_->nodes(family_elb(family));
  const auto node = nodes[traffic_rng_.below(nodes.size())];  // DNS round robin
  if (f.health) {
    f.health->sent();
  }
  device.call(node, world::Payload::make<StreamStart>(StreamStart{family}), kRequestBytes,
              c.timeout, std::move(done));
}

void ElbRegion::health_check() {
  const auto& fo = params_.failover;
  for (std::size_t i = 0; i < families_.size(); ++i) {
    Family& f = families_[i];
    // Health checks see only the requests still sent to this region's ELB.
    if (f.health->close_interval() && !f.health->healthy() && !f.failover_at) {
      f.failover_at = sim_.now();
      FAULTLINE_PROBE(sim_, kProbeFailover);
      f.record->set_weights({0, 1});  // no failback (README)
      sim_.record("elb", "failover",
                  {{"node", service_->name(static_cast<int>(i))}, {"family", params_.families[i].name},
                   {"error_rate", f.health->last_error_rate()},
                   {"mode", std::string(to_string(fo.mode))},
                   {"dns_ttl_s", fo.dns_ttl.to_seconds()},
                   {"resolvers_moved", f.resolvers->share(1)}});
    }
  }
  sim_.schedule_after(fo.check_interval, [this] { health_check(); });
}

}  // namespace faultline::sim::elb
