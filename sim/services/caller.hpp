// Private to sim/services: the caller, one edge's policies (timeout, retries, retry quota,
// adaptive throttle, circuit breaker, balancer, hedged and tied requests) in one process. Used
// by client processes and by tier instances calling their dependencies. Not installed.
#pragma once

#include "internal.hpp"

#include <faultline/resilience/backoff.hpp>
#include <faultline/resilience/circuit_breaker.hpp>
#include <faultline/resilience/hedging.hpp>
#include <faultline/resilience/retry_budget.hpp>
#include <faultline/resilience/timeout.hpp>
#include <faultline/task.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace faultline::sim::services {

inline Outcome translate(const world::RpcResult& r) {
  switch (r.status) {
    case world::RpcStatus::kOk: {
      const auto* rep = r.payload.get<SvcReply>();
      return rep ? rep->outcome : Outcome::bad_request;
    }
    case world::RpcStatus::kTimeout:
      return Outcome::timeout;
    case world::RpcStatus::kUnreachable:
      return Outcome::unavailable;
  }
  return Outcome::unavailable;
}

class Caller {
public:
  Caller(Node& node, const CallPolicy& policy, const TierInfo& target, CallerMetrics& metrics,
         Rng rng)
      : node_(node), policy_(policy), target_(target), m_(metrics), rng_(std::move(rng)),
        timeout_(policy.timeout), retry_(policy.retry),
        outstanding_(target.nodes.size(), 0), ejected_until_(target.nodes.size(), Time::zero()) {
    if (policy.retry_quota_enabled) {
      quota_.emplace(policy.retry_quota);
    }
    if (policy.adaptive_throttle_enabled) {
      throttle_.emplace(policy.adaptive_throttle);
    }
    if (policy.circuit_breaker_enabled) {
      breaker_.emplace(policy.circuit_breaker);
    }
    rr_ = static_cast<std::size_t>(rng_.below(target.nodes.size()));
  }

  bool breaker_open() {
    return breaker_ && breaker_->state(node_.sim().now()) != resilience::BreakerState::closed;
  }

  /// One logical call; with fanout > 1, one call to each of `fanout` distinct instances. Not a
  /// coroutine itself: a plain call is the caller's own task, one frame fewer for a reply to
  /// climb through (each was a cache miss in a big cluster, issue #20).
  Task<Outcome> call_fanout(int fanout) {
    if (fanout <= 1) {
      return call(std::nullopt);
    }
    return call_all(fanout);
  }

  /// One logical call through every policy of the edge.
  Task<Outcome> call(std::optional<std::size_t> instance) {
    Simulation& sim = node_.sim();
    resilience::Backoff backoff(policy_.retry);
    int attempts = 0;
    int cost_paid = 0;
    Outcome last = Outcome::timeout;
    for (;;) {
      if (breaker_ && !breaker_->allow(sim.now())) {
        last = Outcome::rejected_local;
        m_.rejected_local->inc();
        break;
      }
      if (throttle_ && !throttle_->admit(sim.now(), rng_)) {
        last = Outcome::rejected_local;
        m_.rejected_local->inc();
        break;
      }
      const std::uint64_t generation = breaker_ ? breaker_->generation() : 0;
      ++attempts;
      if (attempts > 1) {
        m_.retries->inc();
      }
      // An attempt, inline rather than a coroutine of its own (the frame it saved is the one a
      // reply resumes first); a hedged attempt is its own coroutine.
      Outcome o = Outcome::timeout;
      const Duration timeout = timeout_.current();
      if (policy_.hedge.enabled) {
        o = co_await attempt_hedged(instance, timeout);
      } else {
        const std::size_t i = instance ? *instance : pick(std::nullopt);
        ++next_id_;
        ++outstanding_[i];
        m_.attempts->inc();
        const world::RpcResult r = co_await node_.call(target_.nodes[i], request(NodeId{}),
                                                       target_.params->request_bytes, timeout);
        --outstanding_[i];
        o = translate(r);
        note_attempt(i, o);
        if (o == Outcome::ok) {
          timeout_.observe(r.latency);
          observed_.record(r.latency);
        }
      }
      if (breaker_) {
        breaker_->record(sim.now(), o == Outcome::ok, generation);
      }
      if (throttle_ && resilience::backend_accepted(o)) {
        throttle_->on_accepted(sim.now());
      }
      if (o == Outcome::timeout) {
        m_.timeouts->inc();
      }
      last = o;
      if (o == Outcome::ok) {
        if (quota_) {
          quota_->on_success(cost_paid);
        }
        break;
      }
      if (!retry_.should_retry(attempts, o)) {
        break;
      }
      if (quota_) {
        const auto cost = quota_->try_acquire(o == Outcome::timeout);
        if (!cost) {
          break;
        }
        cost_paid += *cost;
      }
      const Duration pause = backoff.delay(attempts, rng_);
      if (pause > Duration::zero()) {
        co_await node_.sleep(pause);
      }
    }
    co_return last;
  }

private:
  Task<Outcome> call_all(int fanout) {
    auto join = std::make_shared<Join>(Join{fanout, Outcome::ok, Completion<bool>(node_.sim())});
    const std::size_t base = static_cast<std::size_t>(rng_.below(target_.nodes.size()));
    for (int i = 0; i < fanout; ++i) {
      node_.spawn(sub_call(join, (base + static_cast<std::size_t>(i)) % target_.nodes.size()));
    }
    co_await join->done.wait();
    co_return join->worst;
  }

  struct Join {
    int remaining;
    Outcome worst;
    Completion<bool> done;
  };

  Task<void> sub_call(std::shared_ptr<Join> join, std::size_t instance) {
    const Outcome o = co_await call(instance);
    if (o != Outcome::ok) {
      join->worst = o;
    }
    if (--join->remaining == 0) {
      join->done.set(true);
    }
  }

  std::size_t pick(std::optional<std::size_t> avoid) {
    const std::size_t n = target_.nodes.size();
    std::size_t i = 0;
    switch (policy_.balancer) {
      case Balancer::round_robin:
        i = rr_++ % n;
        break;
      case Balancer::random:
        i = static_cast<std::size_t>(rng_.below(n));
        break;
      case Balancer::least_outstanding: {
        // Start at a rotating offset so ties do not all land on instance 0.
        const std::size_t start = rr_++ % n;
        i = start;
        for (std::size_t k = 1; k < n; ++k) {
          const std::size_t j = (start + k) % n;
          if (outstanding_[j] < outstanding_[i]) {
            i = j;
          }
        }
        break;
      }
    }
    if (avoid && n > 1 && i == *avoid) {
      i = (i + 1 + static_cast<std::size_t>(rng_.below(n - 1))) % n;
    }
    return skip_ejected(i);
  }

  /// Outlier ejection: the first instance from `i` on that is not ejected (round robin goes on
  /// from it), or `i` when every instance is.
  std::size_t skip_ejected(std::size_t i) {
    if (policy_.eject_for <= Duration::zero()) {
      return i;
    }
    const std::size_t n = target_.nodes.size();
    const Time now = node_.sim().now();
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t j = (i + k) % n;
      if (ejected_until_[j] <= now) {
        if (k > 0 && policy_.balancer == Balancer::round_robin) {
          rr_ += k;
        }
        return j;
      }
    }
    return i;
  }

  /// An attempt to instance `i` ended with `o`: one that timed out or could not be reached is
  /// ejected for eject_for.
  void note_attempt(std::size_t i, Outcome o) {
    if (policy_.eject_for > Duration::zero() &&
        (o == Outcome::timeout || o == Outcome::unavailable)) {
      ejected_until_[i] = node_.sim().now() + policy_.eject_for;
    }
  }

  Payload request(NodeId tie_peer) {
    return Payload::make<SvcRequest>(SvcRequest{next_id_, tie_peer});
  }

  /// One attempt as a hedged (or tied) request: copies to distinct instances, first success
  /// wins, losers are told to drop their copy.
  struct HedgeCtx {
    Completion<Outcome> done;
    std::unique_ptr<resilience::HedgedRequest> hedged;
    std::vector<std::size_t> instance;
    std::uint64_t id = 0;
    Outcome last_failure = Outcome::timeout;
    Time started{};
  };

  Task<Outcome> attempt_hedged(std::optional<std::size_t> instance, Duration timeout) {
    Simulation& sim = node_.sim();
    const auto& hp = policy_.hedge;
    auto ctx = std::make_shared<HedgeCtx>(HedgeCtx{Completion<Outcome>(sim), nullptr, {}, 0,
                                                   Outcome::timeout, sim.now()});
    ctx->id = ++next_id_;
    const std::size_t first = instance ? *instance : pick(std::nullopt);
    ctx->instance.push_back(first);
    for (int k = 0; k < hp.max_hedges; ++k) {
      ctx->instance.push_back(pick(first));
    }
    std::weak_ptr<HedgeCtx> weak = ctx;
    resilience::HedgedRequest::Hooks hooks;
    hooks.send = [this, weak, timeout](int copy) {
      auto c = weak.lock();
      if (!c) {
        return;
      }
      const std::size_t i = c->instance[static_cast<std::size_t>(copy)];
      NodeId peer;
      if (policy_.hedge.tied && c->instance.size() > 1) {
        peer = target_.nodes[c->instance[copy == 0 ? 1 : 0]];
      }
      m_.attempts->inc();
      if (copy > 0) {
        m_.hedges_sent->inc();
      }
      ++outstanding_[i];
      node_.call(target_.nodes[i], Payload::make<SvcRequest>(SvcRequest{c->id, peer}),
                 target_.params->request_bytes, timeout,
                 [this, c, copy, i](world::RpcResult r) {
                   --outstanding_[i];
                   const Outcome o = translate(r);
                   note_attempt(i, o);
                   if (o != Outcome::ok) {
                     c->last_failure = o;
                   }
                   if (c->hedged->on_reply(copy, o == Outcome::ok)) {
                     if (o == Outcome::ok) {
                       if (copy > 0) {
                         m_.hedges_won->inc();
                       }
                       timeout_.observe(r.latency);
                       observed_.record(node_.sim().now() - c->started);
                     }
                     c->done.set(o == Outcome::ok ? Outcome::ok : c->last_failure);
                   }
                 });
    };
    hooks.cancel = [this, weak](int copy) {
      auto c = weak.lock();
      if (!c) {
        return;
      }
      m_.hedges_cancelled->inc();
      node_.send(target_.nodes[c->instance[static_cast<std::size_t>(copy)]],
                 Payload::make<SvcCancel>(SvcCancel{node_.id(), c->id}), kCancelBytes);
    };
    hooks.arm = [&node = node_](Duration d, std::function<void()> fn) {
      return node.after(d, std::move(fn));  // a paused process sends no hedge
    };
    const Duration delay = resilience::hedge_delay(hp, observed_);
    ctx->hedged = std::make_unique<resilience::HedgedRequest>(sim, hp.max_hedges, delay,
                                                              std::move(hooks));
    ctx->hedged->start();
    const std::optional<Outcome> o = co_await ctx->done.wait();
    co_return o.value_or(Outcome::timeout);
  }

  Node& node_;
  const CallPolicy& policy_;
  const TierInfo& target_;
  CallerMetrics& m_;
  Rng rng_;
  resilience::TimeoutPolicy timeout_;
  resilience::RetryPolicy retry_;
  std::optional<resilience::RetryQuota> quota_;
  std::optional<resilience::AdaptiveThrottle> throttle_;
  std::optional<resilience::CircuitBreaker> breaker_;
  Histogram observed_;  // attempt latencies, for percentile hedge delays
  std::vector<int> outstanding_;
  std::vector<Time> ejected_until_;  // outlier ejection, per instance
  std::size_t rr_ = 0;
  std::uint64_t next_id_ = 0;
};

// --- callers from outside the graph (ServiceGraph::add_external_caller, client.cpp) ---------

struct ServiceGraph::Impl::External {
  std::string name;
  CallPolicy policy;
  TierInfo* target = nullptr;
  std::unique_ptr<CallerMetrics> metrics;
  /// One Caller per calling process incarnation, made on its first call (ordered map: looked
  /// up only, but kept ordered so nothing here can depend on hash order).
  std::map<std::pair<std::uint32_t, std::uint64_t>, std::unique_ptr<Caller>> callers;
};

}  // namespace faultline::sim::services
