// The devices in front of Zuul (the tiers behind it are a service graph, tier_graph.cpp).
//
// A device family is a population of devices behind the family's own edge: Poisson requests,
// each sent to a Zuul instance by the edge (round robin, skipping instances that refused a
// connection recently) and retried by the device on another instance up to max_attempts. With
// ELBs (elb_edge.cpp) the round robin is over the family's LB nodes instead (DNS round robin
// over the ELB's addresses, a dead node dropped for a while), and the LB node picks the Zuul.
#include "internal.hpp"

#include <fmt/format.h>

namespace faultline::sim::zuul {

namespace {

using world::Node;
using world::Payload;

class DeviceProgram final : public world::Program {
public:
  DeviceProgram(EdgeStack::State& s, int family, Node& node)
      : s_(s),
        f_(s.p.families[static_cast<std::size_t>(family)]),
        family_(family),
        scope_(s.families[static_cast<std::size_t>(family)]),
        node_(node),
        rng_(s.sim->rng(fmt::format("zuul/{}/{}", node.name(), node.incarnation()))),
        cursor_(s.regions.size(), static_cast<std::size_t>(family)) {
    for (std::size_t r = 0; r < s.regions.size(); ++r) {
      ejected_until_.emplace_back(edge_targets(s, static_cast<int>(r), family).size(),
                                  Time::zero());
    }
  }

  void start(Node& /*node*/) override { next_arrival(); }

private:
  struct Request {
    Time start;
  };

  double rate() const {
    const bool changed = f_.rate_change_at > Duration::zero() &&
                         s_.sim->now() >= Time::zero() + f_.rate_change_at;
    return changed ? f_.rate_after : f_.rate_per_s;
  }

  void next_arrival() {
    const double r = rate();
    if (r <= 0) {  // silent until the rate changes
      if (s_.sim->now() < Time::zero() + f_.rate_change_at) {
        node_.after((Time::zero() + f_.rate_change_at) - s_.sim->now(), [this] { next_arrival(); });
      }
      return;
    }
    const auto gap = Duration::nanos(static_cast<std::int64_t>(rng_.exponential(1e9 / r)) + 1);
    node_.after(gap, [this] {
      for (Scope* sc : {&s_.devices, &scope_}) {
        sc->requests->inc();
      }
      // With several regions, the family's DNS name answers a region for the request (a
      // resolver's cached answer); its retries stay there.
      attempt(s_.sim->now(), 1, resolve_region(s_, family_));
      next_arrival();
    });
  }

  void attempt(Time start, int n, int region) {
    for (Scope* sc : {&s_.devices, &scope_}) {
      sc->attempts->inc();
    }
    const auto r = static_cast<std::size_t>(region);
    const auto& targets = edge_targets(s_, region, family_);  // LB nodes, or Zuul instances
    auto& cursor = cursor_[r];
    auto& ejected = ejected_until_[r];
    const auto count = targets.size();
    const Time now = s_.sim->now();
    std::size_t i = cursor++ % count;
    for (std::size_t k = 1; k < count && ejected[i] > now; ++k) {
      i = cursor++ % count;
    }
    node_.call(targets[i], Payload::make<DeviceRequest>(DeviceRequest{family_}),
               kRequestBytes, f_.timeout, [this, start, n, i, region](world::RpcResult res) {
                 EdgeStatus status = EdgeStatus::kFailed;
                 if (res.ok()) {
                   status = res.payload.as<EdgeReply>().status;
                 } else if (res.status == world::RpcStatus::kUnreachable) {
                   ejected_until_[static_cast<std::size_t>(region)][i] =
                       s_.sim->now() + f_.edge_eject_for;
                 }
                 // The edge's health check counts what the devices saw (a 429 is the edge working).
                 edge_outcome(s_, region, family_,
                              status != EdgeStatus::kOk && status != EdgeStatus::kThrottled);
                 if (status == EdgeStatus::kOk) {
                   for (Scope* sc : {&s_.devices, &scope_}) {
                     sc->successes->inc();
                     sc->latency->record(s_.sim->now() - start);
                   }
                   return;
                 }
                 // A device retries what a retry can fix, never a 429 (Brooker, "Timeouts,
                 // retries, and backoff with jitter").
                 if (n < f_.max_attempts && status != EdgeStatus::kThrottled) {
                   attempt(start, n + 1, region);
                   return;
                 }
                 for (Scope* sc : {&s_.devices, &scope_}) {
                   sc->failures->inc();
                 }
               });
  }

  EdgeStack::State& s_;
  const FamilyParams& f_;
  int family_;
  Scope scope_;
  Node& node_;
  Rng rng_;
  std::vector<std::size_t> cursor_;              // per region
  std::vector<std::vector<Time>> ejected_until_;  // per region, per target
};

}  // namespace

world::ProgramFactory device_factory(EdgeStack::State& s, int family) {
  return [&s, family](Node& node) { return std::make_unique<DeviceProgram>(s, family, node); };
}

}  // namespace faultline::sim::zuul
