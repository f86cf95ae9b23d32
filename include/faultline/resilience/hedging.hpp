// Request hedging and tied requests (Dean and Barroso, "The Tail at Scale", CACM 2013).
//
// A hedged request sends a second copy to another replica once the first has been
// outstanding for `delay` (or for the `percentile` of observed latency, e.g. p95, which
// bounds the extra load near 5 %). The first reply wins and the loser is cancelled. Tied
// requests enqueue copies on two servers at once (after a short `tied_delay`) and the copy
// that starts first cancels the other.
//
// HedgedRequest runs the protocol for one logical call over callbacks, so it works with any
// transport: `send(copy)` launches copy i (0 is the primary), `cancel(copy)` withdraws it.
#pragma once

#include <faultline/metrics.hpp>
#include <faultline/simulation.hpp>
#include <faultline/time.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace faultline::resilience {

struct HedgeParams {
  bool enabled = false;
  /// Fixed delay before a hedge (Tail at Scale's BigTable benchmark: 10 ms).
  Duration delay = Duration::millis(10);
  /// 0 for the fixed delay; else hedge after this quantile of observed latency (0.95).
  double percentile = 0.0;
  /// Samples needed before the percentile is trusted (the fixed delay applies until then).
  std::uint64_t min_samples = 100;
  /// Extra copies per request.
  int max_hedges = 1;
  /// Tied requests instead of hedges: copies go out after tied_delay and cancel each other
  /// when one starts service.
  bool tied = false;
  Duration tied_delay = Duration::millis(1);

  void validate() const;
};

/// The hedge delay for the next request, from the params and the observed latencies.
Duration hedge_delay(const HedgeParams& p, const Histogram& observed);

class HedgedRequest {
public:
  struct Hooks {
    std::function<void(int copy)> send;
    std::function<void(int copy)> cancel;
    /// Arms the hedge timer: an event of the same simulation after the delay. Unset: a plain
    /// event of the simulation, which runs in true time and never pauses. A caller that is a
    /// world node passes its node's timers (Node::after), so a paused process sends no hedge
    /// until it resumes, as a stopped JVM would not. The timer is disarmed through the
    /// simulation, so it may outlive the caller.
    std::function<EventId(Duration, std::function<void()>)> arm;
  };

  /// Does not send anything until start().
  HedgedRequest(Simulation& sim, int max_hedges, Duration delay, Hooks hooks);
  HedgedRequest(const HedgedRequest&) = delete;
  HedgedRequest& operator=(const HedgedRequest&) = delete;
  ~HedgedRequest();

  /// Sends the primary and arms the hedge timer.
  void start();
  /// A reply for `copy` arrived. Returns true if it decides the request: the first success
  /// wins (the timer is disarmed and every other outstanding copy cancelled); a failure
  /// decides only when no copy is outstanding and no hedge is left to send.
  bool on_reply(int copy, bool success);

  bool done() const { return done_; }
  std::optional<int> winner() const { return winner_; }
  int copies_sent() const { return sent_; }
  int copies_cancelled() const { return cancelled_; }

private:
  void fire();
  void arm_timer();
  void disarm_timer();

  Simulation& sim_;
  int max_hedges_;
  Duration delay_;
  Hooks hooks_;
  EventId timer_;
  std::vector<bool> outstanding_;
  int sent_ = 0;
  int cancelled_ = 0;
  bool done_ = false;
  std::optional<int> winner_;
};

}  // namespace faultline::resilience
