// Retries with capped exponential backoff and jitter.
//
// The four algorithms of Marc Brooker, "Exponential Backoff And Jitter" (AWS Architecture
// Blog, 2015), with n the number of failed attempts so far (1 before the first retry):
//   expo(n)      = min(cap, base * 2^n)
//   none         : sleep = expo(n)
//   full         : sleep = U(0, expo(n))
//   equal        : sleep = expo(n)/2 + U(0, expo(n)/2)
//   decorrelated : sleep = min(cap, U(base, 3 * previous sleep)), previous starts at base
// Jitter spreads contending clients apart in time; without it they retry in lock-step and
// collide again. All draws come from the caller's Rng so a run is reproducible.
#pragma once

#include <faultline/resilience/outcome.hpp>
#include <faultline/rng.hpp>
#include <faultline/time.hpp>

#include <optional>
#include <string_view>

namespace faultline::resilience {

enum class Jitter { none, full, equal, decorrelated };

std::string_view to_string(Jitter j);
/// "none", "full", "equal", "decorrelated"; nullopt otherwise.
std::optional<Jitter> parse_jitter(std::string_view text);

struct RetryParams {
  /// Attempts per request including the first; 1 disables retries. SRE book ch. 21 and the
  /// AWS SDKs' standard mode both use 3.
  int max_attempts = 3;
  /// 0 ms base with no jitter is the "naive" client that retries at once.
  Duration base = Duration::millis(100);
  /// Largest sleep (AWS SDKs: 20 s).
  Duration cap = Duration::seconds(20);
  Jitter jitter = Jitter::full;
  /// Whether a timed-out attempt is retried (it may still be running on the server).
  bool retry_on_timeout = true;

  void validate() const;
};

/// The sleep schedule of one request's retries. Keep one per logical request (decorrelated
/// jitter remembers its previous sleep); `reset()` to reuse it.
class Backoff {
public:
  explicit Backoff(RetryParams p);
  /// The sleep before the next attempt, after `failures` failed attempts (failures >= 1).
  Duration delay(int failures, Rng& rng) { return delay(params_, failures, rng, previous_); }
  /// The un-jittered ceiling expo(n) = min(cap, base * 2^n).
  Duration ceiling(int failures) const { return ceiling(params_, failures); }
  /// The same schedule for callers that keep many sleepers and share one `p` among them:
  /// `previous` is the decorrelated jitter's memory (start it at p.base). The draws are those
  /// of delay(failures, rng) on a Backoff(p) whose previous sleep is `previous`.
  static Duration delay(const RetryParams& p, int failures, Rng& rng, Duration& previous);
  static Duration ceiling(const RetryParams& p, int failures);
  void reset() { previous_ = params_.base; }
  const RetryParams& params() const { return params_; }

private:
  RetryParams params_;
  Duration previous_;
};

/// The retry decision for one request: whether attempt `attempts_made + 1` may be sent.
class RetryPolicy {
public:
  explicit RetryPolicy(RetryParams p) : params_(p) { params_.validate(); }
  bool should_retry(int attempts_made, Outcome last) const;
  const RetryParams& params() const { return params_; }

private:
  RetryParams params_;
};

}  // namespace faultline::resilience
