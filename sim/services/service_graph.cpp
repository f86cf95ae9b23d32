#include <faultline/sim/services/service_graph.hpp>

#include <faultline/resilience/admission.hpp>
#include <faultline/resilience/backoff.hpp>
#include <faultline/resilience/circuit_breaker.hpp>
#include <faultline/resilience/hedging.hpp>
#include <faultline/resilience/outcome.hpp>
#include <faultline/resilience/retry_budget.hpp>
#include <faultline/resilience/timeout.hpp>
#include <faultline/sim/services/leaf_profile.hpp>
#include <faultline/task.hpp>
#include <faultline/world/timed_waits.hpp>
#include <faultline/world/world.hpp>

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <optional>
#include <unordered_map>
#include <utility>

namespace faultline::sim::services {

using resilience::Outcome;
using world::Message;
using world::Node;
using world::NodeId;
using world::Payload;

ClientMetricNames client_metric_names(std::string_view client) {
  const std::string p = fmt::format("services/client/{}/", client);
  return {p + "requests",       p + "successes",     p + "failures",
          p + "attempts",       p + "retries",       p + "rejected_local",
          p + "timeouts",       p + "hedges_sent",   p + "hedges_won",
          p + "hedges_cancelled", p + "latency",     p + "offered_rate",
          p + "goodput",        p + "error_ratio",   p + "attempts_per_request",
          p + "attempt_rate",   p + "breaker_open"};
}

TierMetricNames tier_metric_names(std::string_view tier) {
  const std::string p = fmt::format("services/tier/{}/", tier);
  return {p + "arrivals",     p + "served",  p + "shed",      p + "cancelled",
          p + "queue_wait",   p + "arrival_rate", p + "goodput", p + "shed_rate",
          p + "queue_length", p + "cpu_util"};
}

std::string ServiceGraph::tier_group(std::string_view tier) { return fmt::format("tier/{}", tier); }
std::string ServiceGraph::client_group(std::string_view client) {
  return fmt::format("client/{}", client);
}

namespace {

// --- wire messages ------------------------------------------------------------------------
struct SvcRequest {
  std::uint64_t id = 0;
  /// Tied requests: the other server holding a copy, told to drop it when this one starts.
  NodeId tie_peer;
};
struct SvcReply {
  Outcome outcome = Outcome::ok;
};
struct SvcCancel {
  NodeId caller;
  std::uint64_t id = 0;
};
constexpr std::uint64_t kCancelBytes = 64;

struct CallerMetrics {
  Counter* requests;
  Counter* successes;
  Counter* failures;
  Counter* attempts;
  Counter* retries;
  Counter* rejected_local;
  Counter* timeouts;
  Counter* hedges_sent;
  Counter* hedges_won;
  Counter* hedges_cancelled;
  Histogram* latency;

  CallerMetrics(Metrics& m, const ClientMetricNames& n)
      : requests(&m.counter(n.requests)), successes(&m.counter(n.successes)),
        failures(&m.counter(n.failures)), attempts(&m.counter(n.attempts)),
        retries(&m.counter(n.retries)), rejected_local(&m.counter(n.rejected_local)),
        timeouts(&m.counter(n.timeouts)), hedges_sent(&m.counter(n.hedges_sent)),
        hedges_won(&m.counter(n.hedges_won)), hedges_cancelled(&m.counter(n.hedges_cancelled)),
        latency(&m.histogram(n.latency)) {}
};

struct TierMetrics {
  Counter* arrivals;
  Counter* served;
  Counter* shed;
  Counter* cancelled;
  Histogram* queue_wait;

  TierMetrics(Metrics& m, const TierMetricNames& n)
      : arrivals(&m.counter(n.arrivals)), served(&m.counter(n.served)), shed(&m.counter(n.shed)),
        cancelled(&m.counter(n.cancelled)), queue_wait(&m.histogram(n.queue_wait)) {}
};

Outcome translate(const world::RpcResult& r) {
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

}  // namespace

// --- the graph's shared state ----------------------------------------------------------------

struct TierInfo {
  const TierParams* params = nullptr;
  std::vector<NodeId> nodes;
  std::vector<world::HostId> hosts;
  std::unique_ptr<TierMetrics> metrics;
  /// Built once when the service time is the Table 1 profile (tail-at-scale).
  std::optional<TailAtScaleProfile> profile;
  std::size_t index = 0;
  /// Some caller of this tier hedges, so its instances may be told to drop a queued copy
  /// (SvcCancel) and must be able to find it by (caller, id); otherwise they keep no index.
  bool receives_cancels = false;
};

struct ClientInfo {
  const ClientParams* params = nullptr;
  std::vector<NodeId> nodes;
  std::unique_ptr<CallerMetrics> metrics;
};

class InstanceProgram;
class ClientProgram;

struct ServiceGraph::Impl {
  world::World* world = nullptr;
  Simulation* sim = nullptr;
  std::vector<TierInfo> tiers;
  std::vector<ClientInfo> clients;
  /// Metrics of tier → dependency edges, keyed "<tier>-><dependency>".
  std::map<std::string, std::unique_ptr<CallerMetrics>, std::less<>> edges;
  /// Callers from outside the graph (add_external_caller).
  struct External;
  std::vector<std::unique_ptr<External>> externals;

  TierInfo& tier(std::string_view name) {
    for (auto& t : tiers) {
      if (t.params->name == name) {
        return t;
      }
    }
    throw std::invalid_argument(fmt::format("services: no tier named \"{}\"", name));
  }
};

// --- the caller: one edge's policies in one process ------------------------------------------

namespace {

class Caller {
public:
  Caller(Node& node, const CallPolicy& policy, const TierInfo& target, CallerMetrics& metrics,
         Rng rng)
      : node_(node), policy_(policy), target_(target), m_(metrics), rng_(std::move(rng)),
        timeout_(policy.timeout), retry_(policy.retry),
        outstanding_(target.nodes.size(), 0) {
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

  /// One logical call; with fanout > 1, one call to each of `fanout` distinct instances.
  Task<Outcome> call_fanout(int fanout) {
    if (fanout <= 1) {
      co_return co_await call(std::nullopt);
    }
    auto join = std::make_shared<Join>(Join{fanout, Outcome::ok, Completion<bool>(node_.sim())});
    const std::size_t base = static_cast<std::size_t>(rng_.below(target_.nodes.size()));
    for (int i = 0; i < fanout; ++i) {
      node_.spawn(sub_call(join, (base + static_cast<std::size_t>(i)) % target_.nodes.size()));
    }
    co_await join->done.wait();
    co_return join->worst;
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
      const Outcome o = co_await attempt(instance);
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
    return i;
  }

  Payload request(NodeId tie_peer) {
    return Payload::make<SvcRequest>(SvcRequest{next_id_, tie_peer});
  }

  Task<Outcome> attempt(std::optional<std::size_t> instance) {
    const Duration timeout = timeout_.current();
    if (policy_.hedge.enabled) {
      co_return co_await attempt_hedged(instance, timeout);
    }
    const std::size_t i = instance ? *instance : pick(std::nullopt);
    ++next_id_;
    ++outstanding_[i];
    m_.attempts->inc();
    const world::RpcResult r = co_await node_.call(target_.nodes[i], request(NodeId{}),
                                                   target_.params->request_bytes, timeout);
    --outstanding_[i];
    const Outcome o = translate(r);
    if (o == Outcome::ok) {
      timeout_.observe(r.latency);
      observed_.record(r.latency);
    }
    co_return o;
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
  std::size_t rr_ = 0;
  std::uint64_t next_id_ = 0;
};

std::string incarnation_name(std::string_view base, std::uint64_t incarnation) {
  return fmt::format("{}/{}", base, incarnation);
}

}  // namespace

// --- a tier instance ---------------------------------------------------------------------------

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
      co_return reply(Outcome::overloaded);
    }
    if (active_ < concurrency_ && queue_.empty()) {
      ++active_;
    } else {
      auto t = std::make_shared<Ticket>(Ticket{Completion<bool>(sim), m.src, req.id, false});
      if (queue_.push(sim.now(), t)) {
        tm.shed->inc();
        co_return reply(Outcome::overloaded);
      }
      if (tier_.receives_cancels) {
        waiting_.insert_or_assign(key, t);  // as operator[]: a repeated copy replaces
      }
      const std::optional<bool> go = co_await t->go.wait();
      if (!go.value_or(false)) {
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
            out = Outcome::overloaded;  // a failed dependency fails the request (503)
          }
        } else {
          d.edge->successes->inc();
          d.edge->latency->record(sim.now() - call_start);
        }
      }
    }
    tm.served->inc();
    release();
    co_return reply(out);
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
};

// --- a client process ------------------------------------------------------------------------

class ClientProgram : public world::Program {
public:
  ClientProgram(ServiceGraph::Impl& g, ClientInfo& client, Node& node)
      : client_(client), node_(node),
        rng_(node.sim().rng(incarnation_name("services/" + node.name(), node.incarnation()))),
        caller_(node, client.params->policy, g.tier(client.params->target), *client.metrics,
                rng_.fork("caller")),
        crashes_(&node.sim().metrics().counter(
            fmt::format("services/client/{}/crashes", client.params->name))) {}

  void start(Node& node) override {
    if (client_.params->arrival == Arrival::poisson) {
      node.spawn(arrivals());
    } else {
      for (int i = 0; i < client_.params->sessions; ++i) {
        node.spawn(session());
      }
    }
  }
  bool breaker_open() { return caller_.breaker_open(); }

private:
  Task<void> arrivals() {
    Simulation& sim = node_.sim();
    const ClientParams& p = *client_.params;
    const Time start = Time::zero() + p.start;
    if (sim.now() < start) {
      co_await node_.sleep(start - sim.now());
    }
    for (;;) {
      const bool changed =
          p.rate_change_at > Duration::zero() && sim.now() >= Time::zero() + p.rate_change_at;
      const double rate = (changed ? p.rate_after_change : p.rate_per_s) / p.processes;
      if (rate <= 0.0) {
        if (changed || p.rate_change_at == Duration::zero()) {
          co_return;
        }
        co_await node_.sleep(Time::zero() + p.rate_change_at - sim.now());
        continue;
      }
      co_await node_.sleep(Duration::from_seconds(rng_.exponential(1.0 / rate)));
      if (p.stop > Duration::zero() && sim.now() >= Time::zero() + p.stop) {
        co_return;
      }
      node_.spawn(request_detached());
    }
  }

  /// A closed-loop session: request, wait for the outcome, think, repeat.
  Task<void> session() {
    Simulation& sim = node_.sim();
    const ClientParams& p = *client_.params;
    const double think_s = p.think_time.to_seconds();
    const Time start = Time::zero() + p.start;
    // A random phase, so sessions do not start in lock-step.
    co_await node_.sleep((sim.now() < start ? start - sim.now() : Duration::zero()) +
                         Duration::from_seconds(rng_.uniform01() * think_s));
    const MalformedPayload& bad = p.malformed;
    while (p.stop == Duration::zero() || sim.now() < Time::zero() + p.stop) {
      const bool ok = co_await request();
      if (ok && bad.crash && bad.until > Duration::zero() && sim.now() >= Time::zero() + bad.from &&
          sim.now() < Time::zero() + bad.until) {
        // The app crashes parsing the malformed payload; relaunched, it fetches again at once.
        crashes_->inc();
        co_await node_.sleep(bad.relaunch);
        continue;
      }
      co_await node_.sleep(Duration::from_seconds(rng_.exponential(think_s)));
    }
  }

  Task<void> request_detached() { co_await request(); }

  Task<bool> request() {
    Simulation& sim = node_.sim();
    const ClientParams& p = *client_.params;
    CallerMetrics& m = *client_.metrics;
    m.requests->inc();
    if (p.max_outstanding > 0 && outstanding_ >= p.max_outstanding) {
      m.rejected_local->inc();
      m.failures->inc();
      co_return false;
    }
    ++outstanding_;
    const Time t0 = sim.now();
    const Outcome o = co_await caller_.call_fanout(p.fanout);
    --outstanding_;
    if (o == Outcome::ok) {
      m.successes->inc();
      m.latency->record(sim.now() - t0);
    } else {
      m.failures->inc();
    }
    co_return o == Outcome::ok;
  }

  ClientInfo& client_;
  Node& node_;
  Rng rng_;
  Caller caller_;
  Counter* crashes_;
  int outstanding_ = 0;
};

// --- callers from outside the graph ----------------------------------------------------------

struct ServiceGraph::Impl::External {
  std::string name;
  CallPolicy policy;
  TierInfo* target = nullptr;
  std::unique_ptr<CallerMetrics> metrics;
  /// One Caller per calling process incarnation, made on its first call (ordered map: looked
  /// up only, but kept ordered so nothing here can depend on hash order).
  std::map<std::pair<std::uint32_t, std::uint64_t>, std::unique_ptr<Caller>> callers;
};

std::size_t ServiceGraph::add_external_caller(std::string name, std::string_view tier,
                                              CallPolicy policy) {
  FAULTLINE_ASSERT(impl_, "ServiceGraph::add_external_caller needs build() first");
  policy.validate(name + ".policy");
  auto e = std::make_unique<Impl::External>();
  e->target = &impl_->tier(tier);
  e->metrics = std::make_unique<CallerMetrics>(impl_->sim->metrics(), client_metric_names(name));
  e->name = std::move(name);
  e->policy = std::move(policy);
  impl_->externals.push_back(std::move(e));
  return impl_->externals.size() - 1;
}

namespace {
Task<void> external_call(Caller& caller, CallerMetrics& m, Simulation& sim,
                         std::function<void(bool)> done) {
  m.requests->inc();
  const Time t0 = sim.now();
  const Outcome o = co_await caller.call(std::nullopt);
  if (o == Outcome::ok) {
    m.successes->inc();
    m.latency->record(sim.now() - t0);
  } else {
    m.failures->inc();
  }
  done(o == Outcome::ok);
}
}  // namespace

void ServiceGraph::call(std::size_t caller, world::NodeId from, std::function<void(bool ok)> done) {
  Impl::External& e = *impl_->externals.at(caller);
  Node& node = impl_->world->node(from);
  auto& slot = e.callers[{from.value(), node.incarnation()}];
  if (!slot) {
    // The process's own policy state, seeded from the process and its incarnation.
    slot = std::make_unique<Caller>(
        node, e.policy, *e.target, *e.metrics,
        node.sim().rng(incarnation_name("services/" + e.name + "/" + node.name(),
                                        node.incarnation())));
  }
  node.spawn(external_call(*slot, *e.metrics, node.sim(), std::move(done)));
}

// --- building --------------------------------------------------------------------------------

ServiceGraph::ServiceGraph(ServiceGraphParams params) : params_(std::move(params)) {
  params_.validate();
}

ServiceGraph::~ServiceGraph() = default;

namespace {
/// Per-interval rate of a counter: the increase since the previous sample, per second.
struct RateProbe {
  const Counter* counter;
  Duration interval;
  std::uint64_t last = 0;
  double operator()() {
    const std::uint64_t v = counter->value();
    const double r = static_cast<double>(v - last) / interval.to_seconds();
    last = v;
    return r;
  }
};
/// Per-interval ratio of two counters' increases (0 when the denominator did not move).
struct RatioProbe {
  const Counter* num;
  const Counter* den;
  std::uint64_t last_num = 0;
  std::uint64_t last_den = 0;
  double operator()() {
    const std::uint64_t n = num->value() - last_num;
    const std::uint64_t d = den->value() - last_den;
    last_num = num->value();
    last_den = den->value();
    return d ? static_cast<double>(n) / static_cast<double>(d) : 0.0;
  }
};
}  // namespace

void ServiceGraph::build(world::World& w) {
  FAULTLINE_ASSERT(!impl_, "ServiceGraph::build may be called once");
  impl_ = std::make_unique<Impl>();
  Impl& g = *impl_;
  g.world = &w;
  g.sim = &w.sim();
  Simulation& sim = w.sim();
  Metrics& metrics = sim.metrics();

  // Zones of the world that already exist by name (another model's, in the same World) are
  // shared, so the graph's hosts sit beside that model's; the rest go in region "services".
  std::optional<world::RegionId> region;
  std::vector<world::ZoneId> zones;
  for (const auto& z : params_.zones) {
    if (const auto existing = w.topology().find_zone(z)) {
      zones.push_back(*existing);
      continue;
    }
    if (!region) {
      region = w.add_region("services");
    }
    zones.push_back(w.add_zone(*region, z));
  }

  g.tiers.resize(params_.tiers.size());
  for (std::size_t i = 0; i < params_.tiers.size(); ++i) {
    g.tiers[i].params = &params_.tiers[i];
    g.tiers[i].index = i;
    if (params_.tiers[i].service_time.kind == ServiceTime::Kind::tail_at_scale) {
      g.tiers[i].profile.emplace(params_.tiers[i].service_time.table1_leaves);
    }
    g.tiers[i].metrics =
        std::make_unique<TierMetrics>(metrics, tier_metric_names(params_.tiers[i].name));
    for (const auto& d : params_.tiers[i].dependencies) {
      const std::string edge = fmt::format("{}->{}", params_.tiers[i].name, d.tier);
      if (!g.edges.count(edge)) {
        g.edges.emplace(edge, std::make_unique<CallerMetrics>(metrics, client_metric_names(edge)));
      }
    }
  }
  for (const auto& c : params_.clients) {
    if (c.policy.hedge.enabled) {
      g.tier(c.target).receives_cancels = true;
    }
  }
  for (const auto& t : params_.tiers) {
    for (const auto& d : t.dependencies) {
      if (d.policy.hedge.enabled) {
        g.tier(d.tier).receives_cancels = true;
      }
    }
  }
  // Hosts first (every tier's node ids must exist before any caller is built), then nodes.
  for (auto& t : g.tiers) {
    for (int i = 0; i < t.params->instances; ++i) {
      world::HostParams hp = w.params().host_defaults;
      hp.cpu.cores = static_cast<std::uint32_t>(t.params->cores);
      if (t.params->clock) {
        hp.clock = *t.params->clock;
      }
      const auto zone = zones[static_cast<std::size_t>(i) % zones.size()];
      t.hosts.push_back(w.add_host(zone, fmt::format("{}-{}", t.params->name, i), hp));
    }
  }
  for (auto& t : g.tiers) {
    for (int i = 0; i < t.params->instances; ++i) {
      TierInfo* tp = &t;
      t.nodes.push_back(w.add_node(t.hosts[static_cast<std::size_t>(i)],
                                   fmt::format("{}-{}", t.params->name, i),
                                   tier_group(t.params->name), [&g, tp](Node& n) {
                                     return std::make_unique<InstanceProgram>(g, *tp, n);
                                   }));
    }
  }
  g.clients.resize(params_.clients.size());
  for (std::size_t c = 0; c < params_.clients.size(); ++c) {
    ClientInfo& ci = g.clients[c];
    ci.params = &params_.clients[c];
    ci.metrics = std::make_unique<CallerMetrics>(metrics, client_metric_names(ci.params->name));
    for (int i = 0; i < ci.params->processes; ++i) {
      world::HostParams hp = w.params().host_defaults;
      hp.cpu.cores = 64;  // clients only wait; their CPU is not what this model studies
      const auto zone = zones[static_cast<std::size_t>(i) % zones.size()];
      const auto host = w.add_host(zone, fmt::format("{}-{}", ci.params->name, i), hp);
      ClientInfo* cp = &ci;
      ci.nodes.push_back(w.add_node(host, fmt::format("{}-{}", ci.params->name, i),
                                    client_group(ci.params->name), [&g, cp](Node& n) {
                                      return std::make_unique<ClientProgram>(g, *cp, n);
                                    }));
    }
  }

  // Per-interval series.
  const Duration every = params_.sample_interval;
  for (auto& ci : g.clients) {
    const auto n = client_metric_names(ci.params->name);
    const CallerMetrics& m = *ci.metrics;
    sim.sample_every(n.offered_rate, every, RateProbe{m.requests, every});
    sim.sample_every(n.goodput, every, RateProbe{m.successes, every});
    sim.sample_every(n.attempt_rate, every, RateProbe{m.attempts, every});
    sim.sample_every(n.error_ratio, every, RatioProbe{m.failures, m.requests});
    sim.sample_every(n.attempts_per_request, every, RatioProbe{m.attempts, m.requests});
    sim.sample_every(n.breaker_open, every,
                     [this, name = ci.params->name] { return breaker_open_fraction(name); });
  }
  for (auto& t : g.tiers) {
    const auto n = tier_metric_names(t.params->name);
    sim.sample_every(n.arrival_rate, every, RateProbe{t.metrics->arrivals, every});
    sim.sample_every(n.goodput, every, RateProbe{t.metrics->served, every});
    sim.sample_every(n.shed_rate, every, RateProbe{t.metrics->shed, every});
    sim.sample_every(n.queue_length, every,
                     [this, name = t.params->name] { return queue_length(name); });
    struct Util {
      world::World* w;
      std::vector<world::HostId> hosts;
      std::vector<Duration> last;
      Duration interval;
      double operator()() {
        double sum = 0.0;
        for (std::size_t i = 0; i < hosts.size(); ++i) {
          world::Cpu& cpu = w->host(hosts[i]).cpu();
          const Duration busy = cpu.busy_time();
          sum += world::Cpu::utilisation(last[i], busy, interval, cpu.cores());
          last[i] = busy;
        }
        return hosts.empty() ? 0.0 : sum / static_cast<double>(hosts.size());
      }
    };
    sim.sample_every(n.cpu_util, every,
                     Util{&w, t.hosts, std::vector<Duration>(t.hosts.size()), every});
  }
}

std::vector<NodeId> ServiceGraph::instances(std::string_view tier) const {
  return impl_ ? impl_->tier(tier).nodes : std::vector<NodeId>{};
}

std::vector<NodeId> ServiceGraph::client_processes(std::string_view client) const {
  if (impl_) {
    for (const auto& c : impl_->clients) {
      if (c.params->name == client) {
        return c.nodes;
      }
    }
  }
  return {};
}

double ServiceGraph::queue_length(std::string_view tier) const {
  if (!impl_) {
    return 0.0;
  }
  double sum = 0.0;
  for (NodeId id : impl_->tier(tier).nodes) {
    if (auto* p = dynamic_cast<InstanceProgram*>(impl_->world->node(id).program())) {
      sum += static_cast<double>(p->queue_length());
    }
  }
  return sum;
}

double ServiceGraph::cpu_busy_fraction(std::string_view tier) const {
  if (!impl_) {
    return 0.0;
  }
  double busy = 0.0;
  double cores = 0.0;
  for (world::HostId h : impl_->tier(tier).hosts) {
    const world::Cpu& cpu = impl_->world->host(h).cpu();
    busy += cpu.busy_cores();
    cores += cpu.cores();
  }
  return cores > 0.0 ? busy / cores : 0.0;
}

double ServiceGraph::breaker_open_fraction(std::string_view client) const {
  if (!impl_) {
    return 0.0;
  }
  for (const auto& c : impl_->clients) {
    if (c.params->name != client) {
      continue;
    }
    int open = 0;
    for (NodeId id : c.nodes) {
      if (auto* p = dynamic_cast<ClientProgram*>(impl_->world->node(id).program())) {
        open += p->breaker_open() ? 1 : 0;
      }
    }
    return c.nodes.empty() ? 0.0 : static_cast<double>(open) / static_cast<double>(c.nodes.size());
  }
  return 0.0;
}

}  // namespace faultline::sim::services
