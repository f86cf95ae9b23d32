// A tier instance: admission queue, service time on the host CPU (sliced when the tier has a
// time slice), cancellation of queued copies of hedged requests, calls to its dependencies.
//
// A request waiting in the admission queue is a small ticket (who asked, which request, when),
// not a suspended coroutine: its coroutine ends when it is queued and a new one starts when it
// leaves the queue. A metastable storm queues hundreds of thousands of requests; as coroutine
// frames (about 1 KB each with their completion and ticket) they made the run's memory and its
// cost per event grow with the cluster (issue #20). The events are the same ones in the same
// order: a spawn where a queued coroutine's resumption was scheduled.
#include "caller.hpp"

#include <faultline/resilience/admission.hpp>
#include <faultline/task.hpp>
#include <faultline/world/timed_waits.hpp>

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace faultline::sim::services {

namespace {

Duration draw(const ServiceTime& s, const TailAtScaleProfile* profile, Rng& rng) {
  const double mean_s = s.mean.to_seconds();
  switch (s.kind) {
    case ServiceTime::Kind::fixed:
      return s.mean;
    case ServiceTime::Kind::exponential:
      return Duration::from_seconds(rng.exponential(mean_s));
    case ServiceTime::Kind::lognormal: {
      // mu chosen so that the lognormal's mean is `mean`.
      const double mu = std::log(mean_s) - s.sigma * s.sigma / 2.0;
      return Duration::from_seconds(rng.lognormal(mu, s.sigma));
    }
    case ServiceTime::Kind::tail_at_scale:
      return profile->sample(rng);
  }
  return s.mean;
}

class InstanceProgram : public world::Program {
public:
  InstanceProgram(ServiceGraph::Impl& g, TierInfo& tier, Node& node)
      : tier_(tier), node_(node),
        rng_(node.sim().rng(incarnation_name("services/" + node.name(), node.incarnation()))),
        queue_(tier.params->admission) {
    const auto& a = tier.params->admission;
    concurrency_ = a.max_concurrency > 0 ? a.max_concurrency : tier.params->cores;
    for (const auto& d : tier.params->dependencies) {
      const std::string edge = fmt::format("{}->{}", tier.params->name, d.tier);
      deps_.push_back({d.calls, g.edges.at(edge).get(),
                       std::make_unique<Caller>(node, d.policy, g.tier(d.tier),
                                                *g.edges.at(edge), rng_.fork(edge)),
                       d.fallback,
                       &node.sim().metrics().counter(
                           fmt::format("services/tier/{}/degraded", tier.params->name))});
    }
  }

  void start(Node& node) override {
    world::spawn_timed_wait_threads(node, tier_.params->timed_wait_threads,
                                    tier_.params->timed_wait, tier_.params->cpu_slice);
    node.on_request([this](const Message& m, world::Responder r) {
      const auto& req = m.payload.as<SvcRequest>();
      node_.spawn(arrive(Ticket{r, m.src, req.tie_peer, req.id, node_.sim().now(), 0}));
    });
    node.on_message([this](const Message& m) {
      if (const auto* c = m.payload.get<SvcCancel>()) {
        cancel(c->caller, c->id);
      }
    });
  }

  std::size_t queue_length() const { return queue_.size(); }

private:
  /// A request, from its arrival until its reply.
  struct Ticket {  // 64 bytes on a 64-bit machine
    world::Responder responder;
    NodeId caller;
    NodeId tie_peer;  // a tied request's other copy, told to drop it when this one starts
    std::uint64_t id = 0;
    Time arrived{};
    std::uint64_t seq = 0;  // tells a queued ticket from a repeated copy (cancels only)
  };
  using Key = std::pair<std::uint32_t, std::uint64_t>;
  struct KeyHash {
    std::size_t operator()(const Key& k) const noexcept {
      return static_cast<std::size_t>((k.second ^ (std::uint64_t{k.first} << 40)) *
                                       0x9e3779b97f4a7c15ULL);
    }
  };

  void reply(const Ticket& t, Outcome o) const {
    t.responder.reply(Payload::make<SvcReply>(SvcReply{o}), tier_.params->response_bytes);
  }

  /// A request this instance will not serve (cancelled, or shed): a failure, answered at once.
  void refuse(const Ticket& t) const {
    tier_.metrics->failures->inc();
    reply(t, Outcome::overloaded);
  }

  void cancel(NodeId caller, std::uint64_t id) {
    auto it = waiting_.find(Key{caller.value(), id});
    if (it != waiting_.end()) {
      cancelled_.insert(it->second);
      return;
    }
    // The copy has not arrived yet (a tied copy sent after a short delay): remember the
    // cancellation for a while so the copy is dropped on arrival.
    const Time now = node_.sim().now();
    if (early_cancels_.size() > 4096) {
      std::erase_if(early_cancels_,
                    [now](const auto& e) { return now - e.second > Duration::seconds(1); });
    }
    early_cancels_[Key{caller.value(), id}] = now;
  }

  /// A request's arrival (as its own event, where the world would start a request coroutine):
  /// dropped if cancelled early, served at once if a slot is free, else queued or shed.
  Task<void> arrive(Ticket t) {
    Simulation& sim = node_.sim();
    TierMetrics& tm = *tier_.metrics;
    tm.arrivals->inc();
    const Key key{t.caller.value(), t.id};
    if (auto it = early_cancels_.find(key); it != early_cancels_.end()) {
      early_cancels_.erase(it);
      tm.cancelled->inc();
      refuse(t);
      co_return;
    }
    if (active_ < concurrency_ && queue_.empty()) {
      ++active_;
      co_await serve(t);
      co_return;
    }
    if (!tier_.params->queue_when_busy) {
      tm.shed->inc();  // no admission queue: every slot is taken
      refuse(t);
      co_return;
    }
    t.seq = ++next_seq_;
    if (queue_.push(sim.now(), t)) {
      tm.shed->inc();
      refuse(t);
      co_return;
    }
    if (tier_.receives_cancels) {
      waiting_.insert_or_assign(key, t.seq);  // as operator[]: a repeated copy replaces
    }
  }

  /// A queued request left the queue (release(), as its own event): served, or refused when it
  /// was cancelled or shed.
  Task<void> dequeued(Ticket t, bool go) {
    if (!go) {
      refuse(t);
      co_return;
    }
    co_await serve(t);
  }

  /// An admitted request holding a slot: its work, its dependencies, its reply.
  Task<void> serve(const Ticket& t) {
    Simulation& sim = node_.sim();
    TierMetrics& tm = *tier_.metrics;
    tm.queue_wait->record(sim.now() - t.arrived);
    if (t.tie_peer.valid()) {
      node_.send(t.tie_peer, Payload::make<SvcCancel>(SvcCancel{t.caller, t.id}), kCancelBytes);
    }
    co_await run_sliced(
        draw(tier_.params->service_time, tier_.profile ? &*tier_.profile : nullptr, rng_));
    Outcome out = Outcome::ok;
    for (auto& d : deps_) {
      for (int c = 0; c < d.calls && out == Outcome::ok; ++c) {
        d.edge->requests->inc();
        const Time call_start = sim.now();
        if (co_await d.caller->call(std::nullopt) != Outcome::ok) {
          d.edge->failures->inc();
          if (d.fallback) {
            d.degraded->inc();  // answered with a degraded local result; the request goes on
          } else {
            out = tier_.params->dependency_failure;  // a failed dependency fails the request
          }
        } else {
          d.edge->successes->inc();
          d.edge->latency->record(sim.now() - call_start);
        }
      }
    }
    if (out == Outcome::ok && tier_.hook != nullptr && !co_await run_hook()) {
      out = tier_.params->dependency_failure;
    }
    tm.served->inc();
    if (out == Outcome::ok) {
      tm.successes->inc();
      tm.latency->record(sim.now() - t.arrived);
    } else {
      tm.failures->inc();
    }
    release();
    reply(t, out);
  }

  /// The tier's hook (ServiceGraph::set_tier_hook), awaited. Its completion may come from
  /// outside this process (a cache server's answer): once this incarnation is gone it is
  /// ignored.
  Task<bool> run_hook() {
    Completion<bool> done(node_.sim());
    std::weak_ptr<bool> alive = alive_;
    (*tier_.hook)(node_, [done, alive](bool ok) mutable {
      if (!alive.expired()) {
        done.set(ok);
      }
    });
    const std::optional<bool> ok = co_await done.wait();
    co_return ok.value_or(false);
  }

  /// Request work on the host CPU, in slices when the tier has a time slice (round robin with
  /// whatever else is runnable), else in one piece.
  Task<void> run_sliced(Duration work) {
    const Duration slice = tier_.params->cpu_slice;
    if (slice <= Duration::zero()) {
      co_await node_.compute(work);
      co_return;
    }
    while (work > Duration::zero()) {
      const Duration now_work = std::min(work, slice);
      co_await node_.compute(now_work);
      work -= now_work;
    }
  }

  /// A request finished: hand its slot to the next waiting request, shedding stale ones.
  void release() {
    Simulation& sim = node_.sim();
    TierMetrics& tm = *tier_.metrics;
    --active_;
    std::vector<Ticket> shed;
    while (active_ < concurrency_) {
      auto next = queue_.pop(sim.now(), shed);
      if (!next) {
        break;
      }
      if (forget(*next)) {
        tm.cancelled->inc();
        node_.spawn(dequeued(std::move(*next), false));
        continue;
      }
      ++active_;
      node_.spawn(dequeued(std::move(*next), true));
    }
    for (auto& t : shed) {
      forget(t);
      tm.shed->inc();
      node_.spawn(dequeued(std::move(t), false));
    }
  }

  /// A queued ticket left the queue: drop it from the cancellation index. True if it was
  /// cancelled while queued.
  bool forget(const Ticket& t) {
    if (!tier_.receives_cancels) {
      return false;
    }
    waiting_.erase(Key{t.caller.value(), t.id});
    return cancelled_.erase(t.seq) > 0;
  }

  struct Dep {
    int calls;
    CallerMetrics* edge;  // the edge's logical calls, as a client population's requests
    std::unique_ptr<Caller> caller;
    bool fallback = false;
    Counter* degraded = nullptr;  // services/tier/<t>/degraded
  };

  TierInfo& tier_;
  Node& node_;
  Rng rng_;
  resilience::AdmissionQueue<Ticket> queue_;
  /// Queued tickets' seq by (caller, request id), and the seqs of the queued tickets that were
  /// cancelled, kept only when the tier receives cancels. Hash containers: only looked up and
  /// erased by key, never iterated, so their order cannot reach a run (an ordered map's tree
  /// walk was 33 % of a 16x storm run's CPU, issue #20).
  std::unordered_map<Key, std::uint64_t, KeyHash> waiting_;
  std::unordered_set<std::uint64_t> cancelled_;
  std::uint64_t next_seq_ = 0;
  std::map<Key, Time> early_cancels_;
  int concurrency_ = 1;
  int active_ = 0;
  std::vector<Dep> deps_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // expires with this incarnation
};

}  // namespace

std::unique_ptr<world::Program> make_instance_program(ServiceGraph::Impl& g, TierInfo& tier,
                                                      Node& node) {
  return std::make_unique<InstanceProgram>(g, tier, node);
}

std::size_t instance_queue_length(const world::Program* program) {
  const auto* p = dynamic_cast<const InstanceProgram*>(program);
  return p ? p->queue_length() : 0;
}

}  // namespace faultline::sim::services
