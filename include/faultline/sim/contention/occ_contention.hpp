// Contending clients on one optimistic-concurrency row: the experiment of Marc Brooker,
// "Exponential Backoff And Jitter" (AWS Architecture Blog, 2015), as a model.
//
// Each trial is one row with a version number and `clients` clients that each want to write it
// once. A client reads the version, then sends a write conditional on it; the server applies
// the write only if the version is still the one the client read, so two clients whose
// read-write windows overlap cannot both succeed. The loser backs off with
// faultline::resilience::Backoff (the jitter under study) and starts over with a fresh read.
// Every message takes |N(net_delay_mean, net_delay_sd)|. Trials are independent rows run side
// by side in one simulation, so one run averages over many contention rounds as the blog
// averaged over 100 runs.
//
// Runs directly on the kernel, not on world nodes: the blog's only physics is a per-message
// delay drawn from a normal distribution, which world links cannot express (their jitter
// kinds are uniform, exponential, lognormal, Pareto), and world hosts would add CPU, bandwidth
// and faults the published experiment does not have.
//
// Metric names (sim.metrics()):
//   counters   contention/{requests,successes,failures,attempts,reads}
//              requests = clients started, successes = clients whose write landed,
//              failures = clients that ran out of attempts, attempts = conditional writes sent
//              (the blog's "calls"), reads = version reads
//   histogram  contention/latency           (ns, per client: start of run to its successful
//                                            write's reply)
//   counters   contention/trials/{requests,successes,failures}
//   histogram  contention/trials/latency    (ns, per trial: time until its last client
//                                            finished, the blog's "time")
//   histogram  contention/calls_per_client  (writes a client sent, successful or not)
#pragma once

#include <faultline/resilience/backoff.hpp>
#include <faultline/simulation.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace faultline::sim::contention {

struct ContentionParams {
  /// Clients contending for each row (the blog: 10 to 50).
  int clients = 50;
  /// Independent rows run side by side (the blog: 100 runs per point).
  int trials = 100;
  /// One-way message delay |N(mean, sd)| (the blog's simulator: 10 ms, 2 ms).
  Duration net_delay_mean = Duration::millis(10);
  Duration net_delay_sd = Duration::millis(2);
  /// Backoff between a failed write and the next read (the blog: base 5 ms, cap 2 s). The blog's
  /// clients never give up; max_attempts (at most 100) bounds a client's writes, and a client
  /// that exhausts it counts as a failure.
  resilience::RetryParams retry = default_retry();

  static resilience::RetryParams default_retry();
  /// Throws std::invalid_argument naming the field and the fix.
  void validate() const;
};

/// Registry names of the model's measures (see the header comment).
struct ContentionMetricNames {
  std::string requests, successes, failures, attempts, reads, latency;
  std::string trial_requests, trial_successes, trial_failures, trial_latency;
  std::string calls_per_client;
};
const ContentionMetricNames& metric_names();

/// What one run measured, for tests and reports (the same numbers as the metrics).
struct ContentionResult {
  std::uint64_t calls = 0;  // conditional writes sent, all trials
  std::uint64_t reads = 0;
  std::uint64_t succeeded = 0;  // clients whose write landed
  std::uint64_t gave_up = 0;    // clients that ran out of attempts
  /// Per trial: time from the start until its last client finished (succeeded or gave up);
  /// Duration::max() would never appear: a trial always finishes because attempts are bounded.
  std::vector<Duration> trial_completion;
  /// Per trial: conditional writes its clients sent.
  std::vector<std::uint64_t> trial_calls;
  /// Per client (trial-major): writes sent, filled in when the client finishes.
  std::vector<int> client_calls;

  double mean_calls_per_trial() const;
  double calls_per_client() const;
  /// Exact order statistic of trial_completion (q in [0, 1], nearest rank).
  Duration completion_quantile(double q) const;
  Duration completion_max() const;
  /// Mean of trial_completion (the blog reports the mean time per run).
  Duration completion_mean() const;
  bool done() const;
};

class OccContention {
public:
  /// Validates `params`.
  explicit OccContention(ContentionParams params);
  OccContention(const OccContention&) = delete;
  OccContention& operator=(const OccContention&) = delete;
  ~OccContention();

  /// Creates the rows and clients and schedules every client's first read at sim.now(). Call
  /// once; the model must outlive the run.
  void start(Simulation& sim);
  const ContentionParams& params() const { return params_; }
  /// Results so far (complete once the simulation has run out of events).
  const ContentionResult& result() const { return result_; }
  /// Clients still working, over all trials.
  std::int64_t clients_pending() const;

  struct Impl;

private:
  ContentionParams params_;
  ContentionResult result_;
  std::unique_ptr<Impl> impl_;
};

/// Runs one simulation of `params` with `seed` to completion and returns its result.
ContentionResult run_contention(const ContentionParams& params, std::uint64_t seed);

}  // namespace faultline::sim::contention
