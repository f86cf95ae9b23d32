// Each device family's own ELB in every region (model-facts §4.1-§4.2): sim/elb's ElbService
// (LB nodes, a control plane and its state store) in front of the region's Zuul tier.
//
// A programmed LB node forwards a device's request (or a health checker's probe) to the next
// Zuul instance of its region, round robin, skipping an instance that refused a connection for
// the family's `edge_eject_for` (the ELB's backend health checks), and passes Zuul's answer
// back; a Zuul instance that refused or did not answer in the family's timeout is answered as
// the ELB's own 502/504 (a failure the device may retry). A node programmed from missing state
// has no backends and does not answer: the device waits out its timeout.
//
// The state loss (elb.state_loss) deletes the families' records in one region's store; the
// damage then grows as workflows touch those ELBs, as in sim/elb's story.
#include "internal.hpp"

#include <faultline/probe.hpp>

#include <fmt/format.h>

namespace faultline::sim::zuul {

namespace {
const ProbePoint kProbeBackendEjected("zuul/elb/backend-ejected");

using world::Node;
using world::Payload;

void forward(EdgeStack::State& s, int region, Node& lb, int family, const world::Message& m,
             world::Responder reply) {
  const auto& zuuls = s.regions[static_cast<std::size_t>(region)].zuul_ids;
  auto& table = s.elb->backends;
  const auto id = lb.id().value();
  if (table.size() <= id) {
    table.resize(id + 1);
  }
  auto& b = table[id];
  if (b.ejected_until.empty()) {
    b.ejected_until.assign(zuuls.size(), Time::zero());
  }
  const Time now = s.sim->now();
  std::size_t i = b.cursor++ % zuuls.size();
  for (std::size_t k = 1; k < zuuls.size() && b.ejected_until[i] > now; ++k) {
    i = b.cursor++ % zuuls.size();
  }
  const bool probe = m.payload.is<HealthProbe>();
  const auto& f = s.p.families[static_cast<std::size_t>(family)];
  lb.call(zuuls[i], m.payload, probe ? kProbeBytes : kRequestBytes, f.timeout,
          [&s, id, i, probe, eject = f.edge_eject_for, reply](world::RpcResult res) {
            if (res.ok()) {
              reply.reply(res.payload, probe ? kProbeBytes : kReplyBytes);
              return;
            }
            if (res.status == world::RpcStatus::kUnreachable) {
              FAULTLINE_PROBE(*s.sim, kProbeBackendEjected);
              s.elb->backends[id].ejected_until[i] = s.sim->now() + eject;
            }
            reply.reply(Payload::make<EdgeReply>(EdgeReply{EdgeStatus::kFailed}), kReplyBytes);
          });
}

world::HostParams lb_host(const world::World& w) {
  world::HostParams h = w.params().host_defaults;  // no CPU samples, no NTP (stack.cpp)
  h.cpu.cores = 2;
  return h;
}

void lose_state(EdgeStack::State& s, int region) {
  const auto& l = s.p.elb.state_loss;
  auto& svc = *s.elb->services[static_cast<std::size_t>(region)];
  const std::string& where = s.regions[static_cast<std::size_t>(region)].params.name;
  if (l.change_managed) {
    s.sim->record("elb", "deletion-refused", {{"region", where}, {"reason", "change management"}});
    return;
  }
  for (const auto& name : l.families) {
    svc.delete_state(s.family_index(name));
  }
  s.sim->record("elb", "state-deleted",
                {{"region", where}, {"elbs", static_cast<std::int64_t>(l.families.size())}});
}

void restore_state(EdgeStack::State& s, int region) {
  auto& svc = *s.elb->services[static_cast<std::size_t>(region)];
  for (int e = 0; e < svc.elbs(); ++e) {
    svc.restore_state(e);
    if (svc.broken_nodes(e) > 0) {
      svc.order_restore(e);
    }
  }
  svc.set_workflows_enabled(true);
  s.sim->record("elb", "state-restored",
                {{"region", s.regions[static_cast<std::size_t>(region)].params.name}});
}

}  // namespace

std::string elb_name(const EdgeStack::State& s, int region, int family) {
  return region_stem("api-" + s.p.families[static_cast<std::size_t>(family)].name,
                     s.regions[static_cast<std::size_t>(region)].params, region);
}

void start_elbs(EdgeStack::State& s) {
  s.elb = std::make_unique<ElbEdge>();
  world::World& w = *s.world;
  for (std::size_t r = 0; r < s.regions.size(); ++r) {
    const int ri = static_cast<int>(r);
    const auto& rs = s.regions[r];
    auto in = [&](std::string_view stem) { return region_stem(stem, rs.params, ri); };
    elb::ServiceLayout layout;
    layout.control_plane = in("elb-control-plane");
    layout.control_plane_group = in("elb/control-plane");
    layout.state_store = in("elb-state-store");
    layout.state_store_group = in("elb/state-store");
    layout.control_plane_zone = rs.zones[0];
    layout.state_store_zone = rs.zones[1];
    layout.host = lb_host(w);
    layout.metrics = in("elb/control-plane");
    layout.rng = in("zuul/elb/workflows");
    EdgeStack::State* sp = &s;
    auto svc = std::make_unique<elb::ElbService>(
        *s.sim, w, s.p.elb.control_plane, layout,
        [sp, ri](Node& lb, int elb, const world::Message& m, world::Responder reply) {
          forward(*sp, ri, lb, elb, m, std::move(reply));  // ELB f is family f's
        });
    for (std::size_t f = 0; f < s.p.families.size(); ++f) {
      svc->add_elb(elb_name(s, ri, static_cast<int>(f)), true, s.p.elb.nodes, s.p.elb.touch_mean,
                   rs.zones);
    }
    svc->start();
    s.elb->services.push_back(std::move(svc));
  }
  const auto& l = s.p.elb.state_loss;
  if (l.at == Duration::zero()) {
    return;
  }
  const int region = l.region.empty() ? 0 : s.p.region_index(l.region);
  EdgeStack::State* sp = &s;
  s.sim->schedule_at(Time::zero() + l.at, [sp, region] { lose_state(*sp, region); });
  if (l.workflows_disabled_at > Duration::zero()) {
    s.sim->schedule_at(Time::zero() + l.workflows_disabled_at, [sp, region] {
      sp->elb->services[static_cast<std::size_t>(region)]->set_workflows_enabled(false);
      sp->sim->record("elb", "workflows-disabled",
                      {{"region", sp->regions[static_cast<std::size_t>(region)].params.name}});
    });
  }
  if (l.restored_at > Duration::zero()) {
    s.sim->schedule_at(Time::zero() + l.restored_at, [sp, region] { restore_state(*sp, region); });
  }
}

const std::vector<world::NodeId>& edge_targets(const EdgeStack::State& s, int region, int family) {
  if (!s.elb) {
    return s.regions[static_cast<std::size_t>(region)].zuul_ids;
  }
  return s.elb->services[static_cast<std::size_t>(region)]->nodes(family);
}

}  // namespace faultline::sim::zuul
