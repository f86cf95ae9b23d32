// The edges of the trip workflow: riders who request trips, dispatch (the drivers' apps) that
// matches a driver and sends the trip's signals, and the payment service.
#include "internal.hpp"

#include <fmt/format.h>

#include <map>
#include <set>

namespace faultline::sim::cadence::detail {

namespace {

using world::Message;
using world::Node;
using world::NodeId;
using world::Payload;
using world::RpcResult;

NodeId history_of(const CadenceCluster::State& s, const std::string& workflow) {
  return s.history_ids[static_cast<std::size_t>(
      shard_of(workflow, static_cast<int>(s.history_ids.size())))];
}

Duration uniform(Rng& rng, Duration lo, Duration hi) {
  return Duration::nanos(rng.uniform_int(lo.ns(), std::max(lo.ns(), hi.ns())));
}

/// Riders: trip requests as a Poisson process; each start is retried until acknowledged.
class RidersProgram final : public world::Program {
public:
  RidersProgram(CadenceCluster::State& s, Node& node)
      : s_(s), p_(s.p.riders), node_(node),
        rng_(node.sim().rng(fmt::format("cadence/riders/{}", node.incarnation()))) {}

  void start(Node& node) override { node.spawn(arrivals()); }

private:
  Task<void> arrivals() {
    const double mean_gap_s = 1.0 / p_.trips_per_s;
    for (;;) {
      co_await node_.sleep(Duration::from_seconds(rng_.exponential(mean_gap_s)));
      if (p_.stop_at > Duration::zero() && node_.sim().now() >= Time::zero() + p_.stop_at) {
        co_return;
      }
      node_.spawn(start_trip(fmt::format("trip-{:06d}-{}", ++trips_, node_.incarnation())));
    }
  }

  Task<void> start_trip(std::string id) {
    const auto& names = metric_names();
    for (;;) {
      s_.sim->metrics().counter(names.attempts).inc();
      Payload req =
          Payload::make<StartWorkflow>(StartWorkflow{id, std::to_string(s_.p.trip.amount_cents)});
      RpcResult r = co_await node_.call(history_of(s_, id), std::move(req), kSmallBytes,
                                        p_.call_timeout);
      const HistoryAck* a = r.ok() ? r.payload.get<HistoryAck>() : nullptr;
      if (a != nullptr && a->ok) {
        s_.acknowledged.push_back(id);
        s_.started_at[id] = node_.sim().now();
        s_.sim->metrics().counter(names.requests).inc();
        co_return;
      }
      co_await node_.sleep(p_.retry_every);
    }
  }

  CadenceCluster::State& s_;
  const RiderParams& p_;
  Node& node_;
  Rng rng_;
  std::uint64_t trips_ = 0;
};

/// Dispatch and the drivers' apps: a trip is matched a random time after its first search;
/// then the driver arrives (or never does) and the trip ends, each sent as a signal that is
/// retried until the history host takes it. Its randomness is per trip, so a repeated search
/// sees the same driver.
class DispatchProgram final : public world::Program {
public:
  DispatchProgram(CadenceCluster::State& s, Node& node) : s_(s), p_(s.p.riders), node_(node) {}

  void start(Node& node) override {
    node.on_request([this](Message m) -> Task<world::Reply> { return serve(std::move(m)); });
  }

private:
  struct Trip {
    Time match_at;
    bool matched = false;
  };

  Task<world::Reply> serve(Message m) {
    if (const auto* rating = m.payload.get<RatingRequest>()) {
      (void)rating;
      s_.sim->metrics().counter("cadence/ratings").inc();
      co_return world::Reply{Payload::make<MatchReply>(MatchReply{true, {}}), kSmallBytes};
    }
    const MatchDriver& q = m.payload.as<MatchDriver>();
    const Time now = node_.sim().now();
    auto it = trips_.find(q.trip);
    if (it == trips_.end()) {
      Rng rng = node_.sim().rng(fmt::format("cadence/dispatch/{}", q.trip));
      it = trips_.emplace(q.trip, Trip{now + uniform(rng, {}, p_.match_mean * 2), false}).first;
    }
    Trip& t = it->second;
    if (now < t.match_at) {
      co_return world::Reply{Payload::make<MatchReply>(), kSmallBytes};
    }
    if (!t.matched) {
      t.matched = true;
      Rng rng = node_.sim().rng(fmt::format("cadence/dispatch/{}/ride", q.trip));
      if (!rng.bernoulli(static_cast<std::uint64_t>(p_.no_show_ratio * 1e6), 1'000'000)) {
        const Time arrive = now + uniform(rng, {}, p_.pickup_mean * 2);
        const Time end = arrive + uniform(rng, p_.trip_mean / 2, p_.trip_mean * 3 / 2);
        node_.spawn(send_signal(q.trip, "driver_arrived", arrive));
        node_.spawn(send_signal(q.trip, "trip_completed", end));
      }
    }
    co_return world::Reply{
        Payload::make<MatchReply>(MatchReply{true, fmt::format("driver-of-{}", q.trip)}),
        kSmallBytes};
  }

  Task<void> send_signal(std::string trip, std::string name, Time at) {
    co_await node_.sleep(at - node_.sim().now());
    for (;;) {
      Payload req = Payload::make<SignalWorkflow>(SignalWorkflow{trip, name});
      RpcResult r = co_await node_.call(history_of(s_, trip), std::move(req), kSmallBytes,
                                        p_.call_timeout);
      const HistoryAck* a = r.ok() ? r.payload.get<HistoryAck>() : nullptr;
      if (a != nullptr && (a->ok || a->not_found)) {
        co_return;
      }
      co_await node_.sleep(p_.retry_every);
    }
  }

  CadenceCluster::State& s_;
  const RiderParams& p_;
  Node& node_;
  std::map<std::string, Trip> trips_;
};

/// The payment service: a charge is durable (fsynced) before it counts and before the reply;
/// idempotency keys are remembered durably with the charge, so a retried key gets the first
/// charge back. A request without a key is always a new charge.
class PaymentProgram final : public world::Program {
public:
  PaymentProgram(CadenceCluster::State& s, Node& node) : s_(s), node_(node) {}

  void start(Node& node) override {
    if (const std::string* log = node.host().disk().read(kLog)) {
      std::size_t pos = 0;
      while (pos < log->size()) {
        const std::size_t nl = log->find('\n', pos);
        if (nl == std::string::npos) {
          break;
        }
        const std::string line = log->substr(pos, nl - pos);
        pos = nl + 1;
        const std::size_t tab = line.find('\t');
        if (tab != std::string::npos && tab > 0) {
          keys_[line.substr(0, tab)] = line.substr(tab + 1);
        }
        ++charges_;
      }
    }
    node.on_request([this](Message m) -> Task<world::Reply> { return serve(std::move(m)); });
  }

private:
  static constexpr std::string_view kLog = "charges.log";

  Task<world::Reply> serve(Message m) {
    const Charge c = m.payload.as<Charge>();
    co_await node_.sleep(s_.p.payment.latency);
    if (!c.key.empty()) {
      if (auto it = keys_.find(c.key); it != keys_.end()) {
        co_return world::Reply{Payload::make<ChargeReply>(ChargeReply{true, false, it->second}),
                               kSmallBytes};
      }
      if (in_flight_.contains(c.key)) {
        co_return world::Reply{Payload::make<ChargeReply>(ChargeReply{false, true, {}}),
                               kSmallBytes};
      }
      in_flight_.insert(c.key);
    }
    const std::string charge = fmt::format("ch-{}-{}", c.trip, ++charges_);
    world::Disk& disk = node_.host().disk();
    disk.append_now(kLog, fmt::format("{}\t{}\n", c.key, charge));
    std::string file(kLog);  // a local: g++ 12 mishandles class temporaries in co_await operands
    co_await disk.fsync(std::move(file));
    // Durable: the money has moved, whatever happens to this process next.
    s_.charges.push_back({c.trip, node_.sim().now(), charge});
    ++s_.charges_per_trip[c.trip];
    s_.sim->metrics().counter("cadence/payments/charges").inc();
    in_flight_.erase(c.key);
    if (!c.key.empty()) {
      keys_[c.key] = charge;
    }
    PassGate gate{node_};
    co_await gate;
    co_return world::Reply{Payload::make<ChargeReply>(ChargeReply{true, false, charge}),
                           kSmallBytes};
  }

  CadenceCluster::State& s_;
  Node& node_;
  std::map<std::string, std::string> keys_;
  std::set<std::string> in_flight_;
  std::uint64_t charges_ = 0;
};

}  // namespace

world::ProgramFactory riders_factory(CadenceCluster::State& s) {
  return [&s](Node& node) { return std::make_unique<RidersProgram>(s, node); };
}
world::ProgramFactory dispatch_factory(CadenceCluster::State& s) {
  return [&s](Node& node) { return std::make_unique<DispatchProgram>(s, node); };
}
world::ProgramFactory payment_factory(CadenceCluster::State& s) {
  return [&s](Node& node) { return std::make_unique<PaymentProgram>(s, node); };
}

}  // namespace faultline::sim::cadence::detail
