// The Stripe payment path on the world layer (model-facts §6.1–6.3 and the recipe "double
// charge without idempotency", §6).
//
// Nodes (groups in brackets, for fault targets):
//   ledger-0..n   [ledger]     Postgres-like: serial executor, group commit, WAL fsynced on the
//                              host's disk, standbys fed by WAL shipping, epochs that fence an
//                              old leader; ledger-0 leads at boot
//   monitor       [monitor]    health-checks the leader and promotes the most advanced standby
//   api-0..n      [api]        rate limiter → idempotency layer → the charge endpoint, in atomic
//                              phases with recovery points
//   processor     [processor]  the external payment processor with its own idempotency keys
//   worker        [worker]     the completer and the reaper
//   customers     [customers]  one coroutine per customer; retries with the same key
//   broker-0..n   [log]        a partitioned, replicated log (outbox / dual-write modes)
//   relay         [relay]      the outbox relay
//   consumer-0..n [consumers]  event consumers that deduplicate and commit offsets
//
// Metric names (sim.metrics()), prefix "stripe/":
//   counters   requests, successes, failures, attempts   (per payment intent; failures are
//              intents that ended declined, rejected or given up)
//   histogram  latency                                  (intent start → success, ns)
//   counters   reads/requests, reads/successes, reads/failures, reads/attempts (copies sent),
//              reads/hedges_sent, reads/hedges_won, reads/stale (404); histogram reads/latency
//   counters   api/<code> for every response code, api/replayed, processor/charges,
//              completer/completed, reaper/deleted, ledger/failovers, ledger/commits,
//              outbox/published, events/applied, events/duplicates_skipped
#pragma once

#include <faultline/check/exactly_once.hpp>
#include <faultline/check/history.hpp>
#include <faultline/sim/stripe/ledger.hpp>
#include <faultline/sim/stripe/params.hpp>
#include <faultline/simulation.hpp>
#include <faultline/world/world.hpp>

#include <memory>
#include <string>
#include <vector>

namespace faultline::sim::stripe {

/// POST /v1/charges as the API servers see it.
struct ChargeRequest {
  std::string user;
  /// Empty: no Idempotency-Key header.
  std::string idempotency_key;
  std::int64_t amount = 0;
  std::string currency = "usd";
  /// The customer's payment intent this request is for (what the checkers group by); the
  /// server uses it only as the charge's description.
  std::string intent;
  /// "amount=2000&currency=usd": what the idempotency layer compares.
  std::string params() const;
};

struct ChargeResponse {
  /// 200 ok, 400 invalid_request_error / idempotency_error, 402 card_declined,
  /// 409 idempotency_key_in_use, 429 rate_limit, 503 (retry: outcome not known yet).
  int status = 0;
  std::string error_code;
  std::string charge_id;
  /// The Idempotent-Replayed header.
  bool replayed = false;
  /// Stripe-Should-Retry.
  bool should_retry = false;
};

/// GET /v1/charges?payment_intent=: the charge recorded for an intent, read from a ledger
/// node (hedged per api.read_hedge).
struct RetrieveRequest {
  std::string intent;
};
struct RetrieveResponse {
  /// 200 found; 404 no charge for the intent on the node that answered (a standby that has
  /// not applied it yet); 503 no ledger node answered in time.
  int status = 0;
  std::string charge_id;
};

/// Names of the measures the scenario layer reads: payments ("customers") and retrievals.
struct StripeMetricNames {
  std::string requests, successes, failures, attempts, latency;
  std::string read_requests, read_successes, read_failures, read_attempts, read_latency;
};
const StripeMetricNames& metric_names();

class StripeCluster {
public:
  /// Validates `params` (std::invalid_argument) and builds every node in a new World.
  StripeCluster(Simulation& sim, StripeParams params);
  ~StripeCluster();
  StripeCluster(const StripeCluster&) = delete;
  StripeCluster& operator=(const StripeCluster&) = delete;

  world::World& world();
  const StripeParams& params() const;
  /// Node groups, for fault targets ("api", "ledger", ...).
  static std::vector<std::string> groups();
  world::NodeId api_node(int i) const;
  world::NodeId ledger_node(int i) const;
  world::NodeId processor_node() const;

  /// What the customers saw: one request operation per submission (a double click is a
  /// second operation with the same request id, the intent).
  const check::History& history() const;
  /// Charges the processor made (money moved), each naming its intent.
  const std::vector<check::Effect>& processor_charges() const;
  /// Charge rows in the ledger's current leader (the books), each naming its intent.
  std::vector<check::Effect> ledger_charges() const;
  /// The current leader's index (the up ledger node with the highest epoch that leads), or -1.
  int leader() const;
  const LedgerState* ledger_state(int i) const;

  /// Outbox: events committed (in the ledger's outbox, at commit time; in dual-write mode,
  /// every charge committed) and events consumers applied (after their dedupe).
  const std::vector<check::OutboxRecord>& events_committed() const;
  const std::vector<check::OutboxRecord>& events_applied() const;

  // Probes: instantaneous counts for scenario expectations.
  /// Processor charges beyond the first per intent.
  std::uint64_t double_charges() const;
  /// Processor charges with no row in the ledger (money moved, books silent).
  std::uint64_t unrecorded_charges() const;
  /// Intents a customer saw succeed that have no charge row in the current leader.
  std::uint64_t lost_acknowledged_charges() const;
  /// Committed events no consumer has applied; events applied more than once.
  std::uint64_t events_missing() const;
  std::uint64_t events_applied_twice() const;
  /// Committed events not yet applied that are older than `age`.
  std::uint64_t events_pending() const;

  /// The shared state of the cluster's programs (defined privately in sim/stripe).
  struct State;

private:
  std::unique_ptr<State> s_;
};

}  // namespace faultline::sim::stripe
