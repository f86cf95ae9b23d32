// One region's ELB service: LB nodes, the control plane and its state store (see service.hpp).
#include <faultline/sim/elb/service.hpp>

#include <faultline/probe.hpp>

#include <fmt/format.h>

#include <functional>
#include <memory>
#include <optional>
#include <utility>

namespace faultline::sim::elb {

namespace {
const ProbePoint kProbeFromMissingState("elb/control-plane/programmed-from-missing-state");
const ProbePoint kProbeRefused("elb/control-plane/refused-missing-state");
const ProbePoint kProbeReplacementProgrammed("elb/lb-node/replacement-programmed");
const ProbePoint kProbeRestored("elb/control-plane/restore-applied");

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
}  // namespace

/// One LB node: routes by the backend list it was last programmed with (`Elb::broken`, the
/// node's own configuration). A node that boots again after a crash is a replacement: it has no
/// backend list until the control plane programs it, and asks for one until it gets it.
class ElbService::LbNode final : public world::Program {
public:
  LbNode(ElbService& s, int elb, int node) : s_(s), elb_(elb), node_(node) {}
  void start(world::Node& n) override {
    n.on_request([this, &n](const world::Message& m, world::Responder reply) {
      const Elb& e = s_.at(elb_);
      const auto i = static_cast<std::size_t>(node_);
      if (!e.programmed[i] || e.broken[i]) {
        return;  // no (or an empty) backend list: black-holed, the caller times out
      }
      s_.serve_(n, elb_, m, std::move(reply));
    });
    n.on_message([this](const world::Message& m) {
      if (const auto* p = m.payload.get<ProgramNode>()) {
        set(p->backends);
      }
    });
    if (n.incarnation() > 1) {
      s_.at(elb_).programmed[static_cast<std::size_t>(node_)] = false;
      ask(n);
    }
  }

private:
  void set(bool backends) {
    Elb& e = s_.at(elb_);
    e.broken[static_cast<std::size_t>(node_)] = !backends;
    e.programmed[static_cast<std::size_t>(node_)] = true;
  }
  /// A replacement asks the control plane (which reads the store) for its configuration.
  void ask(world::Node& n) {
    const auto& cp = s_.params_;
    n.call(s_.control_plane_, world::Payload::make<ProgramMe>(ProgramMe{elb_, node_}),
           kStateRequestBytes, cp.call_timeout * 2, [this, &n](world::RpcResult res) {
             if (!res.ok()) {
               n.after(s_.params_.retry_after, [this, &n] { ask(n); });
               return;
             }
             const auto& a = res.payload.as<ProgramAnswer>();
             FAULTLINE_PROBE(s_.sim_, kProbeReplacementProgrammed);
             if (a.refused) {
               // Fail static: the ELB's last known good configuration.
               s_.at(elb_).programmed[static_cast<std::size_t>(node_)] = true;
             } else {
               set(a.backends);
             }
           });
  }

  ElbService& s_;
  int elb_, node_;
};

/// The state store: one record per ELB, on disk (it outlives the store's own crash, so it is
/// kept in `Elb::state`); it answers the control plane's reads.
class ElbService::StateStore final : public world::Program {
public:
  explicit StateStore(ElbService& s) : s_(s) {}
  void start(world::Node& n) override {
    n.on_request([this](const world::Message& m, world::Responder reply) {
      const auto& q = m.payload.as<GetState>();
      reply.reply(world::Payload::make<StateAnswer>(StateAnswer{s_.at(q.elb).state}),
                  kStateReplyBytes);
    });
  }

private:
  ElbService& s_;
};

/// The control plane: runs every ELB's workflows on its own timers (so a crashed control plane
/// runs none until it is back), reads the ELB's record from the state store, and sends each node
/// it reprograms its configuration; answers replacements; runs the operators' restores.
class ElbService::ControlPlane final : public world::Program {
public:
  enum class Kind { kScale, kPush, kRestore };
  explicit ControlPlane(ElbService& s) : s_(s) {}

  void start(world::Node& n) override {
    n_ = &n;
    n.on_request([this](const world::Message& m, world::Responder reply) {
      replacement(m.payload.as<ProgramMe>(), std::move(reply));
    });
    if (s_.started_) {
      begin();
    }
  }
  world::Node& node() { return *n_; }

  /// Workflows start (at the service's start, or when the control plane is back up), and the
  /// restores ordered while it was down run.
  void begin() {
    if (begun_) {
      return;
    }
    begun_ = true;
    for (int e = 0; e < s_.elbs(); ++e) {
      schedule_touch(e);
    }
    for (int e : std::exchange(s_.pending_restores_, {})) {
      workflow(e, Kind::kRestore);
    }
  }

  void workflow(int elb, Kind kind) {
    const Elb& e = s_.at(elb);
    if (kind != Kind::kRestore) {
      s_.requests_->inc();
    }
    const int scale_node =
        kind == Kind::kScale ? static_cast<int>(s_.rng_.below(e.nodes.size())) : -1;
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
    const Duration mean = s_.at(elb).touch_mean;
    const double gap = s_.rng_.exponential(static_cast<double>(mean.ns()));
    n_->after(Duration::nanos(static_cast<std::int64_t>(gap) + 1), [this, elb] {
      if (s_.workflows_enabled_) {
        workflow(elb, s_.rng_.uniform01() < s_.params_.scale_ratio ? Kind::kScale : Kind::kPush);
      }
      schedule_touch(elb);
    });
  }

  /// The ELB's record, or nullopt when the store did not answer within the timeout.
  void read_state(int elb, std::function<void(std::optional<bool>)> done) {
    n_->call(s_.state_store_, world::Payload::make<GetState>(GetState{elb}), kStateRequestBytes,
             s_.params_.call_timeout, [done = std::move(done)](world::RpcResult res) {
               done(res.ok() ? std::optional<bool>(res.payload.as<StateAnswer>().present)
                             : std::nullopt);
             });
  }

  /// The store did not answer: a restore is tried again (the operators' order stands); a
  /// workflow or a replacement's request fails as an API error.
  void store_failed(int elb, bool restore) {
    if (restore) {
      n_->after(s_.params_.retry_after, [this, elb] { workflow(elb, Kind::kRestore); });
      return;
    }
    s_.failures_->inc();
    const Elb& e = s_.at(elb);
    if (e.traced) {
      s_.sim_.record("elb", "workflow-failed",
                     {{"node", e.name}, {"reason", "state store did not answer"}});
    }
  }

  /// Sends the nodes their configuration: node `node`, or every node (-1).
  void program(int elb, int node, bool backends) {
    const Elb& e = s_.at(elb);
    for (std::size_t i = 0; i < e.nodes.size(); ++i) {
      if (node < 0 || static_cast<std::size_t>(node) == i) {
        n_->send(e.nodes[i], world::Payload::make<ProgramNode>(ProgramNode{backends}),
                 kProgramBytes);
      }
    }
  }

  void apply(int elb, Kind kind, int scale_node, bool present) {
    const Elb& e = s_.at(elb);
    const bool trace = e.traced;
    const bool scale = kind == Kind::kScale;
    if (kind == Kind::kRestore) {
      FAULTLINE_PROBE(s_.sim_, kProbeRestored);
      program(elb, -1, present);
      if (trace) {
        s_.sim_.record("elb", "restored", {{"node", e.name}});
      }
      return;
    }
    if (present) {
      s_.successes_->inc();
      // Programmed from intact state: the nodes it touches get the full backend list.
      program(elb, scale_node, true);
      if (trace) {
        s_.sim_.record("elb", "reprogram",
                       {{"node", e.name}, {"from_missing_state", false}, {"scale", scale}});
      }
      return;
    }
    s_.failures_->inc();
    if (s_.params_.fail_static) {
      FAULTLINE_PROBE(s_.sim_, kProbeRefused);
      if (trace) {
        s_.sim_.record("elb", "refused", {{"node", e.name}, {"reason", "state missing"}});
      }
      return;
    }
    // §4.1: "it used the missing state and misconfigured that ELB".
    FAULTLINE_PROBE(s_.sim_, kProbeFromMissingState);
    program(elb, scale_node, false);
    if (trace) {
      const int nodes = scale ? 1 : static_cast<int>(e.nodes.size());
      int broken = nodes;  // the nodes this workflow breaks, and those broken already
      for (std::size_t i = 0; i < e.broken.size(); ++i) {
        broken += scale && static_cast<int>(i) != scale_node && e.broken[i] ? 1 : 0;
      }
      s_.sim_.record("elb", "reprogram",
                     {{"node", e.name}, {"from_missing_state", true}, {"scale", scale},
                      {"nodes", nodes}, {"backends", 0}, {"broken_nodes", broken}});
    }
  }

  /// A replacement node asks for its configuration: from the ELB's record in the store. No
  /// answer when the store does not answer (the node asks again).
  void replacement(ProgramMe q, world::Responder reply) {
    s_.requests_->inc();
    read_state(q.elb, [this, q, reply = std::move(reply)](std::optional<bool> present) {
      const Elb& e = s_.at(q.elb);
      if (!present) {
        store_failed(q.elb, false);
        return;
      }
      if (*present) {
        s_.successes_->inc();
        reply.reply(world::Payload::make<ProgramAnswer>(ProgramAnswer{false, true}),
                    kProgramBytes);
        return;
      }
      s_.failures_->inc();
      // Fail static: the control plane refuses to program from missing state and gives the
      // new node the ELB's last known good configuration.
      const bool fail_static = s_.params_.fail_static;
      reply.reply(world::Payload::make<ProgramAnswer>(ProgramAnswer{fail_static, false}),
                  kProgramBytes);
      if (e.traced) {
        s_.sim_.record("elb", fail_static ? "refused" : "reprogram",
                       {{"node", e.name}, {"from_missing_state", true}, {"replacement", true}});
      }
    });
  }

  ElbService& s_;
  world::Node* n_ = nullptr;
  bool begun_ = false;
};

ElbService::ElbService(Simulation& sim, world::World& world, ControlPlaneParams params,
                       ServiceLayout layout, Serve serve)
    : sim_(sim),
      world_(world),
      params_(std::move(params)),
      layout_(std::move(layout)),
      serve_(std::move(serve)),
      rng_(sim.rng(layout_.rng)) {
  params_.validate();
  auto& w = world_;
  const auto& l = layout_;
  control_plane_ = w.add_node(w.add_host(l.control_plane_zone, l.control_plane, l.host),
                              l.control_plane, l.control_plane_group, [this](world::Node&) {
                                return std::make_unique<ControlPlane>(*this);
                              });
  state_store_ = w.add_node(w.add_host(l.state_store_zone, l.state_store, l.host), l.state_store,
                            l.state_store_group,
                            [this](world::Node&) { return std::make_unique<StateStore>(*this); });
  auto& m = sim_.metrics();
  requests_ = &m.counter(l.metrics + "/requests");
  successes_ = &m.counter(l.metrics + "/successes");
  failures_ = &m.counter(l.metrics + "/failures");
}

int ElbService::add_elb(std::string name, bool traced, int nodes, Duration touch_mean,
                        const std::vector<world::ZoneId>& zones) {
  const int index = elbs();
  Elb e;
  e.name = std::move(name);
  e.traced = traced;
  e.touch_mean = touch_mean;
  e.broken.assign(static_cast<std::size_t>(nodes), false);
  e.programmed.assign(static_cast<std::size_t>(nodes), true);
  const std::string group = "elb/" + e.name;
  for (int i = 0; i < nodes; ++i) {
    const std::string node = fmt::format("{}-{}", e.name, i);
    const auto host =
        world_.add_host(zones[static_cast<std::size_t>(i) % zones.size()], node, layout_.host);
    // A first boot has the full list; a node booting after a crash is a replacement that asks
    // the control plane to program it from the ELB's state.
    e.nodes.push_back(world_.add_node(host, node, group, [this, index, i](world::Node&) {
      return std::make_unique<LbNode>(*this, index, i);
    }));
  }
  elbs_.push_back(std::move(e));
  return index;
}

ElbService::ControlPlane* ElbService::control_plane() const {
  auto& n = world_.node(control_plane_);
  return n.up() ? static_cast<ControlPlane*>(n.program()) : nullptr;
}

void ElbService::start() {
  started_ = true;
  if (auto* cp = control_plane()) {
    cp->begin();  // else it begins when its node boots
  }
}

bool ElbService::touch(int elb, bool scale) {
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

void ElbService::order_restore(int elb) {
  auto* cp = control_plane();
  if (cp == nullptr) {
    pending_restores_.push_back(elb);
    return;
  }
  cp->node().after(Duration::zero(),
                   [cp, elb] { cp->workflow(elb, ControlPlane::Kind::kRestore); });
}

int ElbService::broken_nodes(int elb) const {
  // Programmed with an empty list, or a replacement not programmed yet: either black-holes.
  const Elb& e = at(elb);
  int n = 0;
  for (std::size_t i = 0; i < e.broken.size(); ++i) {
    n += e.broken[i] || !e.programmed[i] ? 1 : 0;
  }
  return n;
}

int ElbService::impacted() const {
  int n = 0;
  for (int e = 0; e < elbs(); ++e) {
    n += broken_nodes(e) > 0 ? 1 : 0;
  }
  return n;
}

}  // namespace faultline::sim::elb
