// CadenceCluster: builds the nodes of the trip workflow's world and answers the probes' and
// checkers' questions from the histories the history hosts kept.
#include "internal.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace faultline::sim::cadence {

using world::NodeId;

const CadenceMetricNames& metric_names() {
  static const CadenceMetricNames names{"cadence/trips/requests", "cadence/trips/successes",
                                        "cadence/trips/failures", "cadence/trips/attempts",
                                        "cadence/trips/latency"};
  return names;
}

std::vector<std::string> CadenceCluster::groups() {
  return {"apps", "history", "payment", "riders", "workers"};
}

CadenceCluster::CadenceCluster(Simulation& sim, CadenceParams params)
    : s_(std::make_unique<State>()) {
  params.validate();
  State& s = *s_;
  s.sim = &sim;
  s.p = std::move(params);
  s.world = std::make_unique<world::World>(sim);
  world::World& w = *s.world;
  const auto region = w.add_region("us-west");
  const std::vector<world::ZoneId> zones = {w.add_zone(region, "us-west-1a"),
                                            w.add_zone(region, "us-west-1b"),
                                            w.add_zone(region, "us-west-1c")};
  auto zone = [&](int i) { return zones[static_cast<std::size_t>(i % 3)]; };
  // Riders' and drivers' phones and the card network are outside the datacenter.
  const auto internet = w.add_zone(w.add_region("internet"), "internet-1");
  const auto psp = w.add_zone(w.add_region("payments"), "payments-1");
  auto add = [&](world::ZoneId z, const std::string& name, const std::string& group,
                 world::ProgramFactory f) {
    return w.add_node(w.add_host(z, name), name, group, std::move(f));
  };
  for (int i = 0; i < s.p.history.hosts; ++i) {
    s.history_ids.push_back(add(zone(i), fmt::format("history-{}", i), "history",
                                detail::history_factory(s, i)));
  }
  for (int i = 0; i < s.p.workers.workers; ++i) {
    s.worker_ids.push_back(
        add(zone(i), fmt::format("worker-{}", i), "workers", detail::worker_factory(s, i)));
  }
  s.payment_id = add(psp, "payment", "payment", detail::payment_factory(s));
  s.dispatch_id = add(internet, "dispatch", "apps", detail::dispatch_factory(s));
  s.riders_id = add(internet, "riders", "riders", detail::riders_factory(s));
}

CadenceCluster::~CadenceCluster() {
  s_->world.reset();  // the programs go first: they hold references into the state
}

world::World& CadenceCluster::world() { return *s_->world; }
const CadenceParams& CadenceCluster::params() const { return s_->p; }
NodeId CadenceCluster::history_node(int i) const {
  return s_->history_ids.at(static_cast<std::size_t>(i));
}
NodeId CadenceCluster::worker_node(int i) const {
  return s_->worker_ids.at(static_cast<std::size_t>(i));
}
NodeId CadenceCluster::payment_node() const { return s_->payment_id; }
const std::vector<std::string>& CadenceCluster::acknowledged_starts() const {
  return s_->acknowledged;
}
const check::History& CadenceCluster::payment_requests() const { return s_->payment_requests; }
const std::vector<check::Effect>& CadenceCluster::payment_charges() const { return s_->charges; }

std::vector<WorkflowHistory> CadenceCluster::histories() const {
  std::vector<WorkflowHistory> out;
  for (NodeId id : s_->history_ids) {
    const world::Node& n = s_->world->node(id);
    if (s_->p.history.persistence == Persistence::kMemory) {
      if (const auto* m = detail::memory_histories(n)) {
        for (const auto& [wf, h] : *m) {
          out.push_back(h);
        }
      }
      continue;
    }
    if (const std::string* log = n.host().disk().durable("history.log")) {
      for (WorkflowHistory& h : decode_log(*log)) {
        out.push_back(std::move(h));
      }
    }
  }
  std::sort(out.begin(), out.end(),
            [](const WorkflowHistory& a, const WorkflowHistory& b) { return a.id < b.id; });
  return out;
}

std::uint64_t CadenceCluster::open_workflows() const {
  std::set<std::string> closed;
  for (const WorkflowHistory& h : histories()) {
    if (h.closed()) {
      closed.insert(h.id);
    }
  }
  std::uint64_t n = 0;
  for (const std::string& id : s_->acknowledged) {
    n += closed.contains(id) ? 0 : 1;
  }
  return n;
}

std::uint64_t CadenceCluster::lost_workflows() const {
  std::set<std::string> known;
  for (const WorkflowHistory& h : histories()) {
    known.insert(h.id);
  }
  std::uint64_t n = 0;
  for (const std::string& id : s_->acknowledged) {
    n += known.contains(id) ? 0 : 1;
  }
  return n;
}

std::uint64_t CadenceCluster::double_charges() const {
  std::uint64_t n = 0;
  for (const auto& [trip, count] : s_->charges_per_trip) {
    n += static_cast<std::uint64_t>(count - 1);
  }
  return n;
}

std::uint64_t CadenceCluster::overdue_timers(Duration lateness) const {
  const Time now = s_->sim->now();
  std::uint64_t n = 0;
  for (const WorkflowHistory& h : histories()) {
    std::map<std::int64_t, Time> pending;
    for (const HistoryEvent& e : h.events) {
      if (e.kind == EventKind::kTimerStarted) {
        pending[e.seq] = e.at;
      } else if (e.kind == EventKind::kTimerFired || e.kind == EventKind::kTimerCanceled) {
        pending.erase(e.seq);
      }
    }
    for (const auto& [seq, at] : pending) {
      n += at + lateness <= now ? 1 : 0;
    }
  }
  return n;
}

std::uint64_t CadenceCluster::nondeterminism() const { return s_->nondeterministic; }

}  // namespace faultline::sim::cadence
