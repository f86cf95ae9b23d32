// Validation of the Cadence model's parameters: each error names the field and the fix.
#include <faultline/sim/cadence/params.hpp>

#include <fmt/format.h>

#include <stdexcept>

namespace faultline::sim::cadence {

namespace {

void require(bool ok, std::string_view field, std::string_view problem, std::string_view fix) {
  if (!ok) {
    throw std::invalid_argument(fmt::format("{}: {}; {}", field, problem, fix));
  }
}
void positive(Duration d, std::string_view field) {
  require(d > Duration::zero(), field, "must be positive", "use e.g. \"10s\"");
}
void non_negative(Duration d, std::string_view field) {
  require(d >= Duration::zero(), field, "must not be negative", "use 0s or more");
}

}  // namespace

std::string_view to_string(Persistence p) {
  switch (p) {
    case Persistence::kFsync: return "fsync";
    case Persistence::kAckThenSync: return "ack_then_sync";
    case Persistence::kMemory: return "memory";
  }
  return "?";
}

std::optional<Persistence> parse_persistence(std::string_view text) {
  for (Persistence p : {Persistence::kFsync, Persistence::kAckThenSync, Persistence::kMemory}) {
    if (to_string(p) == text) {
      return p;
    }
  }
  return std::nullopt;
}

void HistoryParams::validate() const {
  require(hosts >= 1 && hosts <= 64, "history.hosts", fmt::format("is {}", hosts),
          "use 1 to 64 history hosts");
  positive(flush_interval, "history.flush_interval");
  positive(decision_timeout, "history.decision_timeout");
  positive(poll_timeout, "history.poll_timeout");
  non_negative(request_cpu, "history.request_cpu");
}

void WorkerParams::validate() const {
  require(workers >= 1 && workers <= 1000, "workers.workers", fmt::format("is {}", workers),
          "use 1 to 1000 workers");
  require(decision_pollers >= 1 && decision_pollers <= 256, "workers.decision_pollers",
          fmt::format("is {}", decision_pollers), "use 1 to 256 pollers per worker");
  require(activity_pollers >= 1 && activity_pollers <= 4096, "workers.activity_pollers",
          fmt::format("is {}", activity_pollers), "use 1 to 4096 pollers per worker");
  non_negative(decision_cpu, "workers.decision_cpu");
  positive(rpc_timeout, "workers.rpc_timeout");
}

void ActivityOptions::validate(std::string_view field) const {
  try {
    retry.validate();
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(fmt::format("{}.{}", field, e.what()));
  }
  positive(start_to_close, fmt::format("{}.start_to_close", field));
  non_negative(heartbeat_timeout, fmt::format("{}.heartbeat_timeout", field));
}

ActivityOptions TripParams::default_find_driver() {
  // Dispatch may search for minutes: a long start-to-close and a short heartbeat timeout, so a
  // worker that dies mid-search is noticed in seconds, not minutes (assumptions).
  ActivityOptions o;
  o.retry = {.max_attempts = 20, .base = Duration::seconds(1), .cap = Duration::seconds(30)};
  o.start_to_close = Duration::minutes(15);
  o.heartbeat_timeout = Duration::seconds(30);
  return o;
}
ActivityOptions TripParams::default_payment() {
  ActivityOptions o;
  o.retry = {.max_attempts = 50, .base = Duration::seconds(1), .cap = Duration::seconds(60)};
  o.start_to_close = Duration::seconds(10);
  return o;
}
ActivityOptions TripParams::default_rating() {
  ActivityOptions o;
  o.retry = {.max_attempts = 20, .base = Duration::seconds(1), .cap = Duration::seconds(60)};
  o.start_to_close = Duration::seconds(10);
  return o;
}

void TripParams::validate() const {
  positive(arrival_timeout, "trip.arrival_timeout");
  positive(completion_timeout, "trip.completion_timeout");
  find_driver.validate("trip.find_driver");
  payment.validate("trip.payment");
  rating.validate("trip.rating");
  positive(match_poll, "trip.match_poll");
  positive(call_timeout, "trip.call_timeout");
  require(amount_cents >= 1, "trip.amount_cents", fmt::format("is {}", amount_cents),
          "use a positive amount in cents");
}

void RiderParams::validate() const {
  require(trips_per_s > 0 && trips_per_s <= 10000, "riders.trips_per_s",
          fmt::format("is {}", trips_per_s), "use a rate in (0, 10000] per second");
  non_negative(stop_at, "riders.stop_at");
  non_negative(match_mean, "riders.match_mean");
  non_negative(pickup_mean, "riders.pickup_mean");
  require(no_show_ratio >= 0 && no_show_ratio <= 1, "riders.no_show_ratio",
          fmt::format("is {}, not a probability", no_show_ratio), "use a number in [0, 1]");
  positive(trip_mean, "riders.trip_mean");
  positive(call_timeout, "riders.call_timeout");
  positive(retry_every, "riders.retry_every");
}

void PaymentParams::validate() const { non_negative(latency, "payment.latency"); }

void CadenceParams::validate() const {
  history.validate();
  workers.validate();
  trip.validate();
  riders.validate();
  payment.validate();
}

}  // namespace faultline::sim::cadence
