// The programs behind and in front of Zuul.
//
// A tier instance (an origin such as the API, or a microservice) sheds beyond max_in_flight,
// runs the request's CPU on its host, calls its dependencies in order (each call retried on the
// next instance up to max_attempts, then failed or answered by a fallback), then reads through
// the EVCache client from its own zone, and answers.
//
// A device family is a population of devices behind the family's own edge: Poisson requests,
// each sent to a Zuul instance by the edge (round robin, skipping instances that refused a
// connection recently) and retried by the device on another instance up to max_attempts.
#include "internal.hpp"

#include <faultline/resilience/outcome.hpp>

#include <fmt/format.h>

namespace faultline::sim::zuul {

namespace {

using world::Node;
using world::Payload;
using world::Responder;

class TierProgram final : public world::Program {
public:
  TierProgram(EdgeStack::State& s, int tier, Node& node)
      : s_(s),
        t_(s.p.tiers[static_cast<std::size_t>(tier)]),
        scope_(s.tiers[static_cast<std::size_t>(tier)]),
        node_(node),
        zone_(s.instance_zone[node.id().value()]),
        rng_(s.sim->rng(fmt::format("zuul/{}/{}", node.name(), node.incarnation()))),
        zipf_(static_cast<std::uint64_t>(s.p.evcache.client.keys), s.p.evcache.client.zipf_s),
        alive_(std::make_shared<bool>(true)) {
    for (const auto& c : t_.calls) {
      const int dep = s.tier_index(c.tier);
      calls_.push_back(dep);
      cursor_.push_back(static_cast<std::size_t>(node.id().value()));
      ejected_until_.emplace_back(s.tier_ids[static_cast<std::size_t>(dep)].size(), Time::zero());
    }
  }

  void start(Node& node) override {
    node.on_request([this](const world::Message& m, Responder r) { arrive(m, std::move(r)); });
  }

private:
  struct Request {
    int family = 0;
    Responder reply;
    Time start;
  };

  void arrive(const world::Message& m, Responder r) {
    scope_.requests->inc();
    if (in_flight_ >= t_.max_in_flight) {
      scope_.failures->inc();
      r.reply(Payload::make<TierReply>(TierReply{false, true}), kReplyBytes);
      return;
    }
    ++in_flight_;
    auto req = std::make_shared<Request>(
        Request{m.payload.as<TierRequest>().family, std::move(r), s_.sim->now()});
    const auto cpu = Duration::nanos(static_cast<std::int64_t>(
        rng_.exponential(static_cast<double>(t_.cpu.ns()))));
    node_.compute(cpu, [this, req] { call(req, 0, 1); });
  }

  /// Dependency call `i` of the request, attempt `attempt`.
  void call(const std::shared_ptr<Request>& req, std::size_t i, int attempt) {
    if (i == calls_.size()) {
      read_cache(req, 0);
      return;
    }
    const auto dep = static_cast<std::size_t>(calls_[i]);
    const auto& ids = s_.tier_ids[dep];
    const Time now = s_.sim->now();
    std::size_t inst = cursor_[i]++ % ids.size();
    for (std::size_t k = 1; k < ids.size() && ejected_until_[i][inst] > now; ++k) {
      inst = cursor_[i]++ % ids.size();
    }
    node_.call(ids[inst], Payload::make<TierRequest>(TierRequest{req->family}), kRequestBytes,
               t_.calls[i].timeout, [this, req, i, inst, attempt](world::RpcResult res) {
                 const bool ok = res.ok() && res.payload.as<TierReply>().ok;
                 if (ok) {
                   call(req, i + 1, 1);
                   return;
                 }
                 if (!res.ok()) {
                   ejected_until_[i][inst] = s_.sim->now() + s_.p.zuul.eject_for;
                 }
                 if (attempt < t_.calls[i].max_attempts) {
                   call(req, i, attempt + 1);
                 } else if (t_.calls[i].fallback) {
                   s_.degraded->inc();
                   call(req, i + 1, 1);
                 } else {
                   finish(req, false);
                 }
               });
  }

  void read_cache(const std::shared_ptr<Request>& req, int done) {
    if (done == t_.cache_reads) {
      finish(req, true);
      return;
    }
    const std::uint64_t key = zipf_(rng_) - 1;
    std::weak_ptr<bool> alive = alive_;
    // The cache client library runs in this node: its calls die with this incarnation (and
    // the store's answer, on the kernel, is dropped if it has died meanwhile).
    s_.cache->read(node_, zone_, key, [this, alive, req, done](const evcache::ReadResult& r) {
      if (alive.expired()) {
        return;
      }
      if (r.served == evcache::Served::kFailed) {
        finish(req, false);
        return;
      }
      read_cache(req, done + 1);
    });
  }

  void finish(const std::shared_ptr<Request>& req, bool ok) {
    --in_flight_;
    if (ok) {
      scope_.successes->inc();
      scope_.latency->record(s_.sim->now() - req->start);
    } else {
      scope_.failures->inc();
    }
    req->reply.reply(Payload::make<TierReply>(TierReply{ok, false}), kReplyBytes);
  }

  EdgeStack::State& s_;
  const TierParams& t_;
  Scope scope_;
  Node& node_;
  int zone_;
  Rng rng_;
  Zipf zipf_;
  std::shared_ptr<bool> alive_;
  std::vector<int> calls_;
  std::vector<std::size_t> cursor_;
  std::vector<std::vector<Time>> ejected_until_;
  int in_flight_ = 0;
};

class DeviceProgram final : public world::Program {
public:
  DeviceProgram(EdgeStack::State& s, int family, Node& node)
      : s_(s),
        f_(s.p.families[static_cast<std::size_t>(family)]),
        family_(family),
        scope_(s.families[static_cast<std::size_t>(family)]),
        node_(node),
        rng_(s.sim->rng(fmt::format("zuul/{}/{}", node.name(), node.incarnation()))),
        cursor_(static_cast<std::size_t>(family)),
        ejected_until_(s.zuul_ids.size(), Time::zero()) {}

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
      attempt(s_.sim->now(), 1);
      next_arrival();
    });
  }

  void attempt(Time start, int n) {
    for (Scope* sc : {&s_.devices, &scope_}) {
      sc->attempts->inc();
    }
    const auto count = s_.zuul_ids.size();
    const Time now = s_.sim->now();
    std::size_t i = cursor_++ % count;
    for (std::size_t k = 1; k < count && ejected_until_[i] > now; ++k) {
      i = cursor_++ % count;
    }
    node_.call(s_.zuul_ids[i], Payload::make<DeviceRequest>(DeviceRequest{family_}),
               kRequestBytes, f_.timeout, [this, start, n, i](world::RpcResult res) {
                 EdgeStatus status = EdgeStatus::kFailed;
                 if (res.ok()) {
                   status = res.payload.as<EdgeReply>().status;
                 } else if (res.status == world::RpcStatus::kUnreachable) {
                   ejected_until_[i] = s_.sim->now() + f_.edge_eject_for;
                 }
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
                   attempt(start, n + 1);
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
  std::size_t cursor_;
  std::vector<Time> ejected_until_;
};

}  // namespace

world::ProgramFactory tier_factory(EdgeStack::State& s, int tier, int /*index*/) {
  return [&s, tier](Node& node) { return std::make_unique<TierProgram>(s, tier, node); };
}

world::ProgramFactory device_factory(EdgeStack::State& s, int family) {
  return [&s, family](Node& node) { return std::make_unique<DeviceProgram>(s, family, node); };
}

}  // namespace faultline::sim::zuul
