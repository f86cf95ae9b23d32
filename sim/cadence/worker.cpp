// Workers: long-poll the history hosts for decision tasks (replay the trip workflow against the
// history and answer with the new commands) and activity tasks (find a driver, heartbeating
// while dispatch searches; charge the payment with an idempotency key; send the rating
// request). A worker keeps nothing a crash could lose: a decision or an attempt it was running
// times out at the history host and goes to another worker.
#include "internal.hpp"

#include <fmt/format.h>

namespace faultline::sim::cadence::detail {

namespace {

using world::Node;
using world::NodeId;
using world::Payload;
using world::RpcResult;

class WorkerProgram final : public world::Program {
public:
  WorkerProgram(CadenceCluster::State& s, int index, Node& node)
      : s_(s), p_(s.p), node_(node), index_(index) {}

  // Each poller is bound to one history host, as Cadence's pollers poll one task list
  // partition: a poller that wandered from host to host would sit out its long poll at an idle
  // host while another's queue grew (tried: decisions then waited 30 s at the median).
  void start(Node& node) override {
    const int hosts = static_cast<int>(s_.history_ids.size());
    for (int h = 0; h < hosts; ++h) {
      for (int k = 0; k < p_.workers.decision_pollers; ++k) {
        node.spawn(decision_poller(h));
      }
    }
    for (int k = 0; k < p_.workers.activity_pollers; ++k) {
      node.spawn(activity_poller((k + index_) % hosts));
    }
  }

private:
  NodeId host_at(int h) const { return s_.history_ids[static_cast<std::size_t>(h)]; }
  Duration poll_call_timeout() const {
    return p_.history.poll_timeout + p_.workers.rpc_timeout;
  }

  Task<void> decision_poller(int h) {
    for (;;) {
      Payload poll = Payload::make<PollDecision>();
      RpcResult r = co_await node_.call(host_at(h), std::move(poll), kSmallBytes,
                                        poll_call_timeout());
      const DecisionTask* t = r.ok() ? r.payload.get<DecisionTask>() : nullptr;
      if (t == nullptr) {
        co_await node_.sleep(p_.workers.rpc_timeout);  // the host is down: try the next later
        continue;
      }
      if (t->empty) {
        continue;
      }
      const std::shared_ptr<const WorkflowHistory> history = t->history;
      co_await node_.compute(p_.workers.decision_cpu);
      // Replay: the trip's code runs from the top against the whole history.
      WorkflowContext ctx(*history);
      WorkflowCode code = trip_workflow(ctx, {p_.trip.arrival_timeout, p_.trip.completion_timeout});
      Decision d = ctx.decide(code);
      ++s_.decisions;
      s_.replayed_events += history->events.size();
      s_.sim->metrics().counter("cadence/decisions").inc();
      if (d.nondeterministic > 0) {
        s_.nondeterministic += static_cast<std::uint64_t>(d.nondeterministic);
        s_.sim->metrics().counter("cadence/nondeterminism").inc(
            static_cast<std::uint64_t>(d.nondeterministic));
      }
      CompleteDecision done{history->id, t->task_id, std::move(d.commands)};
      Payload answer = Payload::make<CompleteDecision>(std::move(done));
      co_await node_.call(host_of(history->id), std::move(answer), kSmallBytes,
                          p_.workers.rpc_timeout);
    }
  }

  NodeId host_of(const std::string& workflow) const {
    return s_.history_ids[static_cast<std::size_t>(
        shard_of(workflow, static_cast<int>(s_.history_ids.size())))];
  }

  Task<void> activity_poller(int h) {
    for (;;) {
      Payload poll = Payload::make<PollActivity>();
      RpcResult r = co_await node_.call(host_at(h), std::move(poll), kSmallBytes,
                                        poll_call_timeout());
      const ActivityTask* t = r.ok() ? r.payload.get<ActivityTask>() : nullptr;
      if (t == nullptr) {
        co_await node_.sleep(p_.workers.rpc_timeout);
        continue;
      }
      if (t->empty) {
        continue;
      }
      const ActivityTask task = *t;
      std::optional<ActivityOutcome> out;
      if (task.name == "find_driver") {
        out = co_await find_driver(task);
      } else if (task.name == "process_payment") {
        out = co_await process_payment(task);
      } else {
        out = co_await send_rating(task);
      }
      if (!out) {
        continue;  // the history host says the attempt is over: give it up
      }
      CompleteActivity done{task.workflow, task.seq, task.attempt, out->ok, out->result};
      for (int tries = 0; tries < 3; ++tries) {
        Payload answer = Payload::make<CompleteActivity>(done);
        RpcResult c = co_await node_.call(host_of(task.workflow), std::move(answer), kSmallBytes,
                                          p_.workers.rpc_timeout);
        if (c.ok()) {
          break;
        }
      }
    }
  }

  /// Asks dispatch until a driver is matched, heartbeating to the history host between asks.
  /// nullopt: the heartbeat was refused (the attempt timed out; another worker may have it).
  Task<std::optional<ActivityOutcome>> find_driver(const ActivityTask& task) {
    for (;;) {
      Payload ask = Payload::make<MatchDriver>(MatchDriver{task.input});
      RpcResult r = co_await node_.call(s_.dispatch_id, std::move(ask), kSmallBytes,
                                        p_.trip.call_timeout);
      if (const MatchReply* m = r.ok() ? r.payload.get<MatchReply>() : nullptr;
          m != nullptr && m->matched) {
        co_return ActivityOutcome{true, m->driver};
      }
      if (p_.trip.find_driver.heartbeat_timeout > Duration::zero()) {
        Payload beat = Payload::make<Heartbeat>(Heartbeat{task.workflow, task.seq, task.attempt});
        RpcResult hb = co_await node_.call(host_of(task.workflow), std::move(beat), kSmallBytes,
                                           p_.workers.rpc_timeout);
        const HistoryAck* a = hb.ok() ? hb.payload.get<HistoryAck>() : nullptr;
        if (a != nullptr && !a->ok) {
          co_return std::nullopt;
        }
      }
      co_await node_.sleep(p_.trip.match_poll);
    }
  }

  /// Charges the trip. The key is the same for every attempt of this activity, so the payment
  /// service charges once however often the attempt is retried.
  Task<std::optional<ActivityOutcome>> process_payment(const ActivityTask& task) {
    const std::string key =
        p_.trip.payment_key ? fmt::format("{}/{}", task.workflow, task.seq) : std::string{};
    const std::int64_t client = s_.next_client++;
    s_.payment_requests.invoke(client, node_.sim().now(),
                               check::Op::request(task.workflow, key));
    Payload charge = Payload::make<Charge>(Charge{key, task.workflow, p_.trip.amount_cents});
    RpcResult r = co_await node_.call(s_.payment_id, std::move(charge), kSmallBytes,
                                      p_.trip.call_timeout);
    const ChargeReply* c = r.ok() ? r.payload.get<ChargeReply>() : nullptr;
    if (c != nullptr && c->ok) {
      s_.payment_requests.ok(client, node_.sim().now());
      co_return ActivityOutcome{true, c->charge};
    }
    if (c != nullptr || r.status == world::RpcStatus::kUnreachable) {
      s_.payment_requests.fail(client, node_.sim().now());  // busy or refused: not charged now
      co_return ActivityOutcome{false, c != nullptr ? "payment busy" : "payment unreachable"};
    }
    s_.payment_requests.info(client, node_.sim().now());  // timed out: charged or not
    co_return ActivityOutcome{false, "payment timeout"};
  }

  Task<std::optional<ActivityOutcome>> send_rating(const ActivityTask& task) {
    Payload ask = Payload::make<RatingRequest>(RatingRequest{task.workflow, task.input});
    RpcResult r = co_await node_.call(s_.dispatch_id, std::move(ask), kSmallBytes,
                                      p_.trip.call_timeout);
    co_return ActivityOutcome{r.ok(), r.ok() ? "sent" : "rating request failed"};
  }

  CadenceCluster::State& s_;
  const CadenceParams& p_;
  Node& node_;
  int index_;
};

}  // namespace

world::ProgramFactory worker_factory(CadenceCluster::State& s, int index) {
  return [&s, index](Node& node) { return std::make_unique<WorkerProgram>(s, index, node); };
}

}  // namespace faultline::sim::cadence::detail
