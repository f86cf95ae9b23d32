// Cadence-style durable workflows on the world layer: Uber's trip workflow run by workers that
// poll history hosts, with riders, the drivers' apps and a payment service at the edges.
//
// Nodes (groups in brackets, for fault targets):
//   history-0..n  [history]   the history service: each workflow's events on the host's disk
//                             (fsynced before any ack), decision and activity task lists rebuilt
//                             from the history at restart, activity retries and timeouts,
//                             durable timers, signals
//   worker-0..n   [workers]   long-poll for decision tasks (replay the workflow code from
//                             history, answer the new commands) and activity tasks (find a
//                             driver with heartbeats, charge the payment, send the rating)
//   payment       [payment]   charges cards; remembers idempotency keys durably
//   dispatch      [apps]      matches drivers and sends "driver_arrived" / "trip_completed"
//   riders        [riders]    request trips (start workflows), retried until acknowledged
//
// Metric names (sim.metrics()), prefix "cadence/":
//   counters   trips/requests (starts acknowledged), trips/successes (ended "completed"),
//              trips/failures (ended otherwise), trips/attempts (start calls)
//   histogram  trips/latency (acknowledged start → end, ns)
//   counters   decisions, activities/attempts, activities/retries, activities/timeouts,
//              timers/fired, signals, payments/charges, nondeterminism
#pragma once

#include <faultline/check/exactly_once.hpp>
#include <faultline/check/history.hpp>
#include <faultline/sim/cadence/history.hpp>
#include <faultline/sim/cadence/params.hpp>
#include <faultline/simulation.hpp>
#include <faultline/world/world.hpp>

#include <memory>
#include <string>
#include <vector>

namespace faultline::sim::cadence {

struct CadenceMetricNames {
  std::string requests, successes, failures, attempts, latency;
};
const CadenceMetricNames& metric_names();

class CadenceCluster {
public:
  /// Validates `params` (std::invalid_argument) and builds every node in a new World.
  CadenceCluster(Simulation& sim, CadenceParams params);
  ~CadenceCluster();
  CadenceCluster(const CadenceCluster&) = delete;
  CadenceCluster& operator=(const CadenceCluster&) = delete;

  world::World& world();
  const CadenceParams& params() const;
  /// Node groups, for fault targets.
  static std::vector<std::string> groups();
  world::NodeId history_node(int i) const;
  world::NodeId worker_node(int i) const;
  world::NodeId payment_node() const;

  /// Every workflow history as a restart of the history hosts would see it now: the durable
  /// image of each host's log (kMemory: what the live hosts hold in memory), sorted by id.
  std::vector<WorkflowHistory> histories() const;
  /// Workflow ids whose start the riders saw acknowledged.
  const std::vector<std::string>& acknowledged_starts() const;
  /// Payment activity attempts (request id = trip) and the charges the payment service made.
  const check::History& payment_requests() const;
  const std::vector<check::Effect>& payment_charges() const;

  // Probes: instantaneous counts for scenario expectations.
  /// Acknowledged starts whose history has not ended (lost ones included).
  std::uint64_t open_workflows() const;
  /// Acknowledged starts with no surviving history at all.
  std::uint64_t lost_workflows() const;
  /// Charges beyond the first per trip.
  std::uint64_t double_charges() const;
  /// Timers due more than `lateness` ago that neither fired nor were canceled.
  std::uint64_t overdue_timers(Duration lateness) const;
  /// Recorded commands a replay did not reissue in the same place.
  std::uint64_t nondeterminism() const;

  struct State;

private:
  std::unique_ptr<State> s_;
};

}  // namespace faultline::sim::cadence
