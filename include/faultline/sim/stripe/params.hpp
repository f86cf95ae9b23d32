// Parameters of the Stripe payment-path model (sim/stripe): API servers with idempotency keys,
// a single-leader ledger with standbys, an external payment processor, customers that retry,
// the completer and reaper, and the transactional outbox.
//
// Semantics and sources: model-facts.md §6.1 (Stripe's API), §6.2 (Brandur Leach's atomic
// phases and recovery points), §6.3 (the transactional outbox) and the recipe "double charge
// without idempotency" (§6). Every number below that is not from those sections is marked as
// an assumption.
#pragma once

#include <faultline/resilience/backoff.hpp>
#include <faultline/resilience/hedging.hpp>
#include <faultline/time.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace faultline::sim::stripe {

/// The ledger: one leader, `standbys` standbys, WAL fsynced on each node's disk.
struct LedgerParams {
  /// Standbys besides the leader (0 to 4).
  int standbys = 2;
  /// Synchronous replication: a commit is acknowledged only after `sync_acks` standbys have
  /// written it durably (Postgres `synchronous_standby_names = 'ANY n (...)'`). False: the
  /// leader acknowledges after its own fsync and ships afterwards (asynchronous).
  bool synchronous = true;
  int sync_acks = 1;
  /// CPU of one transaction on the serial executor (assumption: a few index lookups).
  Duration txn_cpu = Duration::micros(50);
  /// Asynchronous mode only: how far a standby lags behind (assumption; a busy async standby
  /// is commonly tens to hundreds of ms behind). Zero ships as soon as the leader is durable.
  Duration async_lag = Duration::millis(200);
  /// A replication message waits this long for its acknowledgement before it is resent.
  Duration replicate_timeout = Duration::millis(100);
  /// The failover monitor (Patroni-like): health checks, and a standby promoted after
  /// `failover_after` consecutive failed checks.
  bool failover = true;
  Duration health_interval = Duration::seconds(1);
  Duration health_timeout = Duration::millis(200);
  int failover_after = 3;
  /// Bytes of one WAL record on the wire (assumption).
  std::uint64_t record_bytes = 512;

  void validate() const;
};

/// The external payment processor (a card network / acquirer behind its own API).
struct ProcessorParams {
  /// Time to authorise and capture: base + Exp(mean) (assumption: card authorisations take
  /// a few hundred ms).
  Duration latency_base = Duration::millis(150);
  Duration latency_exp_mean = Duration::millis(100);
  /// Fraction of charges the card network declines (a 402 the API stores and replays).
  double decline_ratio = 0.0;
  /// Whether the processor honours idempotency keys (Stripe's own API does).
  bool honours_keys = true;

  void validate() const;
};

/// How charge events leave the ledger.
enum class EventMode : std::uint8_t {
  kNone,       // no events
  kOutbox,     // inserted in the charge's transaction, relayed at least once (§6.3)
  kDualWrite,  // the API server publishes after its commit: lost when the log is down
};
std::string_view to_string(EventMode m);
std::optional<EventMode> parse_event_mode(std::string_view text);

/// API servers: the idempotency layer and the charge endpoint.
struct ApiParams {
  int servers = 3;
  /// The idempotency layer (§6.1). Off: every request executes, keys or not.
  bool idempotency = true;
  /// Pass a key derived from the idempotency key to the processor (Brandur:
  /// "rocket-rides-atomic-#{key.id}"). Off: a resumed request charges again.
  bool processor_keys = true;
  /// Longest key accepted (Stripe: 255 characters).
  int max_key_length = 255;
  /// A locked key whose lock is older than this may be taken over (Brandur: 90 s).
  Duration lock_timeout = Duration::seconds(90);
  /// Per-user token bucket in front of the idempotency layer (§6.1: "rate limiters run before
  /// the idempotency layer"); rate 0 turns it off. Stripe's documented live-mode limit is
  /// 100 read/write operations per second; burst is an assumption.
  double rate_limit_per_s = 0.0;
  double rate_limit_burst = 10.0;
  Duration processor_timeout = Duration::seconds(2);
  Duration ledger_timeout = Duration::millis(500);
  /// CPU per API request (assumption).
  Duration request_cpu = Duration::micros(200);
  /// GET /v1/charges (retrieve a payment intent's charge) is an idempotent read served by any
  /// ledger node that is up (the leader or a hot standby), per copy within read_timeout.
  Duration read_timeout = Duration::seconds(1);
  /// Hedged reads (Tail at Scale; resilience::HedgedRequest): after `delay` (or the observed
  /// `percentile`) a copy goes to the next ledger node; the first answer wins. Off: one copy.
  resilience::HedgeParams read_hedge;

  void validate() const;
};

/// Background processes (§6.2): the completer finishes abandoned keys; the reaper prunes old
/// ones.
struct CompleterParams {
  bool enabled = true;
  Duration interval = Duration::seconds(10);
  /// A key not finished and not locked (or whose lock expired) for this long is abandoned.
  Duration abandoned_after = Duration::seconds(120);
  int batch = 50;
  void validate() const;
};
struct ReaperParams {
  bool enabled = true;
  Duration interval = Duration::hours(1);
  /// Keys older than this are deleted (Stripe: at least 24 h; Brandur reaps at 72 h).
  Duration horizon = Duration::hours(24);
  void validate() const;
};

/// Customers: each a loop that creates payment intents and submits them to a random API
/// server, retrying with the same key.
struct ClientParams {
  int customers = 40;
  /// Mean think time between one intent's end and the next intent (exponential).
  Duration think_time = Duration::seconds(2);
  /// No new intents after this (zero: until the end of the run), so retries can settle.
  Duration stop_at{};
  /// Per attempt.
  Duration timeout = Duration::seconds(3);
  /// Attempts per intent, backoff between them (§6.1: retry network errors with the same key).
  resilience::RetryParams retry = default_retry();
  /// Whether customers send an Idempotency-Key.
  bool send_keys = true;
  /// Probability that an intent is also submitted from a second tab (a double click) after
  /// U(0, double_click_within).
  double double_click_ratio = 0.05;
  Duration double_click_within = Duration::millis(300);
  /// Probability that an attempt reuses the key with other parameters (a client bug; §6.1).
  double param_mismatch_ratio = 0.0;
  /// Amount in cents.
  std::int64_t amount = 2000;
  /// Probability that a customer retrieves a charge (GET) right after it succeeded; measured
  /// as the population "retrievals" (0: no reads, and no random draw for them).
  double retrieve_ratio = 0.0;

  static resilience::RetryParams default_retry();
  void validate() const;
};

/// The partitioned, replicated log (Kafka-like) and its consumers.
struct LogParams {
  int brokers = 3;
  int partitions = 6;
  /// Replicas per partition including the leader; acks=all waits for all of them.
  int replication = 3;
  int consumers = 2;
  /// Relay poll interval and batch; consumer poll interval.
  Duration relay_interval = Duration::millis(100);
  int relay_batch = 100;
  Duration consumer_interval = Duration::millis(100);
  Duration produce_timeout = Duration::millis(500);
  /// Consumers deduplicate by event id (§6.3: at-least-once delivery needs it).
  bool consumer_dedupe = true;
  void validate() const;
};

struct StripeParams {
  LedgerParams ledger;
  ProcessorParams processor;
  ApiParams api;
  CompleterParams completer;
  ReaperParams reaper;
  ClientParams clients;
  EventMode events = EventMode::kNone;
  LogParams log;
  /// Throws std::invalid_argument naming the field ("api.lock_timeout: ...") and the fix.
  void validate() const;
};

}  // namespace faultline::sim::stripe
