// Parameters of the generic service-graph model: client populations with open-loop arrivals,
// service tiers of instances on their own hosts, dependencies between tiers, and the
// resilience policies each caller applies on each call.
//
// Every struct is a plain aggregate with defaults, filled field by field by scenario files
// (src/scenario/bindings/) or by C++ code, and checked by validate(), which throws
// std::invalid_argument naming the field ("tiers[1].dependencies[0].tier: ...") and the fix.
#pragma once

#include <faultline/resilience/admission.hpp>
#include <faultline/resilience/backoff.hpp>
#include <faultline/resilience/circuit_breaker.hpp>
#include <faultline/resilience/hedging.hpp>
#include <faultline/resilience/outcome.hpp>
#include <faultline/resilience/retry_budget.hpp>
#include <faultline/resilience/timeout.hpp>
#include <faultline/time.hpp>
#include <faultline/world/params.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::sim::services {

/// How a caller picks one instance of a tier for each attempt.
enum class Balancer { round_robin, random, least_outstanding };
std::string_view to_string(Balancer b);
std::optional<Balancer> parse_balancer(std::string_view text);

/// Everything a caller applies to calls on one edge (client → tier, or tier → dependency).
/// Each caller process keeps its own policy state, as real clients do.
struct CallPolicy {
  resilience::TimeoutParams timeout;
  /// Defaults to no retries (max_attempts 1); a scenario turns them on.
  resilience::RetryParams retry{.max_attempts = 1};
  bool retry_quota_enabled = false;
  resilience::RetryQuotaParams retry_quota;
  bool adaptive_throttle_enabled = false;
  resilience::AdaptiveThrottleParams adaptive_throttle;
  bool circuit_breaker_enabled = false;
  resilience::CircuitBreakerParams circuit_breaker;
  resilience::HedgeParams hedge;
  Balancer balancer = Balancer::round_robin;
  /// Outlier ejection (Ribbon's skip of a server whose circuit tripped): an instance whose
  /// attempt timed out or could not be reached is skipped by this caller's balancer for this
  /// long (unless every instance is skipped). Zero: no ejection.
  Duration eject_for = Duration::zero();

  /// `where` prefixes messages ("clients[0].policy").
  void validate(std::string_view where) const;
};

/// How long one request occupies a core of an instance's host.
struct ServiceTime {
  /// tail_at_scale: the leaf profile of The Tail at Scale's Table 1 (leaf_profile.hpp); `mean`
  /// and `sigma` are not used.
  enum class Kind { fixed, exponential, lognormal, tail_at_scale };
  Kind kind = Kind::exponential;
  Duration mean = Duration::millis(10);
  /// Lognormal: sigma of the underlying normal.
  double sigma = 1.0;
  /// tail_at_scale: the fan-out whose all-leaves row of Table 1 the profile matches (the
  /// maximum over this many independent leaves has the table's 40/87/140 ms p50/p95/p99).
  int table1_leaves = 100;

  void validate(std::string_view where) const;
};
std::string_view to_string(ServiceTime::Kind k);
std::optional<ServiceTime::Kind> parse_service_time_kind(std::string_view text);

struct DependencyParams {
  /// Name of the tier called.
  std::string tier;
  /// Sequential calls per request served.
  int calls = 1;
  CallPolicy policy;
  /// A call that still fails after the policy (timeouts, retries, an open breaker) is
  /// answered by a degraded local fallback (a straight-line ETA for a map call), so the
  /// request goes on instead of failing. Counted in services/tier/<t>/degraded.
  bool fallback = false;
};

struct TierParams {
  std::string name;
  int instances = 2;
  /// Cores of each instance's host (one instance per host).
  int cores = 4;
  ServiceTime service_time;
  /// Server-side queueing, admission control and load shedding.
  resilience::AdmissionParams admission;
  /// Called after the local CPU work, in order.
  std::vector<DependencyParams> dependencies;
  /// false: an instance has no admission queue; a request that finds all
  /// `admission.max_concurrency` slots taken is shed at once (a cap on requests in flight,
  /// as a servlet container's max threads with no accept queue).
  bool queue_when_busy = true;
  /// What an instance answers when a dependency call (or the tier's hook, see
  /// ServiceGraph::set_tier_hook) failed and no fallback covered it: overloaded (a 503, which
  /// callers retry) or server_error (a 500, which retry policies do not retry).
  resilience::Outcome dependency_failure = resilience::Outcome::overloaded;
  std::uint64_t request_bytes = 512;
  std::uint64_t response_bytes = 1024;

  /// Background threads per instance that loop on short absolute timed waits on the host clock
  /// (JVM housekeeping, Cassandra, MySQL: futex_wait with an absolute CLOCK_REALTIME timeout,
  /// model-facts §1.1). Harmless normally; on a kernel-2012 host after a leap second every
  /// wait under 1 s returns at once and each such thread spins.
  int timed_wait_threads = 0;
  /// Each wait's length (must be under 1 s to be hit by the 2012 bug).
  Duration timed_wait = Duration::millis(100);
  /// The run queue's time slice. When > 0, request work runs in slices of this length, each
  /// queued behind other runnable work (round robin, as CFS shares cores among runnable
  /// threads), and a thread spinning on already-expired waits holds a core for one slice per
  /// turn (many loop iterations). 0: request work runs to completion once it has a core.
  Duration cpu_slice = Duration::zero();
  /// The clock of the tier's hosts (leap mode, drift, NTP); unset: the world's host defaults.
  std::optional<world::ClockParams> clock;

  void validate(std::string_view where) const;
};

/// A malformed payload pushed from upstream into the tier a population calls, from `from`
/// until it is rolled back at `until` (model-facts §5.4, "malformed response -> client crash
/// -> retry storm"). A success received in that window carries it. With `crash`, the app
/// crashes parsing it, is relaunched `relaunch` later and re-requests at once, with no think
/// time and no jitter (a crash loop); without, the app validates the payload and keeps its
/// cached last-good copy. Closed-loop sessions only. Counted in services/client/<c>/crashes.
struct MalformedPayload {
  Duration from = Duration::zero();
  Duration until = Duration::zero();  // zero: no malformed payload
  bool crash = true;
  Duration relaunch = Duration::seconds(2);

  void validate(std::string_view where) const;
};

/// How a client population generates logical requests.
enum class Arrival {
  /// Open loop: Poisson arrivals at rate_per_s, whatever happened to earlier requests
  /// (users clicking, upstream traffic).
  poisson,
  /// Closed loop: each of `sessions` per process issues a request, waits for its outcome
  /// (retries included), thinks for Exp(think_time), and repeats (servers checking in
  /// periodically, batch workers). Offered load ~ sessions / (think_time + latency).
  closed_loop,
};
std::string_view to_string(Arrival a);
std::optional<Arrival> parse_arrival(std::string_view text);

struct ClientParams {
  std::string name;
  /// The tier this population calls.
  std::string target;
  Arrival arrival = Arrival::poisson;
  /// Poisson: logical requests per second, across the whole population.
  double rate_per_s = 100.0;
  /// Closed loop: sessions per process, and the mean think time between a session's requests.
  int sessions = 1;
  Duration think_time = Duration::seconds(1);
  /// Client processes sharing the rate (each with its own policy state).
  int processes = 4;
  /// Logical requests a process holds at once (a thread or connection pool); arrivals beyond
  /// it fail at once without being sent. 0: unlimited. Backoff sleeps hold their slot.
  int max_outstanding = 0;
  /// A logical request fans out to this many distinct instances and waits for all.
  int fanout = 1;
  Duration start = Duration::zero();
  /// Zero: until the run ends.
  Duration stop = Duration::zero();
  /// A step change of rate at `rate_change_at` (a load spike or a failover); zero: none.
  Duration rate_change_at = Duration::zero();
  double rate_after_change = 0.0;
  CallPolicy policy;
  MalformedPayload malformed;

  void validate(std::string_view where) const;
};

struct ServiceGraphParams {
  std::vector<TierParams> tiers;
  std::vector<ClientParams> clients;
  /// Zones (of one region "services") over which instances and clients are spread.
  std::vector<std::string> zones{"zone-a"};
  /// Interval of the per-interval time series; zero: no series (a weeks-long run of a model
  /// that embeds the graph and measures its own).
  Duration sample_interval = Duration::seconds(1);

  /// Checks every field and that tier names are unique, dependencies name existing tiers and
  /// form no cycle, and clients target existing tiers.
  void validate() const;
  const TierParams* find_tier(std::string_view name) const;
};

}  // namespace faultline::sim::services
