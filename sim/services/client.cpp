// A client process: open-loop (Poisson arrivals) or closed-loop sessions calling one tier
// through its caller; the malformed-payload crash loop of a mobile app.
#include "caller.hpp"

#include <faultline/assert.hpp>
#include <faultline/task.hpp>

#include <fmt/format.h>

#include <functional>
#include <optional>
#include <utility>

namespace faultline::sim::services {

namespace {

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
      // The request inline, not a coroutine of its own: one frame fewer for each reply to
      // climb through (a cache miss in a big cluster, issue #20).
      bool ok = false;
      if (admit()) {
        const Time t0 = sim.now();
        ok = finish(co_await caller_.call_fanout(p.fanout), t0);
      }
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

  Task<void> request_detached() {
    if (admit()) {
      const Time t0 = node_.sim().now();
      finish(co_await caller_.call_fanout(client_.params->fanout), t0);
    }
  }

  /// A request begins: counted, and refused here when the process has too many outstanding.
  bool admit() {
    const ClientParams& p = *client_.params;
    CallerMetrics& m = *client_.metrics;
    m.requests->inc();
    if (p.max_outstanding > 0 && outstanding_ >= p.max_outstanding) {
      m.rejected_local->inc();
      m.failures->inc();
      return false;
    }
    ++outstanding_;
    return true;
  }

  /// A request that began at t0 ended with o; true if it succeeded.
  bool finish(Outcome o, Time t0) {
    CallerMetrics& m = *client_.metrics;
    --outstanding_;
    if (o == Outcome::ok) {
      m.successes->inc();
      m.latency->record(node_.sim().now() - t0);
    } else {
      m.failures->inc();
    }
    return o == Outcome::ok;
  }

  ClientInfo& client_;
  Node& node_;
  Rng rng_;
  Caller caller_;
  Counter* crashes_;
  int outstanding_ = 0;
};

}  // namespace

std::unique_ptr<world::Program> make_client_program(ServiceGraph::Impl& g, ClientInfo& client,
                                                    Node& node) {
  return std::make_unique<ClientProgram>(g, client, node);
}

bool client_breaker_open(world::Program* program) {
  auto* p = dynamic_cast<ClientProgram*>(program);
  return p && p->breaker_open();
}

// --- callers from outside the graph ----------------------------------------------------------

std::size_t ServiceGraph::add_external_caller(std::string name, std::string_view tier,
                                              CallPolicy policy) {
  FAULTLINE_ASSERT(impl_, "ServiceGraph::add_external_caller needs build() first");
  policy.validate(name + ".policy");
  auto e = std::make_unique<Impl::External>();
  e->target = &impl_->tier(tier);
  e->metrics = std::make_unique<CallerMetrics>(impl_->sim->metrics(), client_metric_names(name));
  e->name = std::move(name);
  e->policy = std::move(policy);
  // The same breaker series a client population has (the fraction of its live callers whose
  // breaker is not closed), so a dashboard or an expectation can see the edge's breakers.
  if (params_.sample_interval > Duration::zero()) {
    impl_->sim->sample_every(client_metric_names(e->name).breaker_open, params_.sample_interval,
                             [this, n = e->name] { return breaker_open_fraction(n); });
  }
  impl_->externals.push_back(std::move(e));
  return impl_->externals.size() - 1;
}

namespace {
Task<void> external_call(Caller& caller, CallerMetrics& m, Simulation& sim,
                         std::optional<std::size_t> instance,
                         std::function<void(Outcome)> done) {
  m.requests->inc();
  const Time t0 = sim.now();
  const Outcome o = co_await caller.call(instance);
  if (o == Outcome::ok) {
    m.successes->inc();
    m.latency->record(sim.now() - t0);
  } else {
    m.failures->inc();
  }
  done(o);
}
}  // namespace

Caller& ServiceGraph::Impl::external_caller(std::size_t caller, Node& node) {
  External& e = *externals.at(caller);
  auto& slot = e.callers[{node.id().value(), node.incarnation()}];
  if (!slot) {
    // The process's own policy state, seeded from the process and its incarnation.
    slot = std::make_unique<Caller>(
        node, e.policy, *e.target, *e.metrics,
        node.sim().rng(incarnation_name("services/" + e.name + "/" + node.name(),
                                        node.incarnation())));
  }
  return *slot;
}

void ServiceGraph::call(std::size_t caller, world::NodeId from, std::function<void(bool ok)> done) {
  Node& node = impl_->world->node(from);
  Caller& c = impl_->external_caller(caller, node);
  node.spawn(external_call(c, *impl_->externals.at(caller)->metrics, node.sim(), std::nullopt,
                           [done = std::move(done)](Outcome o) { done(o == Outcome::ok); }));
}

void ServiceGraph::call(std::size_t caller, world::NodeId from, std::size_t instance,
                        std::function<void(resilience::Outcome)> done) {
  Node& node = impl_->world->node(from);
  Caller& c = impl_->external_caller(caller, node);
  FAULTLINE_ASSERT(instance < impl_->externals.at(caller)->target->nodes.size(),
                   "ServiceGraph::call: no such instance");
  node.spawn(external_call(c, *impl_->externals.at(caller)->metrics, node.sim(), instance,
                           std::move(done)));
}

}  // namespace faultline::sim::services
