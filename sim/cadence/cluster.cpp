// CadenceCluster: builds the nodes of the trip workflow's world and answers the probes' and
// checkers' questions from the histories the history hosts kept.
#include <faultline/world/layout.hpp>
#include "internal.hpp"

#include <fmt/format.h>

#include <algorithm>

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
  const auto zones =
      world::add_region_with_zones(w, "us-west", {"us-west-1a", "us-west-1b", "us-west-1c"});
  auto zone = [&](int i) { return world::round_robin(zones, i); };
  // Riders' and drivers' phones and the card network are outside the datacenter.
  const auto internet = w.add_zone(w.add_region("internet"), "internet-1");
  const auto psp = w.add_zone(w.add_region("payments"), "payments-1");
  auto add = [&](world::ZoneId z, const std::string& name, const std::string& group,
                 world::ProgramFactory f) {
    return world::add_node_on_own_host(w, z, name, group, std::move(f));
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

namespace {

void summarise(CadenceCluster::State::Summary& sum, const HistoryEvent& e) {
  if (e.kind == EventKind::kWorkflowCompleted) {
    sum.closed = true;
  } else if (e.kind == EventKind::kTimerStarted) {
    sum.timers[e.seq] = e.at;
  } else if (e.kind == EventKind::kTimerFired || e.kind == EventKind::kTimerCanceled) {
    sum.timers.erase(e.seq);
  }
}

/// Per workflow, what the probes need of the histories, brought up to date.
const std::map<std::string, CadenceCluster::State::Summary, std::less<>>& summaries(
    CadenceCluster::State& s) {
  if (s.p.history.persistence == Persistence::kMemory) {
    s.summaries.clear();  // what the live hosts hold now (small: every crash empties one)
    for (NodeId id : s.history_ids) {
      if (const auto* m = detail::memory_histories(s.world->node(id))) {
        for (const auto& [wf, h] : *m) {
          auto& sum = s.summaries[wf];
          for (const HistoryEvent& e : h.events) {
            summarise(sum, e);
          }
        }
      }
    }
    return s.summaries;
  }
  s.log_read.resize(s.history_ids.size(), 0);
  for (std::size_t i = 0; i < s.history_ids.size(); ++i) {
    const std::string* log = s.world->node(s.history_ids[i]).host().disk().durable("history.log");
    if (log == nullptr || log->size() <= s.log_read[i]) {
      continue;
    }
    s.log_read[i] += decode_lines(std::string_view(*log).substr(s.log_read[i]),
                                  [&](std::string_view id, HistoryEvent&& e) {
                                    auto it = s.summaries.find(id);
                                    if (it == s.summaries.end()) {
                                      it = s.summaries
                                               .emplace(std::string(id),
                                                        CadenceCluster::State::Summary{})
                                               .first;
                                    }
                                    summarise(it->second, e);
                                  });
  }
  return s.summaries;
}

}  // namespace

std::uint64_t CadenceCluster::open_workflows() const {
  const auto& sums = summaries(*s_);
  std::uint64_t n = 0;
  for (const std::string& id : s_->acknowledged) {
    auto it = sums.find(id);
    n += it != sums.end() && it->second.closed ? 0 : 1;
  }
  return n;
}

std::uint64_t CadenceCluster::lost_workflows() const {
  const auto& sums = summaries(*s_);
  std::uint64_t n = 0;
  for (const std::string& id : s_->acknowledged) {
    n += sums.contains(id) ? 0 : 1;
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
  for (const auto& [id, sum] : summaries(*s_)) {
    for (const auto& [seq, at] : sum.timers) {
      n += at + lateness <= now ? 1 : 0;
    }
  }
  return n;
}

std::uint64_t CadenceCluster::nondeterminism() const { return s_->nondeterministic; }

}  // namespace faultline::sim::cadence
