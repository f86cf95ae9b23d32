// StripeCluster: builds the nodes of the payment path in a World and answers the probes and
// checkers' questions at the end of a run.
#include <faultline/world/layout.hpp>
#include "internal.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace faultline::sim::stripe {

using world::NodeId;

namespace detail {
const LedgerState* ledger_state_of(const StripeCluster::State& s, int i, Role* role,
                                   std::uint64_t* epoch);
}  // namespace detail

std::string ChargeRequest::params() const {
  return fmt::format("amount={}&currency={}", amount, currency);
}

const StripeMetricNames& metric_names() {
  static const StripeMetricNames names{
      "stripe/requests",       "stripe/successes",       "stripe/failures",
      "stripe/attempts",       "stripe/latency",         "stripe/reads/requests",
      "stripe/reads/successes", "stripe/reads/failures", "stripe/reads/attempts",
      "stripe/reads/latency"};
  return names;
}

std::vector<std::string> StripeCluster::groups() {
  return {"api", "consumers", "customers", "ledger", "log", "monitor", "processor", "relay",
          "worker"};
}

StripeCluster::StripeCluster(Simulation& sim, StripeParams params)
    : s_(std::make_unique<State>()) {
  params.validate();
  State& s = *s_;
  s.sim = &sim;
  s.p = std::move(params);
  s.world = std::make_unique<world::World>(sim);
  world::World& w = *s.world;
  const auto zones =
      world::add_region_with_zones(w, "us-east", {"us-east-1a", "us-east-1b", "us-east-1c"});
  auto zone = [&](int i) { return world::round_robin(zones, i); };
  // The processor and the customers are outside Stripe's network: another region each.
  const auto psp_zone = w.add_zone(w.add_region("processor"), "processor-1");
  const auto customer_zone = w.add_zone(w.add_region("internet"), "internet-1");

  auto add = [&](world::ZoneId z, const std::string& name, const std::string& group,
                 world::ProgramFactory f) {
    return world::add_node_on_own_host(w, z, name, group, std::move(f));
  };
  const int ledgers = 1 + s.p.ledger.standbys;
  s.ledgers.assign(static_cast<std::size_t>(ledgers), nullptr);
  for (int i = 0; i < ledgers; ++i) {
    s.ledger_ids.push_back(
        add(zone(i), fmt::format("ledger-{}", i), "ledger", detail::ledger_factory(s, i)));
  }
  s.monitor_id = add(zone(0), "monitor", "monitor", detail::monitor_factory(s));
  for (int i = 0; i < s.p.api.servers; ++i) {
    s.api_ids.push_back(add(zone(i), fmt::format("api-{}", i), "api", detail::api_factory(s, i)));
  }
  s.processor_id = add(psp_zone, "processor", "processor", detail::processor_factory(s));
  s.worker_id = add(zone(1), "worker", "worker", detail::worker_factory(s));
  if (s.p.events != EventMode::kNone) {
    for (int i = 0; i < s.p.log.brokers; ++i) {
      s.broker_ids.push_back(
          add(zone(i), fmt::format("broker-{}", i), "log", detail::broker_factory(s, i)));
    }
    // The relay node exists in dual-write mode too (idle), so one fault timeline fits both.
    s.relay_id = add(zone(2), "relay", "relay", detail::relay_factory(s));
    for (int i = 0; i < s.p.log.consumers; ++i) {
      s.consumer_ids.push_back(add(zone(i), fmt::format("consumer-{}", i), "consumers",
                                   detail::consumer_factory(s, i)));
    }
  }
  s.customers_id = add(customer_zone, "customers", "customers", detail::customers_factory(s));
}

StripeCluster::~StripeCluster() {
  s_->world.reset();  // the programs go first: their destructors touch the shared state
}

world::World& StripeCluster::world() { return *s_->world; }
const StripeParams& StripeCluster::params() const { return s_->p; }
NodeId StripeCluster::api_node(int i) const { return s_->api_ids.at(static_cast<std::size_t>(i)); }
NodeId StripeCluster::ledger_node(int i) const {
  return s_->ledger_ids.at(static_cast<std::size_t>(i));
}
NodeId StripeCluster::processor_node() const { return s_->processor_id; }
const check::History& StripeCluster::history() const { return s_->history; }
const std::vector<check::Effect>& StripeCluster::processor_charges() const {
  return s_->processor_charges;
}
const std::vector<check::OutboxRecord>& StripeCluster::events_committed() const {
  return s_->committed;
}
const std::vector<check::OutboxRecord>& StripeCluster::events_applied() const {
  return s_->applied;
}

int StripeCluster::leader() const {
  int best = -1;
  std::uint64_t best_epoch = 0;
  for (int i = 0; i < static_cast<int>(s_->ledgers.size()); ++i) {
    detail::Role role{};
    std::uint64_t epoch = 0;
    if (detail::ledger_state_of(*s_, i, &role, &epoch) != nullptr &&
        role == detail::Role::kLeader && epoch > best_epoch) {
      best = i;
      best_epoch = epoch;
    }
  }
  return best;
}

const LedgerState* StripeCluster::ledger_state(int i) const {
  return detail::ledger_state_of(*s_, i, nullptr, nullptr);
}

std::vector<check::Effect> StripeCluster::ledger_charges() const {
  std::vector<check::Effect> out;
  const int l = leader();
  if (l < 0) {
    return out;
  }
  for (const auto& [id, c] : ledger_state(l)->charges()) {
    // created_at is the leader's clock (UTC); host clocks run true by default, so this maps
    // it back to simulation time for the checker's "effect before its request" test.
    out.push_back({c.intent,
                   Time::zero() + Duration::nanos(c.created_at_ns - s_->sim->epoch().unix_ns()),
                   id});
  }
  return out;
}

std::uint64_t StripeCluster::double_charges() const {
  return s_->double_charges;
}

std::uint64_t StripeCluster::unrecorded_charges() const {
  const int l = leader();
  if (l < 0) {
    return s_->processor_charge_ids.size();
  }
  auto& cache = s_->unrecorded_cache;
  const std::uint64_t lsn = ledger_state(l)->lsn();
  if (cache.matches(l, lsn, s_->processor_charge_ids.size())) {
    return cache.value;
  }
  std::set<std::string> recorded;
  for (const auto& [id, c] : ledger_state(l)->charges()) {
    recorded.insert(c.processor_charge);
  }
  std::uint64_t n = 0;
  for (const std::string& c : s_->processor_charge_ids) {
    n += recorded.count(c) == 0 ? 1 : 0;
  }
  cache = {l, lsn, s_->processor_charge_ids.size(), n};
  return n;
}

std::uint64_t StripeCluster::lost_acknowledged_charges() const {
  const int l = leader();
  auto& cache = s_->lost_cache;
  const std::uint64_t lsn = l >= 0 ? ledger_state(l)->lsn() : 0;
  if (cache.matches(l, lsn, s_->acked_intents.size())) {
    return cache.value;
  }
  std::set<std::string> intents;
  if (l >= 0) {
    for (const auto& [id, c] : ledger_state(l)->charges()) {
      intents.insert(c.intent);
    }
  }
  std::uint64_t n = 0;
  for (const std::string& i : s_->acked_intents) {
    n += intents.count(i) == 0 ? 1 : 0;
  }
  cache = {l, lsn, s_->acked_intents.size(), n};
  return n;
}

std::uint64_t StripeCluster::events_missing() const {
  std::uint64_t n = 0;
  for (const auto& r : s_->committed) {
    n += s_->applied_count.count(r.id) == 0 ? 1 : 0;
  }
  return n;
}

std::uint64_t StripeCluster::events_applied_twice() const {
  std::uint64_t n = 0;
  for (const auto& [id, count] : s_->applied_count) {
    n += count > 1 ? static_cast<std::uint64_t>(count - 1) : 0;
  }
  return n;
}

std::uint64_t StripeCluster::events_pending() const { return events_missing(); }

}  // namespace faultline::sim::stripe
