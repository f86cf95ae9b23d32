// Parameters of the Cadence-style workflow model (sim/cadence): history hosts that keep each
// workflow's event history on the simulated disk, workers that poll for decision and activity
// tasks and replay workflow code from history, and Uber's trip workflow with its edges (riders
// who request trips, the drivers' apps that match and send signals, a payment service).
//
// Semantics: Cadence's documented model (history service, task lists, decision tasks, activity
// retry policies and timeouts, durable timers, signals); the trip workflow is the seed's
// (case-studies.md, Uber). Every number not from a source is marked as an assumption.
#pragma once

#include <faultline/resilience/backoff.hpp>
#include <faultline/time.hpp>

#include <cstdint>
#include <optional>
#include <string_view>

namespace faultline::sim::cadence {

/// How the history service keeps a workflow's events.
enum class Persistence : std::uint8_t {
  kFsync,       // appended and fsynced on the host's disk before any acknowledgement
  kAckThenSync, // appended, acknowledged, fsynced by a background flush (a crash loses the tail)
  kMemory,      // only in the history host's memory: a crash loses every workflow on it
};
std::string_view to_string(Persistence p);
std::optional<Persistence> parse_persistence(std::string_view text);

struct HistoryParams {
  /// History hosts; workflow w lives on host hash(w) % hosts (one shard per host).
  int hosts = 3;
  Persistence persistence = Persistence::kFsync;
  /// kAckThenSync: time between background fsyncs (assumption).
  Duration flush_interval = Duration::seconds(1);
  /// A decision task handed to a worker and not completed in this time is scheduled again
  /// (Cadence's default decision task start-to-close timeout is 10 s).
  Duration decision_timeout = Duration::seconds(10);
  /// A poll with no task waiting is answered empty after this (a long poll; Cadence's
  /// matching service holds a poll for about a minute).
  Duration poll_timeout = Duration::seconds(60);
  /// CPU per request on a history host (assumption).
  Duration request_cpu = Duration::micros(100);
  void validate() const;
};

struct WorkerParams {
  int workers = 4;
  /// Concurrent long polls per worker and history host for decision tasks; and activity
  /// slots per worker (spread over the hosts): each polls for an activity task and runs it to
  /// the end, so a worker runs at most this many activities at once (assumption; Cadence's Go
  /// client allows 1,000 concurrent activity executions).
  int decision_pollers = 2;
  int activity_pollers = 100;
  /// CPU to replay a workflow's history and decide (assumption).
  Duration decision_cpu = Duration::millis(1);
  /// Timeout of a worker's calls to a history host (polls add poll_timeout).
  Duration rpc_timeout = Duration::seconds(1);
  void validate() const;
};

/// An activity type's options, as a workflow schedules it.
struct ActivityOptions {
  /// Attempts (max_attempts) and the backoff between them; the history service retries.
  resilience::RetryParams retry;
  /// An attempt not completed this long after it was handed to a worker has failed.
  Duration start_to_close = Duration::minutes(1);
  /// An attempt whose worker has not heartbeated for this long has failed (zero: none).
  Duration heartbeat_timeout{};
  void validate(std::string_view field) const;
};

/// The trip workflow and its edges.
struct TripParams {
  /// The seed's waits: "driver_arrived" within 30 min, "trip_completed" within 8 h.
  Duration arrival_timeout = Duration::minutes(30);
  Duration completion_timeout = Duration::hours(8);
  ActivityOptions find_driver = default_find_driver();
  ActivityOptions payment = default_payment();
  ActivityOptions rating = default_rating();
  /// The payment activity sends an idempotency key derived from (trip, activity); false: none,
  /// so a retried attempt whose first charge went through charges again.
  bool payment_key = true;
  /// find_driver asks dispatch this often while it waits, heartbeating each time (assumption).
  Duration match_poll = Duration::seconds(10);
  /// Timeout of an activity's call to dispatch or to the payment service.
  Duration call_timeout = Duration::seconds(2);
  std::int64_t amount_cents = 1500;

  static ActivityOptions default_find_driver();
  static ActivityOptions default_payment();
  static ActivityOptions default_rating();
  void validate() const;
};

/// Riders request trips; the drivers' apps (dispatch) match and send the signals.
struct RiderParams {
  /// Trip requests per second (Poisson), until stop_at (zero: until the end of the run).
  double trips_per_s = 1.0;
  Duration stop_at{};
  /// Time from the first find_driver call to a match: U(0, 2 × mean) (assumption).
  Duration match_mean = Duration::seconds(60);
  /// Driver's time to the pickup: U(0, 2 × mean) (assumption: a few minutes).
  Duration pickup_mean = Duration::minutes(5);
  /// Fraction of matched drivers who never arrive (the 30 min timeout ends the trip).
  double no_show_ratio = 0.02;
  /// Trip length: U(0.5 × mean, 1.5 × mean) (assumption).
  Duration trip_mean = Duration::minutes(15);
  /// Timeout of a StartWorkflow or signal call; they are retried until acknowledged.
  Duration call_timeout = Duration::seconds(1);
  Duration retry_every = Duration::seconds(2);
  void validate() const;
};

struct PaymentParams {
  /// Time to charge a card (assumption: a few hundred ms).
  Duration latency = Duration::millis(200);
  void validate() const;
};

struct CadenceParams {
  HistoryParams history;
  WorkerParams workers;
  TripParams trip;
  RiderParams riders;
  PaymentParams payment;
  /// Throws std::invalid_argument naming the field ("trip.payment.start_to_close: ...").
  void validate() const;
};

}  // namespace faultline::sim::cadence
