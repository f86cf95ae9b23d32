// A tier instance: admission queue, service time on the host CPU (sliced when the tier has a
// time slice), cancellation of queued copies of hedged requests, calls to its dependencies.
#include "caller.hpp"

#include <faultline/resilience/admission.hpp>
#include <faultline/task.hpp>
#include <faultline/world/timed_waits.hpp>

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <unordered_map>
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
    node.on_request([this](Message m) -> Task<world::Reply> { return serve(std::move(m)); });
    node.on_message([this](const Message& m) {
      if (const auto* c = m.payload.get<SvcCancel>()) {
        cancel(c->caller, c->id);
      }
    });
  }

  std::size_t queue_length() const { return queue_.size(); }

private:
  struct Ticket {
    Completion<bool> go;
    NodeId caller;
    std::uint64_t id = 0;
    bool cancelled = false;
  };
  using Key = std::pair<std::uint32_t, std::uint64_t>;
  struct KeyHash {
    std::size_t operator()(const Key& k) const noexcept {
      return static_cast<std::size_t>((k.second ^ (std::uint64_t{k.first} << 40)) *
                                       0x9e3779b97f4a7c15ULL);
    }
  };

  world::Reply reply(Outcome o) const {
    return world::Reply{Payload::make<SvcReply>(SvcReply{o}), tier_.params->response_bytes};
  }

  void cancel(NodeId caller, std::uint64_t id) {
    auto it = waiting_.find(Key{caller.value(), id});
    if (it != waiting_.end()) {
      it->second->cancelled = true;
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

  Task<world::Reply> serve(Message m) {
    Simulation& sim = node_.sim();
    TierMetrics& tm = *tier_.metrics;
    tm.arrivals->inc();
    const auto& req = m.payload.as<SvcRequest>();
    const Key key{m.src.value(), req.id};
    const Time arrived = sim.now();
    if (auto it = early_cancels_.find(key); it != early_cancels_.end()) {
      early_cancels_.erase(it);
      tm.cancelled->inc();
      tm.failures->inc();
      co_return reply(Outcome::overloaded);
    }
    if (active_ < concurrency_ && queue_.empty()) {
      ++active_;
    } else if (!tier_.params->queue_when_busy) {
      tm.shed->inc();  // no admission queue: every slot is taken
      tm.failures->inc();
      co_return reply(Outcome::overloaded);
    } else {
      auto t = std::make_shared<Ticket>(Ticket{Completion<bool>(sim), m.src, req.id, false});
      if (queue_.push(sim.now(), t)) {
        tm.shed->inc();
        tm.failures->inc();
        co_return reply(Outcome::overloaded);
      }
      if (tier_.receives_cancels) {
        waiting_.insert_or_assign(key, t);  // as operator[]: a repeated copy replaces
      }
      const std::optional<bool> go = co_await t->go.wait();
      if (!go.value_or(false)) {
        tm.failures->inc();
        co_return reply(Outcome::overloaded);
      }
    }
    tm.queue_wait->record(sim.now() - arrived);
    if (req.tie_peer.valid()) {
      node_.send(req.tie_peer, Payload::make<SvcCancel>(SvcCancel{m.src, req.id}), kCancelBytes);
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
      tm.latency->record(sim.now() - arrived);
    } else {
      tm.failures->inc();
    }
    release();
    co_return reply(out);
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
    std::vector<std::shared_ptr<Ticket>> shed;
    while (active_ < concurrency_) {
      auto next = queue_.pop(sim.now(), shed);
      if (!next) {
        break;
      }
      forget(**next);
      if ((*next)->cancelled) {
        tm.cancelled->inc();
        (*next)->go.set(false);
        continue;
      }
      ++active_;
      (*next)->go.set(true);
    }
    for (auto& s : shed) {
      forget(*s);
      tm.shed->inc();
      s->go.set(false);
    }
  }

  /// A queued ticket left the queue: drop it from the cancellation index.
  void forget(const Ticket& t) {
    if (tier_.receives_cancels) {
      waiting_.erase(Key{t.caller.value(), t.id});
    }
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
  resilience::AdmissionQueue<std::shared_ptr<Ticket>> queue_;
  /// Queued tickets by (caller, request id), kept only when the tier receives cancels. A hash
  /// map: only looked up and erased by key, never iterated, so its order cannot reach a run
  /// (an ordered map's tree walk was 33 % of a 16x storm run's CPU, issue #20).
  std::unordered_map<Key, std::shared_ptr<Ticket>, KeyHash> waiting_;
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
