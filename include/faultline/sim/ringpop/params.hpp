// Parameters of the Ringpop model: SWIM membership (Das, Gupta, Motivala, DSN 2002) as
// ringpop-go runs it, Lifeguard (Dadgar et al., 2017) as a switch, and the hash ring.
// Figures and their sources: /work/shared/reference/model-facts.md §5.1 and §5.2.
//
// Plain aggregates with defaults, filled field by field by the scenario binding
// (src/scenario/bindings/ringpop.cpp) or by C++ code, checked by validate(), which throws
// std::invalid_argument naming the field ("swim.ping_timeout: ...") and the fix.
#pragma once

#include <faultline/time.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::sim::ringpop {

/// Flap damping (ringpop-node, model-facts §5.2): every status change a member applies about
/// another adds `penalty` to that member's score, which halves every `half_life`. Above
/// `suppress_limit` the member asks `damp_req_size` others (damp-req) for their scores; if
/// `damp_req_quorum` of them are above the limit too, it evicts the flapper (declares it faulty)
/// and ignores news of it being reachable until its score decays below `reuse_limit`. The
/// numbers are assumptions in the manner of BGP route-flap damping (RFC 2439), which the
/// scheme follows; ringpop's own defaults were not found in public sources. Off by default.
struct DampingParams {
  bool enabled = false;
  double penalty = 500.0;
  double suppress_limit = 5000.0;
  double reuse_limit = 2500.0;
  Duration half_life = Duration::seconds(60);
  std::uint32_t damp_req_size = 3;
  std::uint32_t damp_req_quorum = 2;
  Duration damp_req_timeout = Duration::seconds(1);

  void validate() const;
};

/// Lifeguard (model-facts §5.1; memberlist's DefaultLANConfig for the numbers).
struct LifeguardParams {
  bool enabled = false;
  /// Local health multiplier: a saturating score in [0, max_multiplier - 1]; probe interval
  /// and timeouts are stretched by (score + 1). memberlist AwarenessMaxMultiplier = 8.
  std::uint32_t max_multiplier = 8;
  /// Dynamic suspicion: a lone suspicion waits suspicion_max_mult x the base suspect timeout,
  /// shrinking (logarithmically) to the base as `confirmations` independent suspicions of the
  /// same member arrive. memberlist SuspicionMaxTimeoutMult = 6.
  std::uint32_t suspicion_max_mult = 6;
  std::uint32_t confirmations = 3;
  /// Ping-req helpers that cannot reach the target answer with a nack; a requester that misses
  /// nacks counts itself as slow (local health +1).
  bool nacks = true;
  /// Buddy system: a ping to a member we suspect carries that suspicion, so it refutes at once.
  bool buddy = true;

  void validate() const;
};

/// SWIM as ringpop-go runs it (swim/node.go defaults, model-facts §5.2). `memberlist()`
/// gives HashiCorp memberlist's LAN numbers on the same engine.
struct SwimParams {
  /// The least time from the start of one protocol period to the next.
  Duration min_protocol_period = Duration::millis(200);
  /// ringpop: the period stretches to 2x the median of recent probe durations when that is
  /// longer than the minimum (gossip.go AdjustProtocolRate). memberlist: a fixed interval.
  bool adaptive_period = true;
  Duration ping_timeout = Duration::millis(1500);
  Duration ping_request_timeout = Duration::millis(5000);
  /// k: members asked to ping an unresponsive target (ping-req).
  std::uint32_t ping_request_size = 3;
  /// Suspect -> faulty.
  Duration suspect_timeout = Duration::seconds(5);
  /// memberlist: the suspect timeout is suspect_timeout x max(1, log10 n).
  bool suspect_timeout_scales_with_log_n = false;
  /// Each change is piggybacked piggyback_factor x ceil(log10(pingable + 1)) times.
  std::uint32_t piggyback_factor = 15;
  /// ringpop-go: a probe whose ping-req helpers all fail to answer is inconclusive (no
  /// suspicion). memberlist suspects anyway.
  bool inconclusive_without_helper_answers = true;
  /// Full sync (and a reverse full sync) when a ping shows differing membership checksums and
  /// there are no changes to send.
  bool full_sync = true;
  std::uint32_t max_reverse_full_sync_jobs = 5;
  /// Partition healing: every heal_interval, with probability heal_probability_numerator / N,
  /// a member contacts a random member it holds as faulty and merges with it.
  bool heal = true;
  Duration heal_interval = Duration::seconds(30);
  std::uint32_t heal_probability_numerator = 3;
  /// Joins: a starting member asks join_size members of its seed list for their membership.
  std::uint32_t join_size = 3;
  Duration join_timeout = Duration::millis(1000);
  /// CPU time to process one inbound message (an assumption: tens of microseconds for a
  /// Go or Node.js handler). Inbound messages queue on the host CPU while timers do not, so a
  /// starved member sees acks late: what Lifeguard is about. Zero: processed at once.
  Duration message_cpu = Duration::micros(50);
  /// Bytes on the wire: a message header and each membership change it carries.
  std::uint32_t header_bytes = 64;
  std::uint32_t change_bytes = 48;

  LifeguardParams lifeguard;
  DampingParams damping;

  /// ringpop-go defaults (the struct's defaults).
  static SwimParams ringpop_defaults();
  /// HashiCorp memberlist DefaultLANConfig on this engine: probe every 1 s with a 500 ms
  /// timeout, k = 3, suspicion 4 x max(1, log10 n) x 1 s, Lifeguard on.
  static SwimParams memberlist_lan();

  void validate() const;
};

/// The consistent-hash ring (ringpop-go: FarmHash on a red-black tree, 100 replica points).
struct RingParams {
  std::uint32_t replica_points = 100;

  void validate() const;
};

/// Handle or forward (ringpop's request proxy): a request for a key is handled by the member
/// that owns it in the receiver's ring, or forwarded to that owner. The owner refuses a
/// forwarded request while its membership checksum differs from the forwarder's (ringpop-node
/// requestProxy's checksum check, model-facts §5.2); the forwarder retries on the schedule,
/// looking the owner up again each time.
struct ForwardParams {
  bool refuse_on_checksum_mismatch = true;
  /// Delays before each retry: ringpop's example retrySchedule [0, 0.5, 2] s, maxRetries 3.
  std::vector<Duration> retry_schedule{Duration::zero(), Duration::millis(500),
                                       Duration::seconds(2)};
  /// Time a forwarded request waits for the owner's answer (an assumption; TChannel calls in
  /// ringpop carry their own timeouts).
  Duration timeout = Duration::seconds(1);
  /// CPU time the owner spends handling a request (an assumption).
  Duration handle_cpu = Duration::micros(100);

  void validate() const;
};

/// One start of a member after the run began (a join through seeds).
struct JoinSpec {
  std::string member;  // a member name, "ringpop-<i>"
  Duration at;
};

/// A cluster of ringpop members, one per host, spread round-robin over zones.
struct ClusterParams {
  std::uint32_t members = 10;
  std::vector<std::string> zones{"zone-a", "zone-b", "zone-c"};
  /// Members that know everyone at time zero (a converged cluster, as after a long run);
  /// false: every member starts alone and joins through the seeds.
  bool start_converged = true;
  /// The seed list's first `seeds` members are what joiners contact.
  std::uint32_t seeds = 3;
  /// Members that do not start at time zero; they join at `at`.
  std::vector<JoinSpec> late_joins;
  SwimParams swim;
  RingParams ring;
  ForwardParams forward;

  void validate() const;
};

/// ceil(log10(n + 1)), n >= 0, in integers (so it is exact at the powers of ten).
std::uint32_t ceil_log10_plus_one(std::uint64_t n);

/// ringpop's piggyback limit: factor x ceil(log10(pingable + 1)) (disseminator.go).
std::uint32_t piggyback_limit(std::uint32_t factor, std::uint64_t pingable);

}  // namespace faultline::sim::ringpop
