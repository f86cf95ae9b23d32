// A Zuul instance: throttles each device family (a token bucket), sheds what it cannot hold
// (Zuul 1: no free worker thread and a full accept queue; Zuul 2: too many open connections, or
// too many requests in flight to one origin), runs its filters on the host's CPU, routes the
// family to its origin (or the failover origin when no instance of the origin can be reached),
// and retries a failed attempt on another origin instance through resilience::RetryPolicy and,
// when enabled, a resilience::RetryRatioBudget.
//
// Zuul 1 against Zuul 2 is the one difference in how long a request holds what: in Zuul 1 a
// request holds a worker thread from the moment it gets one until the origin has answered, so a
// slow origin ties up threads and every other family's requests wait in the accept queue behind
// it; in Zuul 2 a waiting request holds only its connection's state, so nothing waits for a
// thread (the Netflix tech blog, "Zuul 2: The Netflix Journey to Asynchronous, Non-Blocking
// Systems", 2016: a blocking connection costs "a thread ... with heavy memory and system
// overhead", a non-blocking one "a file descriptor and the addition of a listener").
#include "internal.hpp"

#include <faultline/probe.hpp>
#include <faultline/resilience/outcome.hpp>

#include <fmt/format.h>

#include <deque>

namespace faultline::sim::zuul {

namespace {
const ProbePoint kProbeFailoverOrigin("zuul/route/failover-origin");

using world::Node;
using world::Payload;
using world::Responder;

/// A run of sheds (or throttles) at one instance, drawn in the trace as one slice: it begins
/// with the first and ends once a second has passed without another.
class Episode {
public:
  explicit Episode(std::string kind) : kind_(std::move(kind)) {}

  void hit(Node& node, std::string_view reason) {
    ++count_;
    last_ = node.sim().now();
    reason_ = reason;
    if (!open_) {
      open_ = true;
      node.sim().record("zuul", kind_ + ".begin",
                        {{"node", node.name()}, {"id", node.name()}, {"reason", reason}});
      check_later(node);
    }
  }

private:
  void check_later(Node& node) {
    node.after(Duration::seconds(1), [this, &node] {
      if (node.sim().now() - last_ >= Duration::seconds(1)) {
        node.sim().record("zuul", kind_ + ".end",
                          {{"node", node.name()},
                           {"id", node.name()},
                           {"count", count_},
                           {"reason", reason_}});
        open_ = false;
        count_ = 0;
      } else {
        check_later(node);
      }
    });
  }

  std::string kind_;
  std::string reason_;  // of the latest hit
  bool open_ = false;
  std::int64_t count_ = 0;
  Time last_;
};

struct Pending {
  int family = 0;
  Responder reply;
};

class ZuulProgram final : public world::Program {
public:
  ZuulProgram(EdgeStack::State& s, int region, int index, Node& node)
      : s_(s),
        z_(s.p.zuul),
        region_(region),
        index_(region * s.p.zuul.instances + index),
        node_(node),
        rng_(s.sim->rng(fmt::format("zuul/{}/{}", node.name(), node.incarnation()))),
        policy_(z_.retry),
        backoff_(z_.retry),
        budget_(z_.retry_budget),
        shedding_("shedding"),
        throttling_("throttling") {
    const auto families = s.p.families.size();
    bucket_.assign(families, Bucket{});
    for (std::size_t f = 0; f < families; ++f) {
      for (const auto& t : z_.throttles) {
        if (t.family == s.p.families[f].name) {
          bucket_[f] = Bucket{true, t.rate_per_s, t.burst, t.burst, s.sim->now()};
        }
      }
    }
    on_failover_.assign(families, false);
    // Per (region, tier): an Isthmus instance calls the home region's origins too.
    const std::size_t slots = s.regions.size() * s.p.tiers.size();
    in_flight_.assign(slots, 0);
    cursor_.assign(slots, static_cast<std::size_t>(index));
    ejected_until_.resize(slots);
    for (std::size_t r = 0; r < s.regions.size(); ++r) {
      for (std::size_t t = 0; t < s.p.tiers.size(); ++t) {
        ejected_until_[slot(static_cast<int>(r), static_cast<int>(t))].assign(
            s.regions[r].tier_ids[t].size(), Time::zero());
      }
    }
  }
  ~ZuulProgram() override { s_.set_zuul_load(index_, 0, 0); }  // a dead instance holds nothing

  void start(Node& node) override {
    node.on_request([this](const world::Message& m, Responder r) { arrive(m, std::move(r)); });
  }

private:
  struct Bucket {
    bool on = false;
    double rate = 0, burst = 0, tokens = 0;
    Time refilled;
  };

  bool admit_family(int f) {
    Bucket& b = bucket_[static_cast<std::size_t>(f)];
    if (!b.on) {
      return true;
    }
    const Time now = s_.sim->now();
    b.tokens = std::min(b.burst, b.tokens + b.rate * (now - b.refilled).to_seconds());
    b.refilled = now;
    if (b.tokens < 1.0) {
      return false;
    }
    b.tokens -= 1.0;
    return true;
  }

  void arrive(const world::Message& m, Responder r) {
    if (m.payload.is<HealthProbe>()) {  // the health endpoint: alive and reachable is healthy
      r.reply(Payload::make<EdgeReply>(EdgeReply{EdgeStatus::kOk}), kProbeBytes);
      return;
    }
    Pending p{m.payload.as<DeviceRequest>().family, std::move(r)};
    if (!admit_family(p.family)) {
      s_.throttled->inc();
      throttling_.hit(node_, s_.p.families[static_cast<std::size_t>(p.family)].name);
      p.reply.reply(Payload::make<EdgeReply>(EdgeReply{EdgeStatus::kThrottled}), kReplyBytes);
      return;
    }
    if (z_.mode == Mode::event_loop) {
      if (open_ >= z_.max_connections) {
        shed(p, "connections");
        return;
      }
      ++open_;
      load_changed();
      serve(std::move(p));
      return;
    }
    if (busy_ < z_.threads) {
      ++open_;
      ++busy_;
      load_changed();
      serve(std::move(p));
    } else if (static_cast<int>(queue_.size()) < z_.accept_queue) {
      ++open_;
      load_changed();
      queue_.push_back(std::move(p));
    } else {
      shed(p, "threads");
    }
  }

  void load_changed() { s_.set_zuul_load(index_, open_, busy_); }

  void shed(Pending& p, std::string_view reason) {
    s_.shed->inc();
    shedding_.hit(node_, reason);
    p.reply.reply(Payload::make<EdgeReply>(EdgeReply{EdgeStatus::kShed}), kReplyBytes);
  }

  void serve(Pending p) {
    if (z_.retry_budget_enabled) {
      budget_.on_request(s_.sim->now());
    }
    node_.compute(z_.filter_cpu, [this, p = std::move(p)]() mutable { route(std::move(p), 1); });
  }

  std::size_t slot(int region, int tier) const {
    return static_cast<std::size_t>(region) * s_.p.tiers.size() + static_cast<std::size_t>(tier);
  }

  /// The region whose origins serve a family's requests here: this one, or under Isthmus the
  /// family's home region (the request is tunnelled there, one more cross-region round trip).
  int serving_region(int family) const {
    const int home = s_.home[static_cast<std::size_t>(family)];
    return s_.p.multi_region.failover == Failover::isthmus ? home : region_;
  }

  /// The next instance of `region`'s origin tier not ejected, round robin; -1 when every one
  /// is.
  int pick(int region, int tier) {
    const auto t = slot(region, tier);
    const auto n = s_.regions[static_cast<std::size_t>(region)].tier_ids[static_cast<std::size_t>(tier)].size();
    const Time now = s_.sim->now();
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t i = cursor_[t]++ % n;
      if (ejected_until_[t][i] <= now) {
        return static_cast<int>(i);
      }
    }
    return -1;
  }

  /// Traces the moves of a family's route at this instance: to the failover origin, and back
  /// once the primary answers.
  void note_route(int f, bool failover, int origin) {
    auto&& flag = on_failover_[static_cast<std::size_t>(f)];
    if (flag != failover) {
      flag = failover;
      if (failover) {
        FAULTLINE_PROBE(*s_.sim, kProbeFailoverOrigin);
      }
      s_.sim->record("zuul", failover ? "failover" : "failback",
                     {{"node", node_.name()},
                      {"family", s_.p.families[static_cast<std::size_t>(f)].name},
                      {"origin", s_.p.tiers[static_cast<std::size_t>(origin)].name}});
    }
  }

  void route(Pending p, int attempt) {
    const Route r = s_.routes[static_cast<std::size_t>(p.family)];
    const int region = serving_region(p.family);
    const RegionStack& rs = s_.regions[static_cast<std::size_t>(region)];
    int origin = r.origin;
    int inst = pick(region, origin);
    const bool failover = inst < 0 && r.failover >= 0;
    if (failover) {
      origin = r.failover;
      inst = pick(region, origin);
      s_.failovers->inc();
    }
    if (failover) {
      note_route(p.family, true, origin);
    }
    if (inst < 0) {  // every instance ejected: try one anyway (it may be back)
      inst = static_cast<int>(cursor_[slot(region, origin)]++ %
                              rs.tier_ids[static_cast<std::size_t>(origin)].size());
    }
    auto& in_flight = in_flight_[slot(region, origin)];
    if (z_.origin_max_concurrency > 0 && in_flight >= z_.origin_max_concurrency) {
      finish(p, EdgeStatus::kShed, "origin-concurrency");
      return;
    }
    ++in_flight;
    // The origin is a tier of the service graph: one attempt to the instance picked, through
    // Zuul's caller of that tier. The pending request is shared: the graph's callback is
    // copyable.
    auto held = std::make_shared<Pending>(std::move(p));
    rs.graph->call(rs.origin_callers[static_cast<std::size_t>(origin)], node_.id(),
                   static_cast<std::size_t>(inst),
                   [this, held, region, origin, inst, attempt](resilience::Outcome o) {
                     --in_flight_[slot(region, origin)];
                     answered(std::move(*held), region, origin, inst, attempt, o);
                   });
  }

  void answered(Pending p, int region, int origin, int inst, int attempt,
                resilience::Outcome o) {
    switch (o) {
      case resilience::Outcome::ok:
        if (origin == s_.routes[static_cast<std::size_t>(p.family)].origin) {
          note_route(p.family, false, origin);  // the primary answers again
        }
        finish(p, EdgeStatus::kOk, {});
        return;
      case resilience::Outcome::overloaded:  // shed by the origin (503): retry elsewhere
        break;
      case resilience::Outcome::timeout:
      case resilience::Outcome::unavailable:
        ejected_until_[slot(region, origin)][static_cast<std::size_t>(inst)] =
            s_.sim->now() + z_.eject_for;
        break;
      case resilience::Outcome::server_error:  // a 500: the origin failed the request itself
      case resilience::Outcome::rejected_local:
      case resilience::Outcome::bad_request:
        s_.origin_errors->inc();
        finish(p, EdgeStatus::kFailed, {});
        return;
    }
    s_.origin_errors->inc();
    if (!policy_.should_retry(attempt, o)) {
      finish(p, EdgeStatus::kFailed, {});
      return;
    }
    if (z_.retry_budget_enabled && !budget_.try_retry(s_.sim->now())) {
      s_.retries_denied->inc();
      finish(p, EdgeStatus::kFailed, {});
      return;
    }
    s_.retries->inc();
    const Duration wait = backoff_.delay(attempt, rng_);
    if (wait <= Duration::zero()) {
      route(std::move(p), attempt + 1);
      return;
    }
    node_.after(wait, [this, p = std::move(p), attempt]() mutable {
      route(std::move(p), attempt + 1);
    });
  }

  void finish(Pending& p, EdgeStatus status, std::string_view shed_reason) {
    if (status == EdgeStatus::kShed) {
      s_.shed->inc();
      shedding_.hit(node_, shed_reason);
    }
    p.reply.reply(Payload::make<EdgeReply>(EdgeReply{status}), kReplyBytes);
    --open_;
    if (z_.mode == Mode::thread_per_request) {
      --busy_;
      while (!queue_.empty() && busy_ < z_.threads) {
        Pending next = std::move(queue_.front());
        queue_.pop_front();
        ++busy_;
        serve(std::move(next));
      }
    }
    load_changed();
  }

  EdgeStack::State& s_;
  const ZuulParams& z_;
  int region_;
  int index_;  // over all regions (State::open)
  Node& node_;
  Rng rng_;
  resilience::RetryPolicy policy_;
  resilience::Backoff backoff_;
  resilience::RetryRatioBudget budget_;
  Episode shedding_, throttling_;
  std::vector<Bucket> bucket_;
  std::vector<bool> on_failover_;
  std::vector<int> in_flight_;
  std::vector<std::size_t> cursor_;
  std::vector<std::vector<Time>> ejected_until_;
  int open_ = 0, busy_ = 0;
  std::deque<Pending> queue_;  // Zuul 1's accept queue: open, waiting for a worker thread
};

}  // namespace

world::ProgramFactory zuul_factory(EdgeStack::State& s, int region, int index) {
  return [&s, region, index](Node& node) {
    return std::make_unique<ZuulProgram>(s, region, index, node);
  };
}

}  // namespace faultline::sim::zuul
