#include <faultline/sim/elb/region.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <functional>
#include <utility>

namespace faultline::sim::elb {

namespace {
/// A stream start and its answer: the API's first bytes (sizes are assumptions).
struct StreamStart {
  int family = 0;
};
constexpr std::uint64_t kRequestBytes = 512;
constexpr std::uint64_t kReplyBytes = 1024;
/// The control plane reads one ELB's record from the state store.
struct GetState {
  int elb = 0;
};
struct StateAnswer {
  bool present = false;
};
/// The control plane programs one LB node: the full backend list or, from missing state, none.
struct ProgramNode {
  bool backends = true;
};
/// A replacement LB node asks the control plane to program it.
struct ProgramMe {
  int elb = 0;
  int node = 0;
};
/// Its answer: a backend list (full or empty), or a refusal (fail static: keep the last good).
struct ProgramAnswer {
  bool refused = false;
  bool backends = true;
};
// Sizes are assumptions: a state record and a node's configuration with its backend list.
constexpr std::uint64_t kStateRequestBytes = 128;
constexpr std::uint64_t kStateReplyBytes = 1024;
constexpr std::uint64_t kProgramBytes = 2048;
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

/// One LB node: routes by the backend list it was last programmed with (`Elb::broken`, the
/// node's own configuration). A node that boots again after a crash is a replacement: it has no
/// backend list until the control plane programs it, and asks for one until it gets it.
class ElbRegion::LbNode final : public world::Program {
public:
  LbNode(ElbRegion& r, int elb, int node) : r_(r), elb_(elb), node_(node) {}
  void start(world::Node& n) override {
    n.on_request([this, &n](const world::Message&, world::Responder reply) {
      const Elb& e = r_.elbs_[static_cast<std::size_t>(elb_)];
      const auto i = static_cast<std::size_t>(node_);
      if (!e.programmed[i] || e.broken[i]) {
        return;  // no (or an empty) backend list: black-holed, the device times out
      }
      n.after(r_.service_time(), [reply] { reply.reply(world::Payload{}, kReplyBytes); });
    });
    n.on_message([this](const world::Message& m) {
      if (const auto* p = m.payload.get<ProgramNode>()) {
        set(p->backends);
      }
    });
    if (n.incarnation() > 1) {
      r_.elbs_[static_cast<std::size_t>(elb_)].programmed[static_cast<std::size_t>(node_)] = false;
      ask(n);
    }
  }

private:
  void set(bool backends) {
    Elb& e = r_.elbs_[static_cast<std::size_t>(elb_)];
    e.broken[static_cast<std::size_t>(node_)] = !backends;
    e.programmed[static_cast<std::size_t>(node_)] = true;
  }
  /// A replacement asks the control plane (which reads the store) for its configuration.
  void ask(world::Node& n) {
    const auto& cp = r_.params_.control_plane;
    n.call(r_.control_plane_, world::Payload::make<ProgramMe>(ProgramMe{elb_, node_}),
           kStateRequestBytes, cp.call_timeout * 2, [this, &n](world::RpcResult res) {
             if (!res.ok()) {
               n.after(r_.params_.control_plane.retry_after, [this, &n] { ask(n); });
               return;
             }
             const auto& a = res.payload.as<ProgramAnswer>();
             if (a.refused) {
               // Fail static: the ELB's last known good configuration.
               r_.elbs_[static_cast<std::size_t>(elb_)]
                   .programmed[static_cast<std::size_t>(node_)] = true;
             } else {
               set(a.backends);
             }
           });
  }

  ElbRegion& r_;
  int elb_, node_;
};

/// The state store: one record per ELB, on disk (it outlives the store's own crash, so it is
/// kept in `Elb::state`); it answers the control plane's reads.
class ElbRegion::StateStore final : public world::Program {
public:
  explicit StateStore(ElbRegion& r) : r_(r) {}
  void start(world::Node& n) override {
    n.on_request([this](const world::Message& m, world::Responder reply) {
      const auto& q = m.payload.as<GetState>();
      reply.reply(world::Payload::make<StateAnswer>(
                      StateAnswer{r_.elbs_[static_cast<std::size_t>(q.elb)].state}),
                  kStateReplyBytes);
    });
  }

private:
  ElbRegion& r_;
};

/// The control plane: runs every ELB's workflows on its own timers (so a crashed control plane
/// runs none until it is back), reads the ELB's record from the state store, and sends each node
/// it reprograms its configuration; answers replacements; runs the operators' restores.
class ElbRegion::ControlPlane final : public world::Program {
public:
  enum class Kind { kScale, kPush, kRestore };
  explicit ControlPlane(ElbRegion& r) : r_(r) {}

  void start(world::Node& n) override {
    n_ = &n;
    n.on_request([this](const world::Message& m, world::Responder reply) {
      replacement(m.payload.as<ProgramMe>(), std::move(reply));
    });
    if (r_.started_) {
      begin();
    }
  }
  world::Node& node() { return *n_; }

  /// Workflows start (at the region's start, or when the control plane is back up), and the
  /// restores ordered while it was down run.
  void begin() {
    if (begun_) {
      return;
    }
    begun_ = true;
    for (int e = 0; e < r_.elbs(); ++e) {
      schedule_touch(e);
    }
    for (int e : std::exchange(r_.pending_restores_, {})) {
      workflow(e, Kind::kRestore);
    }
  }

  void workflow(int elb, Kind kind) {
    Elb& e = r_.elbs_[static_cast<std::size_t>(elb)];
    if (kind != Kind::kRestore) {
      r_.cp_requests_->inc();
    }
    const int scale_node =
        kind == Kind::kScale ? static_cast<int>(r_.touch_rng_.below(e.nodes.size())) : -1;
    read_state(elb, [this, elb, kind, scale_node](std::optional<bool> present) {
      if (!present) {
        store_failed(elb, kind == Kind::kRestore);
      } else {
        apply(elb, kind, scale_node, *present);
      }
    });
  }

private:
  void schedule_touch(int elb) {
    const Duration mean = r_.elbs_[static_cast<std::size_t>(elb)].touch_mean;
    const double gap = r_.touch_rng_.exponential(static_cast<double>(mean.ns()));
    n_->after(Duration::nanos(static_cast<std::int64_t>(gap) + 1), [this, elb] {
      if (r_.workflows_enabled_) {
        workflow(elb, r_.touch_rng_.uniform01() < r_.params_.control_plane.scale_ratio
                          ? Kind::kScale
                          : Kind::kPush);
      }
      schedule_touch(elb);
    });
  }

  /// The ELB's record, or nullopt when the store did not answer within the timeout.
  void read_state(int elb, std::function<void(std::optional<bool>)> done) {
    n_->call(r_.state_store_, world::Payload::make<GetState>(GetState{elb}), kStateRequestBytes,
             r_.params_.control_plane.call_timeout,
             [done = std::move(done)](world::RpcResult res) {
               done(res.ok() ? std::optional<bool>(res.payload.as<StateAnswer>().present)
                             : std::nullopt);
             });
  }

  /// The store did not answer: a restore is tried again (the operators' order stands); a
  /// workflow or a replacement's request fails as an API error.
  void store_failed(int elb, bool restore) {
    if (restore) {
      n_->after(r_.params_.control_plane.retry_after,
                [this, elb] { workflow(elb, Kind::kRestore); });
      return;
    }
    r_.cp_failures_->inc();
    const Elb& e = r_.elbs_[static_cast<std::size_t>(elb)];
    if (e.family >= 0) {
      r_.sim_.record("elb", "workflow-failed",
                     {{"node", e.name}, {"reason", "state store did not answer"}});
    }
  }

  /// Sends the nodes their configuration: node `node`, or every node (-1).
  void program(int elb, int node, bool backends) {
    const Elb& e = r_.elbs_[static_cast<std::size_t>(elb)];
    for (std::size_t i = 0; i < e.nodes.size(); ++i) {
      if (node < 0 || static_cast<std::size_t>(node) == i) {
        n_->send(e.nodes[i], world::Payload::make<ProgramNode>(ProgramNode{backends}),
                 kProgramBytes);
      }
    }
  }

  void apply(int elb, Kind kind, int scale_node, bool present) {
    const Elb& e = r_.elbs_[static_cast<std::size_t>(elb)];
    const bool trace = e.family >= 0;  // the fleet's reprogramming is counted, not traced
    const bool scale = kind == Kind::kScale;
    if (kind == Kind::kRestore) {
      program(elb, -1, present);
      if (trace) {
        r_.sim_.record("elb", "restored", {{"node", e.name}});
      }
      return;
    }
    if (present) {
      r_.cp_successes_->inc();
      // Programmed from intact state: the nodes it touches get the full backend list.
      program(elb, scale_node, true);
      if (trace) {
        r_.sim_.record("elb", "reprogram",
                       {{"node", e.name}, {"from_missing_state", false}, {"scale", scale}});
      }
      return;
    }
    r_.cp_failures_->inc();
    if (r_.params_.control_plane.fail_static) {
      if (trace) {
        r_.sim_.record("elb", "refused", {{"node", e.name}, {"reason", "state missing"}});
      }
      return;
    }
    // §4.1: "it used the missing state and misconfigured that ELB".
    program(elb, scale_node, false);
    if (trace) {
      const int nodes = scale ? 1 : static_cast<int>(e.nodes.size());
      int broken = nodes;  // the nodes this workflow breaks, and those broken already
      for (std::size_t i = 0; i < e.broken.size(); ++i) {
        broken += scale && static_cast<int>(i) != scale_node && e.broken[i] ? 1 : 0;
      }
      r_.sim_.record("elb", "reprogram",
                     {{"node", e.name}, {"from_missing_state", true}, {"scale", scale},
                      {"nodes", nodes}, {"backends", 0}, {"broken_nodes", broken}});
    }
  }

  /// A replacement node asks for its configuration: from the ELB's record in the store. No
  /// answer when the store does not answer (the node asks again).
  void replacement(ProgramMe q, world::Responder reply) {
    r_.cp_requests_->inc();
    read_state(q.elb, [this, q, reply = std::move(reply)](std::optional<bool> present) {
      const Elb& e = r_.elbs_[static_cast<std::size_t>(q.elb)];
      if (!present) {
        store_failed(q.elb, false);
        return;
      }
      if (*present) {
        r_.cp_successes_->inc();
        reply.reply(world::Payload::make<ProgramAnswer>(ProgramAnswer{false, true}),
                    kProgramBytes);
        return;
      }
      r_.cp_failures_->inc();
      // Fail static: the control plane refuses to program from missing state and gives the
      // new node the ELB's last known good configuration.
      const bool fail_static = r_.params_.control_plane.fail_static;
      reply.reply(world::Payload::make<ProgramAnswer>(ProgramAnswer{fail_static, false}),
                  kProgramBytes);
      if (e.family >= 0) {
        r_.sim_.record("elb", fail_static ? "refused" : "reprogram",
                       {{"node", e.name}, {"from_missing_state", true}, {"replacement", true}});
      }
    });
  }

  ElbRegion& r_;
  world::Node* n_ = nullptr;
  bool begun_ = false;
};

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
  control_plane_ = w.add_node(w.add_host(zones[0], "elb-control-plane", hp), "elb-control-plane",
                              "elb/control-plane", [this](world::Node&) {
                                return std::make_unique<ControlPlane>(*this);
                              });
  state_store_ = w.add_node(w.add_host(zones[1], "elb-state-store", hp), "elb-state-store",
                            "elb/state-store",
                            [this](world::Node&) { return std::make_unique<StateStore>(*this); });
  // Each LB node on its own host, round robin over the zones.
  auto add_elb = [&](Elb e, int nodes) {
    const int index = static_cast<int>(elbs_.size());
    e.broken.assign(static_cast<std::size_t>(nodes), false);
    e.programmed.assign(static_cast<std::size_t>(nodes), true);
    for (int i = 0; i < nodes; ++i) {
      const std::string name = fmt::format("{}-{}", e.name, i);
      const auto host = w.add_host(zones[static_cast<std::size_t>(i % 3)], name, hp);
      // A first boot has the full list; a node booting after a crash is a replacement that
      // asks the control plane to program it from the ELB's state.
      e.nodes.push_back(w.add_node(host, name, "elb/" + e.name, [this, index, i](world::Node&) {
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
  if (params_.failover.enabled) {
    add_other_region(region, w.topology().region_of(internet));
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
  world_.reset();  // the programs go first: they hold references into the region
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
  return elbs_[static_cast<std::size_t>(elb)].nodes[static_cast<std::size_t>(node)];
}

ElbRegion::ControlPlane* ElbRegion::control_plane() const {
  auto& n = world_->node(control_plane_);
  return n.up() ? static_cast<ControlPlane*>(n.program()) : nullptr;
}

void ElbRegion::start() {
  started_ = true;
  if (auto* cp = control_plane()) {
    cp->begin();  // else it begins when its node boots
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
          elbs_[f].state = true;
          order_restore(static_cast<int>(f));
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

bool ElbRegion::touch(int elb, bool scale) {
  auto* cp = control_plane();
  if (cp == nullptr) {
    return false;
  }
  // On the control plane's own timer, so a paused control plane runs it when it resumes.
  cp->node().after(Duration::zero(), [cp, elb, scale] {
    cp->workflow(elb, scale ? ControlPlane::Kind::kScale : ControlPlane::Kind::kPush);
  });
  return true;
}

void ElbRegion::order_restore(int elb) {
  auto* cp = control_plane();
  if (cp == nullptr) {
    pending_restores_.push_back(elb);
    return;
  }
  cp->node().after(Duration::zero(),
                   [cp, elb] { cp->workflow(elb, ControlPlane::Kind::kRestore); });
}

int ElbRegion::broken_nodes(int elb) const {
  // Programmed with an empty list, or a replacement not programmed yet: either black-holes.
  const Elb& e = elbs_[static_cast<std::size_t>(elb)];
  int n = 0;
  for (std::size_t i = 0; i < e.broken.size(); ++i) {
    n += e.broken[i] || !e.programmed[i] ? 1 : 0;
  }
  return n;
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
      sim_.schedule_after(delay, [this, e] { order_restore(e); });
    }
  }
  sim_.schedule_after(over, [this] {
    workflows_enabled_ = true;
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
  const Elb& e = elbs_[static_cast<std::size_t>(family_elb(family))];
  const auto node = e.nodes[traffic_rng_.below(e.nodes.size())];  // DNS round robin
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
