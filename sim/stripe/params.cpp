#include <faultline/sim/stripe/params.hpp>

#include <fmt/format.h>

#include <stdexcept>

namespace faultline::sim::stripe {

namespace {

void require(bool ok, std::string_view field, std::string_view problem, std::string_view fix) {
  if (!ok) {
    throw std::invalid_argument(fmt::format("{}: {}; {}", field, problem, fix));
  }
}
void positive(Duration d, std::string_view field) {
  require(d > Duration::zero(), field, "must be positive", "use e.g. \"100ms\"");
}
void probability(double p, std::string_view field) {
  require(p >= 0.0 && p <= 1.0, field, fmt::format("is {}, not a probability", p),
          "use a number in [0, 1]");
}

}  // namespace

std::string_view to_string(EventMode m) {
  switch (m) {
    case EventMode::kNone: return "none";
    case EventMode::kOutbox: return "outbox";
    case EventMode::kDualWrite: return "dual_write";
  }
  return "?";
}

std::optional<EventMode> parse_event_mode(std::string_view text) {
  for (EventMode m : {EventMode::kNone, EventMode::kOutbox, EventMode::kDualWrite}) {
    if (to_string(m) == text) {
      return m;
    }
  }
  return std::nullopt;
}

void LedgerParams::validate() const {
  require(standbys >= 0 && standbys <= 4, "ledger.standbys", fmt::format("is {}", standbys),
          "use 0 to 4");
  require(!synchronous || (sync_acks >= 1 && sync_acks <= standbys), "ledger.sync_acks",
          fmt::format("is {} with {} standbys", sync_acks, standbys),
          "a synchronous ledger needs 1 <= sync_acks <= standbys (or synchronous: false)");
  require(txn_cpu >= Duration::zero(), "ledger.txn_cpu", "is negative", "use e.g. \"50us\"");
  require(async_lag >= Duration::zero(), "ledger.async_lag", "is negative", "use e.g. \"200ms\"");
  positive(replicate_timeout, "ledger.replicate_timeout");
  positive(health_interval, "ledger.health_interval");
  positive(health_timeout, "ledger.health_timeout");
  require(failover_after >= 1, "ledger.failover_after", "must be at least 1", "use e.g. 3");
  require(!failover || standbys >= 1, "ledger.failover", "needs a standby to promote",
          "set ledger.standbys >= 1 or failover: false");
}

void ProcessorParams::validate() const {
  require(latency_base >= Duration::zero(), "processor.latency_base", "is negative",
          "use e.g. \"150ms\"");
  require(latency_exp_mean >= Duration::zero(), "processor.latency_exp_mean", "is negative",
          "use e.g. \"100ms\"");
  probability(decline_ratio, "processor.decline_ratio");
}

void ApiParams::validate() const {
  require(servers >= 1 && servers <= 100, "api.servers", fmt::format("is {}", servers),
          "use 1 to 100");
  require(max_key_length >= 1, "api.max_key_length", "must be at least 1",
          "Stripe accepts up to 255 characters");
  positive(lock_timeout, "api.lock_timeout");
  require(rate_limit_per_s >= 0.0, "api.rate_limit_per_s", "is negative", "use 0 to turn it off");
  require(rate_limit_burst >= 1.0, "api.rate_limit_burst", "must be at least 1", "use e.g. 10");
  positive(processor_timeout, "api.processor_timeout");
  positive(ledger_timeout, "api.ledger_timeout");
  require(request_cpu >= Duration::zero(), "api.request_cpu", "is negative", "use e.g. \"200us\"");
  positive(read_timeout, "api.read_timeout");
  try {
    read_hedge.validate();
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(fmt::format("api.read_hedge: {}", e.what()));
  }
}

void CompleterParams::validate() const {
  positive(interval, "completer.interval");
  require(abandoned_after >= Duration::zero(), "completer.abandoned_after", "is negative",
          "use e.g. \"2m\"");
  require(batch >= 1, "completer.batch", "must be at least 1", "use e.g. 50");
}

void ReaperParams::validate() const {
  positive(interval, "reaper.interval");
  positive(horizon, "reaper.horizon");
}

resilience::RetryParams ClientParams::default_retry() {
  resilience::RetryParams r;
  r.max_attempts = 8;
  r.base = Duration::millis(500);
  r.cap = Duration::seconds(30);
  r.jitter = resilience::Jitter::full;
  return r;
}

void ClientParams::validate() const {
  require(customers >= 1 && customers <= 100000, "clients.customers",
          fmt::format("is {}", customers), "use 1 to 100000");
  positive(think_time, "clients.think_time");
  require(stop_at >= Duration::zero(), "clients.stop_at", "is negative", "use e.g. \"5m\"");
  positive(timeout, "clients.timeout");
  try {
    retry.validate();
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(fmt::format("clients.retry.{}", e.what()));
  }
  probability(double_click_ratio, "clients.double_click_ratio");
  positive(double_click_within, "clients.double_click_within");
  probability(param_mismatch_ratio, "clients.param_mismatch_ratio");
  probability(retrieve_ratio, "clients.retrieve_ratio");
  require(amount >= 1, "clients.amount", "must be at least 1 (cents)", "use e.g. 2000");
}

void LogParams::validate() const {
  require(brokers >= 1 && brokers <= 50, "log.brokers", fmt::format("is {}", brokers),
          "use 1 to 50");
  require(partitions >= 1 && partitions <= 1000, "log.partitions",
          fmt::format("is {}", partitions), "use 1 to 1000");
  require(replication >= 1 && replication <= brokers, "log.replication",
          fmt::format("is {} with {} brokers", replication, brokers),
          "use 1 <= replication <= brokers");
  require(consumers >= 1 && consumers <= partitions, "log.consumers",
          fmt::format("is {} with {} partitions", consumers, partitions),
          "use 1 <= consumers <= partitions");
  positive(relay_interval, "log.relay_interval");
  require(relay_batch >= 1, "log.relay_batch", "must be at least 1", "use e.g. 100");
  positive(consumer_interval, "log.consumer_interval");
  positive(produce_timeout, "log.produce_timeout");
}

void StripeParams::validate() const {
  ledger.validate();
  processor.validate();
  api.validate();
  completer.validate();
  reaper.validate();
  clients.validate();
  log.validate();
  require(!completer.enabled || completer.abandoned_after >= api.lock_timeout,
          "completer.abandoned_after",
          fmt::format("is {} but api.lock_timeout is {}", completer.abandoned_after.to_string(),
                      api.lock_timeout.to_string()),
          "the completer must not take over keys a live request may still hold; use at least "
          "the lock timeout");
}

}  // namespace faultline::sim::stripe
