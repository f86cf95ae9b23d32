// The history service: one program per history host, owning the workflows of its shard.
//
// Every change to a workflow is an event appended to the host's log. With kFsync the events of
// a request are appended and fsynced before anything depends on them: the reply, the tasks they
// create, the timers they arm. Everything in memory (task lists, pending activities and their
// attempts, timers, outstanding decisions) is rebuilt from the log when the host restarts, so a
// crash loses no acknowledged event, and a timer that came due while the host was down fires as
// soon as it is back.
#include "internal.hpp"

#include <faultline/probe.hpp>
#include <faultline/resilience/backoff.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <set>

namespace faultline::sim::cadence::detail {

namespace {

const ProbePoint kProbeRecovered("cadence/history/open-workflow-recovered");
const ProbePoint kProbeRetried("cadence/activity/retried");

using world::Message;
using world::Node;
using world::Payload;
using world::Responder;

constexpr std::string_view kLog = "history.log";

class HistoryProgram final : public world::Program {
public:
  HistoryProgram(CadenceCluster::State& s, int index, Node& node)
      : s_(s), p_(s.p), node_(node),
        rng_(node.sim().rng(fmt::format("cadence/history/{}/{}", index, node.incarnation()))),
        // Task ids of one incarnation never equal those of another: a worker's late answer
        // to a task of the previous incarnation is refused.
        next_task_(node.incarnation() << 32) {}

  void start(Node& node) override {
    recover();
    node.on_request([this](const Message& m, Responder r) { serve(m, std::move(r)); });
    if (p_.history.persistence == Persistence::kAckThenSync) {
      node.spawn(flush_loop());
    }
  }

  const std::map<std::string, WorkflowHistory>& memory() const { return memory_; }

private:
  struct Activity {
    std::string name;
    std::string input;
    std::int64_t attempt = 1;
    bool dispatched = false;
    Time started{};
    Time last_beat{};
  };
  struct Wf {
    WorkflowHistory h;
    bool closed = false;
    bool decision_out = false;
    bool decision_dispatched = false;
    bool needs_decision = false;
    std::uint64_t decision_id = 0;
    std::int64_t next_cmd = 0;
    std::map<std::int64_t, Activity> acts;
    std::map<std::int64_t, Time> timers;
    std::set<std::string> signals;
  };
  struct Poll {
    std::uint64_t id;
    Responder r;
  };

  // --- recovery ------------------------------------------------------------------------------
  void recover() {
    if (p_.history.persistence == Persistence::kMemory) {
      return;  // nothing survives
    }
    const std::string* log = node_.host().disk().read(kLog);
    if (log == nullptr) {
      return;
    }
    for (WorkflowHistory& h : decode_log(*log)) {
      Wf& w = wfs_[h.id];
      w.h.id = h.id;
      for (HistoryEvent& e : h.events) {
        apply(w, e);
        w.h.events.push_back(std::move(e));
      }
      if (w.closed) {
        w.h.events.clear();  // the log is the record; memory keeps only open workflows
        continue;
      }
      const std::string& id = w.h.id;
      FAULTLINE_PROBE(node_.sim(), kProbeRecovered);  // an open workflow picked up from the log
      schedule_decision(w);
      for (auto& [seq, a] : w.acts) {
        enqueue_activity_at(id, seq, a.attempt, a.started);
      }
      for (const auto& [seq, at] : w.timers) {
        arm_timer(id, seq, at);
      }
    }
  }

  /// Applies an event to the workflow's mutable state (recovery and live paths alike).
  void apply(Wf& w, const HistoryEvent& e) {
    switch (e.kind) {
      case EventKind::kWorkflowStarted: break;
      case EventKind::kActivityScheduled:
        w.acts[e.seq] = Activity{e.name, e.data, 1, false, e.time, e.time};
        w.next_cmd = std::max(w.next_cmd, e.seq + 1);
        break;
      case EventKind::kActivityAttemptFailed:
        if (auto it = w.acts.find(e.seq); it != w.acts.end()) {
          it->second.attempt = e.attempt + 1;
          it->second.dispatched = false;
          it->second.started = e.at;  // recovery: the retry is due then
        }
        break;
      case EventKind::kActivityCompleted:
      case EventKind::kActivityFailed: w.acts.erase(e.seq); break;
      case EventKind::kTimerStarted:
        w.timers[e.seq] = e.at;
        w.next_cmd = std::max(w.next_cmd, e.seq + 1);
        break;
      case EventKind::kTimerFired: w.timers.erase(e.seq); break;
      case EventKind::kTimerCanceled:
        w.timers.erase(e.seq);
        w.next_cmd = std::max(w.next_cmd, e.cmd + 1);
        break;
      case EventKind::kSignaled: w.signals.insert(e.name); break;
      case EventKind::kWorkflowCompleted:
        w.closed = true;
        w.acts.clear();
        w.timers.clear();
        w.next_cmd = std::max(w.next_cmd, e.seq + 1);
        break;
    }
  }

  /// Appends an event: in memory now, to the pending log text `batch` for the commit.
  void append(Wf& w, HistoryEvent e, std::string& batch) {
    e.time = node_.sim().now();
    apply(w, e);
    if (p_.history.persistence != Persistence::kMemory) {
      batch += encode_line(w.h.id, e);
    }
    if (p_.history.persistence == Persistence::kMemory) {
      memory_[w.h.id].id = w.h.id;
      memory_[w.h.id].events.push_back(e);
    }
    w.h.events.push_back(std::move(e));
  }

  /// Makes `batch` durable (per the persistence mode), then runs `then`: nothing that depends
  /// on an event happens before the event is on disk.
  void commit(std::string batch, std::function<void()> then) {
    if (p_.history.persistence != Persistence::kFsync || batch.empty()) {
      if (!batch.empty()) {
        node_.host().disk().append_now(kLog, batch);
      }
      then();
      return;
    }
    node_.spawn(commit_durably(std::move(batch), std::move(then)));
  }
  Task<void> commit_durably(std::string batch, std::function<void()> then) {
    world::Disk& disk = node_.host().disk();
    disk.append_now(kLog, batch);
    std::string file(kLog);  // a local: g++ 12 mishandles class temporaries in co_await operands
    co_await disk.fsync(std::move(file));
    PassGate gate{node_};
    co_await gate;
    then();
  }
  Task<void> flush_loop() {
    for (;;) {
      co_await node_.sleep(p_.history.flush_interval);
      std::string file(kLog);
      co_await node_.host().disk().fsync(std::move(file));
    }
  }

  // --- requests ------------------------------------------------------------------------------
  void serve(const Message& m, Responder r) {
    if (p_.history.request_cpu == Duration::zero()) {
      handle(m, std::move(r));
      return;
    }
    node_.compute(p_.history.request_cpu,
                  [this, m, r = std::move(r)]() mutable { handle(m, std::move(r)); });
  }

  void handle(const Message& m, Responder r) {
    {
      if (auto* q = m.payload.get<PollDecision>()) {
        (void)q;
        poll(decision_polls_, std::move(r), true);
      } else if (auto* a = m.payload.get<PollActivity>()) {
        (void)a;
        poll(activity_polls_, std::move(r), false);
      } else if (auto* st = m.payload.get<StartWorkflow>()) {
        start_workflow(*st, std::move(r));
      } else if (auto* sg = m.payload.get<SignalWorkflow>()) {
        signal(*sg, std::move(r));
      } else if (auto* d = m.payload.get<CompleteDecision>()) {
        complete_decision(*d, std::move(r));
      } else if (auto* c = m.payload.get<CompleteActivity>()) {
        complete_activity(*c, std::move(r));
      } else if (auto* h = m.payload.get<Heartbeat>()) {
        heartbeat(*h, std::move(r));
      }
    }
  }

  static void ack(const Responder& r, bool ok, bool not_found = false) {
    r.reply(Payload::make<HistoryAck>(HistoryAck{ok, not_found}), kSmallBytes);
  }

  void start_workflow(const StartWorkflow& st, Responder r) {
    if (wfs_.contains(st.workflow)) {
      ack(r, true);  // a retried start: already there
      return;
    }
    Wf& w = wfs_[st.workflow];
    w.h.id = st.workflow;
    std::string batch;
    append(w, HistoryEvent{EventKind::kWorkflowStarted, -1, -1, 0, "trip", st.input, {}, {}},
           batch);
    const std::string id = st.workflow;
    commit(std::move(batch), [this, id, r = std::move(r)] {
      ack(r, true);
      if (auto it = wfs_.find(id); it != wfs_.end()) {
        schedule_decision(it->second);
      }
    });
  }

  void signal(const SignalWorkflow& sg, Responder r) {
    auto it = wfs_.find(sg.workflow);
    if (it == wfs_.end()) {
      ack(r, false, true);
      return;
    }
    Wf& w = it->second;
    if (w.closed || w.signals.contains(sg.signal)) {
      ack(r, true);  // the workflow is over, or a retried signal: nothing to do
      return;
    }
    std::string batch;
    append(w, HistoryEvent{EventKind::kSignaled, -1, -1, 0, sg.signal, {}, {}, {}}, batch);
    s_.sim->metrics().counter("cadence/signals").inc();
    const std::string id = sg.workflow;
    commit(std::move(batch), [this, id, r = std::move(r)] {
      ack(r, true);
      decide_later(id);
    });
  }

  // --- decisions -----------------------------------------------------------------------------
  void decide_later(const std::string& id) {
    if (auto it = wfs_.find(id); it != wfs_.end()) {
      schedule_decision(it->second);
    }
  }

  void schedule_decision(Wf& w) {
    if (w.closed) {
      return;
    }
    if (w.decision_out) {
      w.needs_decision = true;  // after the outstanding one completes
      return;
    }
    w.decision_out = true;
    w.decision_dispatched = false;
    w.needs_decision = false;
    w.decision_id = ++next_task_;
    decision_q_.push_back({w.h.id, w.decision_id, node_.sim().now()});
    dispatch_decisions();
  }

  void dispatch_decisions() {
    while (!decision_polls_.empty() && !decision_q_.empty()) {
      auto [id, task, queued] = decision_q_.front();
      decision_q_.pop_front();
      auto it = wfs_.find(id);
      if (it == wfs_.end() || it->second.closed || it->second.decision_id != task ||
          it->second.decision_dispatched) {
        continue;
      }
      Wf& w = it->second;
      w.decision_dispatched = true;
      s_.sim->metrics().histogram("cadence/decisions/queue_wait").record(
          (node_.sim().now() - queued).ns());
      Poll poll = std::move(decision_polls_.front());
      decision_polls_.pop_front();
      DecisionTask t{false, task, std::make_shared<const WorkflowHistory>(w.h)};
      poll.r.reply(Payload::make<DecisionTask>(std::move(t)),
                   kSmallBytes * (1 + w.h.events.size()));
      node_.after(p_.history.decision_timeout, [this, id, task] {
        auto wit = wfs_.find(id);
        if (wit != wfs_.end() && wit->second.decision_out && wit->second.decision_id == task) {
          s_.sim->metrics().counter("cadence/decisions/timeouts").inc();
          wit->second.decision_out = false;
          schedule_decision(wit->second);
        }
      });
    }
  }

  void complete_decision(const CompleteDecision& d, Responder r) {
    auto it = wfs_.find(d.workflow);
    if (it == wfs_.end() || it->second.closed || !it->second.decision_out ||
        it->second.decision_id != d.task_id) {
      ack(r, false);  // a stale task (timed out and handed to another worker)
      return;
    }
    Wf& w = it->second;
    std::string batch;
    std::vector<std::int64_t> new_acts;
    std::vector<std::int64_t> new_timers;
    for (const Command& c : d.commands) {
      if (w.closed || c.seq < w.next_cmd) {
        continue;  // already recorded
      }
      switch (c.kind) {
        case Command::Kind::kScheduleActivity:
          append(w, HistoryEvent{EventKind::kActivityScheduled, c.seq, -1, 0, c.name, c.data, {},
                                 {}},
                 batch);
          new_acts.push_back(c.seq);
          break;
        case Command::Kind::kStartTimer:
          append(w, HistoryEvent{EventKind::kTimerStarted, c.seq, -1, 0, {}, {}, {},
                                 node_.sim().now() + c.after},
                 batch);
          new_timers.push_back(c.seq);
          break;
        case Command::Kind::kCancelTimer:
          if (w.timers.contains(c.timer_seq)) {
            append(w, HistoryEvent{EventKind::kTimerCanceled, c.timer_seq, c.seq, 0, {}, {}, {},
                                   {}},
                   batch);
          } else {
            w.next_cmd = std::max(w.next_cmd, c.seq + 1);  // it fired first: nothing to cancel
          }
          break;
        case Command::Kind::kComplete:
          append(w, HistoryEvent{EventKind::kWorkflowCompleted, c.seq, -1, 0, {}, c.data, {}, {}},
                 batch);
          break;
      }
    }
    w.decision_out = false;
    const std::string id = d.workflow;
    commit(std::move(batch), [this, id, new_acts, new_timers, r = std::move(r)] {
      ack(r, true);
      auto wit = wfs_.find(id);
      if (wit == wfs_.end()) {
        return;
      }
      Wf& cw = wit->second;
      if (cw.closed) {
        on_closed(cw);
        return;
      }
      for (std::int64_t seq : new_acts) {
        if (auto a = cw.acts.find(seq); a != cw.acts.end()) {
          enqueue_activity(id, seq, a->second.attempt);
        }
      }
      for (std::int64_t seq : new_timers) {
        if (auto t = cw.timers.find(seq); t != cw.timers.end()) {
          arm_timer(id, seq, t->second);
        }
      }
      if (cw.needs_decision) {
        schedule_decision(cw);
      }
    });
  }

  void on_closed(Wf& w) {
    const auto& names = metric_names();
    const std::string& end = w.h.events.back().data;
    s_.sim->metrics().counter(end == "completed" ? names.successes : names.failures).inc();
    s_.sim->metrics().counter(fmt::format("cadence/ended/{}", end)).inc();
    if (auto st = s_.started_at.find(w.h.id); st != s_.started_at.end()) {
      s_.sim->metrics().histogram(names.latency).record((node_.sim().now() - st->second).ns());
    }
    if (p_.history.persistence != Persistence::kMemory) {
      w.h.events.clear();
      w.h.events.shrink_to_fit();
    }
  }

  // --- activities ----------------------------------------------------------------------------
  const ActivityOptions& options(const std::string& name) const {
    if (name == "find_driver") {
      return p_.trip.find_driver;
    }
    if (name == "process_payment") {
      return p_.trip.payment;
    }
    return p_.trip.rating;
  }

  void enqueue_activity(const std::string& id, std::int64_t seq, std::int64_t attempt) {
    activity_q_.push_back({id, seq, attempt});
    dispatch_activities();
  }
  void enqueue_activity_at(const std::string& id, std::int64_t seq, std::int64_t attempt,
                           Time at) {
    const Time now = node_.sim().now();
    if (at <= now) {
      enqueue_activity(id, seq, attempt);
      return;
    }
    node_.after(at - now, [this, id, seq, attempt] { enqueue_activity(id, seq, attempt); });
  }

  void dispatch_activities() {
    while (!activity_polls_.empty() && !activity_q_.empty()) {
      const QueuedActivity q = activity_q_.front();
      activity_q_.pop_front();
      Activity* a = find_activity(q.id, q.seq, q.attempt);
      if (a == nullptr || a->dispatched) {
        continue;
      }
      a->dispatched = true;
      a->started = a->last_beat = node_.sim().now();
      Poll poll = std::move(activity_polls_.front());
      activity_polls_.pop_front();
      poll.r.reply(Payload::make<ActivityTask>(
                       ActivityTask{false, q.id, q.seq, q.attempt, a->name, a->input}),
                   kSmallBytes);
      s_.sim->metrics().counter("cadence/activities/attempts").inc();
      watch_activity(q.id, q.seq, q.attempt, first_deadline(*a) - node_.sim().now());
    }
  }

  Activity* find_activity(const std::string& id, std::int64_t seq, std::int64_t attempt) {
    auto it = wfs_.find(id);
    if (it == wfs_.end() || it->second.closed) {
      return nullptr;
    }
    auto a = it->second.acts.find(seq);
    if (a == it->second.acts.end() || a->second.attempt != attempt) {
      return nullptr;
    }
    return &a->second;
  }

  Time first_deadline(const Activity& a) const {
    const ActivityOptions& o = options(a.name);
    Time d = a.started + o.start_to_close;
    if (o.heartbeat_timeout > Duration::zero()) {
      d = std::min(d, a.last_beat + o.heartbeat_timeout);
    }
    return d;
  }

  /// Start-to-close and heartbeat timeouts, one timer per attempt re-armed at the next deadline.
  void watch_activity(const std::string& id, std::int64_t seq, std::int64_t attempt,
                      Duration in) {
    node_.after(in, [this, id, seq, attempt] {
      Activity* a = find_activity(id, seq, attempt);
      if (a == nullptr || !a->dispatched) {
        return;
      }
      const Time due = first_deadline(*a);
      if (due > node_.sim().now()) {
        watch_activity(id, seq, attempt, due - node_.sim().now());
        return;
      }
      s_.sim->metrics().counter("cadence/activities/timeouts").inc();
      attempt_failed(id, seq, "timeout", Responder{});
    });
  }

  void heartbeat(const Heartbeat& h, Responder r) {
    Activity* a = find_activity(h.workflow, h.seq, h.attempt);
    if (a == nullptr || !a->dispatched) {
      ack(r, false);  // the attempt timed out: the worker should give up
      return;
    }
    a->last_beat = node_.sim().now();
    ack(r, true);
  }

  void complete_activity(const CompleteActivity& c, Responder r) {
    Activity* a = find_activity(c.workflow, c.seq, c.attempt);
    if (a == nullptr || !a->dispatched) {
      ack(r, false);  // a late answer for an attempt that already timed out
      return;
    }
    if (!c.ok) {
      attempt_failed(c.workflow, c.seq, c.result, std::move(r));
      return;
    }
    Wf& w = wfs_[c.workflow];
    std::string batch;
    append(w, HistoryEvent{EventKind::kActivityCompleted, c.seq, -1, c.attempt, {}, c.result, {},
                           {}},
           batch);
    const std::string id = c.workflow;
    commit(std::move(batch), [this, id, r = std::move(r)] {
      ack(r, true);
      decide_later(id);
    });
  }

  /// The attempt failed (an error or a timeout): retry per the activity's policy, or fail it.
  void attempt_failed(const std::string& id, std::int64_t seq, const std::string& reason,
                      Responder r) {
    Wf& w = wfs_[id];
    Activity& a = w.acts[seq];
    const ActivityOptions& o = options(a.name);
    const std::int64_t attempt = a.attempt;
    std::string batch;
    if (attempt < o.retry.max_attempts) {
      resilience::Backoff backoff(o.retry);
      const Duration delay = backoff.delay(static_cast<int>(attempt), rng_);
      append(w, HistoryEvent{EventKind::kActivityAttemptFailed, seq, -1, attempt, {}, reason, {},
                             node_.sim().now() + delay},
             batch);
      s_.sim->metrics().counter("cadence/activities/retries").inc();
      FAULTLINE_PROBE(*s_.sim, kProbeRetried);
      commit(std::move(batch), [this, id, seq, attempt, delay, r = std::move(r)] {
        if (r) {
          ack(r, true);
        }
        node_.after(delay, [this, id, seq, attempt] { enqueue_activity(id, seq, attempt + 1); });
      });
      return;
    }
    append(w, HistoryEvent{EventKind::kActivityFailed, seq, -1, attempt, {}, reason, {}, {}},
           batch);
    commit(std::move(batch), [this, id, r = std::move(r)] {
      if (r) {
        ack(r, true);
      }
      decide_later(id);
    });
  }

  // --- timers --------------------------------------------------------------------------------
  void arm_timer(const std::string& id, std::int64_t seq, Time at) {
    const Time now = node_.sim().now();
    node_.after(at > now ? at - now : Duration::zero(), [this, id, seq] {
      auto it = wfs_.find(id);
      if (it == wfs_.end() || !it->second.timers.contains(seq)) {
        return;  // canceled, or the workflow ended
      }
      std::string batch;
      append(it->second, HistoryEvent{EventKind::kTimerFired, seq, -1, 0, {}, {}, {}, {}}, batch);
      s_.sim->metrics().counter("cadence/timers/fired").inc();
      commit(std::move(batch), [this, id] { decide_later(id); });
    });
  }

  // --- long polls ----------------------------------------------------------------------------
  void poll(std::deque<Poll>& polls, Responder r, bool decision) {
    const std::uint64_t id = ++next_poll_;
    polls.push_back({id, std::move(r)});
    if (decision) {
      dispatch_decisions();
    } else {
      dispatch_activities();
    }
    node_.after(p_.history.poll_timeout, [this, id, decision] {
      auto& list = decision ? decision_polls_ : activity_polls_;
      for (auto it = list.begin(); it != list.end(); ++it) {
        if (it->id == id) {
          if (decision) {
            it->r.reply(Payload::make<DecisionTask>(), kSmallBytes);
          } else {
            it->r.reply(Payload::make<ActivityTask>(), kSmallBytes);
          }
          list.erase(it);
          return;
        }
      }
    });
  }

  struct QueuedActivity {
    std::string id;
    std::int64_t seq;
    std::int64_t attempt;
  };

  CadenceCluster::State& s_;
  const CadenceParams& p_;
  Node& node_;
  Rng rng_;
  std::map<std::string, Wf> wfs_;
  std::map<std::string, WorkflowHistory> memory_;  // kMemory: what a checker sees
  struct QueuedDecision {
    std::string id;
    std::uint64_t task;
    Time queued;
  };
  std::deque<QueuedDecision> decision_q_;
  std::deque<QueuedActivity> activity_q_;
  std::deque<Poll> decision_polls_;
  std::deque<Poll> activity_polls_;
  std::uint64_t next_task_ = 0;
  std::uint64_t next_poll_ = 0;
};

}  // namespace

world::ProgramFactory history_factory(CadenceCluster::State& s, int index) {
  return [&s, index](Node& node) { return std::make_unique<HistoryProgram>(s, index, node); };
}

const std::map<std::string, WorkflowHistory>* memory_histories(const world::Node& node) {
  auto* p = dynamic_cast<const HistoryProgram*>(node.program());
  return p == nullptr ? nullptr : &p->memory();
}

int shard_of(std::string_view id, int hosts) {
  std::uint32_t h = 2166136261u;
  for (char c : id) {
    h ^= static_cast<unsigned char>(c);
    h *= 16777619u;
  }
  return static_cast<int>(h % static_cast<std::uint32_t>(hosts));
}

}  // namespace faultline::sim::cadence::detail
