// Parameters of the Zuul edge model (sim/zuul): device families that reach Netflix through
// their own edge, a Zuul tier that routes each family to an origin (dynamic routing, throttling,
// load shedding, retries through resilience/), origin tiers (the API) that call microservice
// tiers, and microservices that read through EVCache (sim/evcache). Everything runs on world
// hosts, so Chaos Monkey (world::ChaosMonkeyParams) kills real instances.
//
// Zuul 1 (a thread per request, blocking) against Zuul 2 (an event loop per core,
// non-blocking) is a choice, `ZuulParams::mode`, with its connection-memory and tail-latency
// consequence. Sources: model-facts.md §4.2-§4.4, the Netflix tech blog post "Zuul 2: The Netflix
// Journey to Asynchronous, Non-Blocking Systems" (2016) and the sources in sim/zuul/README.md.
// Every number that is not from a source is marked as an assumption.
#pragma once

#include <faultline/resilience/backoff.hpp>
#include <faultline/resilience/retry_budget.hpp>
#include <faultline/sim/elb/params.hpp>
#include <faultline/sim/evcache/params.hpp>
#include <faultline/sim/regions/dns.hpp>
#include <faultline/sim/regions/params.hpp>
#include <faultline/time.hpp>
#include <faultline/world/fault.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::sim::zuul {

/// Zuul 1: a request holds a worker thread from arrival until the origin answers (Servlet
/// model, "one thread per connection"). Zuul 2: one event loop per core; a waiting request holds
/// only its connection's state ("a file descriptor and a listener").
enum class Mode { thread_per_request, event_loop };
std::string_view to_string(Mode m);
std::optional<Mode> parse_mode(std::string_view text);

/// A request rate limit per device family at each Zuul instance (a token bucket).
struct ThrottleParams {
  std::string family;
  /// Requests per second each Zuul instance lets through for the family.
  double rate_per_s = 100.0;
  /// Bucket depth: a burst allowed above the rate.
  double burst = 20.0;
};

/// Dynamic routing: the origin a family's requests go to, and where they go when no instance
/// of that origin can be reached (Zuul's routing filters; Isthmus and region failover route
/// the same way, model-facts §4.2).
struct RouteParams {
  std::string family;
  std::string origin;
  /// Empty: no failover.
  std::string failover_origin;
};

/// A scheduled change of the routing table (a new filter pushed at run time).
struct RouteChange {
  Duration at{};
  RouteParams route;
};

struct ZuulParams {
  int instances = 3;
  int cores = 4;
  Mode mode = Mode::event_loop;
  /// CPU per request for the filters (routing, auth, metrics); assumption.
  Duration filter_cpu = Duration::micros(200);
  /// Zuul 1: worker threads per instance (Tomcat's default maxThreads is 200); a request waits
  /// for a thread in an accept queue of `accept_queue` (Tomcat's acceptCount default: 100),
  /// beyond which it is shed.
  int threads = 200;
  int accept_queue = 100;
  /// Zuul 1: memory a busy worker thread holds (stack and buffers; assumption: the JVM reserves
  /// 1 MB of stack per thread on 64-bit Linux, of which we count 256 KB as touched).
  std::int64_t thread_memory_bytes = 256 * 1024;
  /// Memory of one open client connection, both modes (socket and channel buffers; assumption).
  std::int64_t connection_memory_bytes = 16 * 1024;
  /// Zuul 2: requests open at once per instance before new ones are shed (assumption).
  int max_connections = 10000;
  /// Requests in flight to one origin per instance before new ones to it are shed (Zuul 2's
  /// origin concurrency protection); 0: no limit.
  int origin_max_concurrency = 0;
  /// Timeout of one call to an origin.
  Duration origin_timeout = Duration::seconds(2);
  /// Retries to another origin instance (Ribbon's MaxAutoRetriesNextServer: 1 by default).
  resilience::RetryParams retry{.max_attempts = 2, .base = Duration::zero()};
  /// Retries stay under this share of requests (SRE book ch. 21); disabled by default.
  bool retry_budget_enabled = false;
  resilience::RetryRatioParams retry_budget;
  /// An origin instance that refused or timed out is skipped for this long (assumption, after
  /// Ribbon's circuit-tripped server skip).
  Duration eject_for = Duration::seconds(30);
  std::vector<RouteParams> routes;
  std::vector<RouteChange> route_changes;
  std::vector<ThrottleParams> throttles;
  void validate() const;
};

/// A call from a tier's request to another tier, sequential, once per request.
struct CallParams {
  std::string tier;
  Duration timeout = Duration::seconds(1);
  /// Attempts including the first, each to the next instance (no backoff).
  int max_attempts = 2;
  /// A failed call is answered by a degraded local fallback (Hystrix's getFallback), so the
  /// request goes on.
  bool fallback = false;
};

/// An origin (the API) or a microservice: instances on their own hosts, spread over zones.
struct TierParams {
  std::string name;
  int instances = 3;
  int cores = 4;
  /// CPU per request, exponential with this mean (assumption).
  Duration cpu = Duration::millis(2);
  /// Requests in an instance at once beyond which new ones are shed (503).
  int max_in_flight = 200;
  std::vector<CallParams> calls;
  /// Reads through the EVCache client per request (sequential, local zone first).
  int cache_reads = 0;
};

/// A population of devices of one family ("tv", "web", "ios") behind its own edge.
struct FamilyParams {
  std::string name;
  /// Requests per second (Poisson).
  double rate_per_s = 1.0;
  /// How long a device waits for an answer.
  Duration timeout = Duration::seconds(5);
  /// Device-side attempts including the first, each to another Zuul instance.
  int max_attempts = 2;
  /// The family's edge (its own load balancer) skips a Zuul instance that refused a connection
  /// for this long (assumption: ELB health checks take tens of seconds to eject).
  Duration edge_eject_for = Duration::seconds(30);
  /// A step to `rate_after` at `rate_change_at` (zero: none): a traffic surge.
  Duration rate_change_at{};
  double rate_after = 0.0;
  /// The region the family's DNS name answers in steady state (empty: the first region).
  std::string home{};
};

/// A region of the stack: its own Zuul instances, tiers and EVCache cluster, in three zones.
/// The first region's nodes, groups and metrics keep the single-region names ("zuul-0",
/// "tier/api", "evcache/a"); another region's carry "@<region>" on their stem ("zuul@us-west-0",
/// "tier/api@us-west", "evcache@us-west/a").
struct RegionParams {
  std::string name = "us-east";
  std::vector<std::string> zones{"us-east-1a", "us-east-1b", "us-east-1c"};
};

/// What a region does with a request of a family homed elsewhere once DNS sends it there.
/// none: DNS never fails over (the stack of one region's fate); active_active: the region
/// serves it with its own API, microservices and cache (Netflix's multi-region active-active,
/// 2013); isthmus: its Zuul tunnels it to the home region's API (Isthmus, 2012-13: the home
/// region's broken ELB is bypassed, its servers and caches still do the work). Model-facts §4.2.
enum class Failover { none, active_active, isthmus };
std::string_view to_string(Failover f);
std::optional<Failover> parse_failover(std::string_view text);

/// EVCache's cross-region replication (model-facts §4.4; Netflix tech blog, "Caching for a
/// Global Netflix", 2016): every set a region's EVCache client makes (a fill after a miss)
/// goes to Kafka; the region's replication relay consumes it, reads the value from its local
/// cache and sends it to the replication proxy of every other region, which sets it in that
/// region's cluster (every zone). Asynchronous and best-effort: a set lost to a crashed relay
/// or a partition is not retried, and a replicated set is not replicated again.
struct CacheReplicationParams {
  bool enabled = false;
  /// Kafka's produce-to-consume lag plus the relay's local read: `lag_base` + exponential with
  /// mean `lag_mean`. Assumption: 50 ms + exp(100 ms) has its p99 near 0.5 s, and with the
  /// cross-region hop (30 ms one way) stays under the "p99 under 1 s" Netflix reports
  /// (secondary summary, model-facts §4.4).
  Duration lag_base = Duration::millis(50);
  Duration lag_mean = Duration::millis(100);
};

/// Several regions, DNS steering with a TTL and health-based failover (sim/regions' DNS
/// mechanism), Isthmus or active-active, and Chaos Kong.
struct MultiRegionParams {
  /// Empty: one region, us-east (the single-region stack, no DNS).
  std::vector<RegionParams> regions;
  regions::DnsParams dns;
  Failover failover = Failover::active_active;
  /// Each interval a region's edge closes a health-check interval over the devices' attempts
  /// into it; `checks` intervals in a row above `error_threshold` make it unhealthy, and DNS
  /// moves the weight of every family on it to a healthy region (model-facts §4.2; Route 53
  /// health checks: 10 s or 30 s intervals, a failure threshold of 3).
  Duration check_interval = Duration::seconds(10);
  double error_threshold = 0.25;
  int checks = 3;
  /// Failback: when a region's edge turns healthy again, DNS moves the families homed there
  /// back (Route 53's failover records do it on their own). A region DNS has left gets no
  /// device traffic, so its health needs another witness: with failback on, a health checker
  /// in the internet (Route 53's checkers) sends `health_probes` requests to each region's
  /// Zuul every `check_interval`, each failing if not answered within `probe_timeout`, and the
  /// edge's health check counts them with the devices' attempts.
  bool failback = false;
  /// A gradual failback: the families move home in `failback_steps` equal steps of weight over
  /// `failback_over` (zero: in one step, as Route 53's failover records do). Netflix moved
  /// traffic back after a Chaos Kong exercise over time, so the home region's caches warm and
  /// its capacity follows (model-facts §4.2); a failover during the steps stops them.
  Duration failback_over{};
  int failback_steps = 10;
  int health_probes = 3;
  Duration probe_timeout = Duration::seconds(4);
  /// Chaos Kong (sim/regions' drill): from `start`, the weight of every family homed in
  /// `region` moves to `to` in `steps` equal steps over `over` (zero: all at once).
  regions::EvacuationParams evacuation;
  /// Each region's EVCache sets replicated to the other regions' clusters (off by default).
  CacheReplicationParams cache_replication;
};

/// A loss of ELB state in one region's state store (the Christmas Eve 2012 event, model-facts
/// §4.1): running LB nodes keep routing; a workflow that then touches a family's ELB programs it
/// from the missing state, with no backends, unless the control plane fails static.
struct ElbStateLossParams {
  /// When a maintenance process deletes the state (zero: never; record: 12:24 PM PST).
  Duration at{};
  /// The region whose store loses it (empty: the first region).
  std::string region{};
  /// The families whose ELBs' state is deleted (§4.2: the TV devices' ELBs were, the website's
  /// and PCs' were not; which records went is not in the record, so it is an input).
  std::vector<std::string> families{};
  /// Change management on production state refuses the deletion (AWS's fix).
  bool change_managed = false;
  /// The operators disable the region's workflows (zero: never; record: T0 + 4.6 h).
  Duration workflows_disabled_at{};
  /// The state is back (a snapshot merged; zero: never; record: T0 + 17.3 h): every broken ELB
  /// of the region is reprogrammed from it and the workflows run again.
  Duration restored_at{};
};

/// Each device family's own ELB in every region (model-facts §4.1-§4.2): LB nodes between the
/// devices and Zuul, which route by the backend list the control plane last programmed them with
/// from its state store (sim/elb's ElbService). Off by default: the devices then balance over the
/// region's Zuul instances themselves.
struct ElbEdgeParams {
  bool enabled = false;
  /// LB nodes per family ELB per region, round robin over the region's zones.
  int nodes = 3;
  /// Mean time between control-plane workflows touching one ELB (exponential; assumption:
  /// Netflix's ELBs scaled often at the evening peak, as in sim/elb).
  Duration touch_mean = Duration::minutes(10);
  elb::ControlPlaneParams control_plane{};
  ElbStateLossParams state_loss{};
};

struct StackParams {
  ZuulParams zuul;
  std::vector<TierParams> tiers;
  std::vector<FamilyParams> families;
  /// The EVCache cluster the tiers read through; its own workload is not started, and its
  /// zones are the stack's three zones.
  evcache::EvcacheParams evcache;
  /// Chaos Monkey over node groups ("zuul", "tier/<name>"); off unless enabled.
  bool chaos_monkey_enabled = false;
  world::ChaosMonkeyParams chaos_monkey;
  MultiRegionParams multi_region;
  /// Each family's own ELB in every region, with its control plane (off by default).
  ElbEdgeParams elb;
  /// The regions built: multi_region.regions, or the one default region.
  std::vector<RegionParams> region_list() const;
  /// Index of the region named `name` in region_list(); -1 if none.
  int region_index(std::string_view name) const;
  /// A family's home region index.
  int home_of(const FamilyParams& f) const;
  /// Throws std::invalid_argument naming the field ("tiers[1].calls[0].tier: ...") and the fix.
  void validate() const;
  const TierParams* find_tier(std::string_view name) const;
};

}  // namespace faultline::sim::zuul
