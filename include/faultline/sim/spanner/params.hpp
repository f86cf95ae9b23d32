// Parameters of the Spanner model (sim/spanner): the deployment, Paxos and leases, the
// transaction layer and the built-in workload, with defaults from the OSDI 2012 paper where it
// gives a figure (model-facts §2) and marked assumptions elsewhere.
//
// Every field is a plain value with a default; validate() throws std::invalid_argument naming
// the field and the fix, so the scenario binding can map JSON onto it one key at a time.
#pragma once

#include <faultline/time.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace faultline::sim::spanner {

/// Where the model takes TT.now() from.
enum class TimeSourceKind : std::uint8_t {
  /// The TrueTime oracle (time masters per zone, a daemon per host; truetime.hpp).
  kTrueTime,
  /// The host's own clock ± a fixed assumed epsilon: sound only while every clock really is
  /// within epsilon of true time, which is what the broken-clock tests violate.
  kHostClock,
};
std::string_view to_string(TimeSourceKind k);

struct WorkloadParams {
  /// Client processes per zone (each a closed loop: think, one transaction, repeat).
  int clients_per_zone = 2;
  /// Mean think time between a client's transactions (exponential); with open_loop, the mean
  /// gap between its arrivals.
  Duration think_time = Duration::millis(20);
  /// Open loop: each client's transactions arrive as a Poisson process whatever the system
  /// does, wait in the client's queue while an earlier one runs (one at a time), and count
  /// their latency from arrival. What Figure 5's clients do ("operations are queued while the
  /// leader is unavailable"): an outage builds a backlog that drains as a burst after it.
  bool open_loop = false;
  /// Mix, in parts: read-write transactions, read-only transactions, snapshot reads at a
  /// slightly stale timestamp (served by the closest replica).
  int read_write_parts = 1;
  int read_only_parts = 1;
  int snapshot_parts = 0;
  /// Keys touched per transaction, and how many groups they are drawn from (1 = single-group
  /// transactions; more = two-phase commit across that many participants).
  int keys_per_txn = 2;
  int groups_per_txn = 1;
  /// How far in the past snapshot reads read.
  Duration snapshot_staleness = Duration::seconds(10);
  /// Give up on a transaction (client side) after this long; counted as a failure.
  Duration txn_timeout = Duration::seconds(5);
  /// Attempts per transaction (aborts by wound-wait and leader changes are retried).
  int max_attempts = 3;
  /// Zones (indices) whose clients run; empty = all zones.
  std::vector<int> client_zones;
  /// Records every transaction in a check::History for the end-of-run checkers.
  bool record_history = true;

  void validate() const;
};

/// Directories and the placement driver (Spanner §2.2): a directory is a contiguous key range,
/// the unit of placement; the driver splits directories that grew too large, merges small
/// neighbours, moves directories between Paxos groups (movedir) to even out their load, and
/// can rebalance leaders across zones. Every threshold 0 (the default) turns that action off,
/// so a deployment without a driver behaves as the static model did.
struct PlacementParams {
  /// Directories each group starts with (equal key ranges).
  int directories_per_group = 1;
  /// The last this-many groups start with no directory: capacity just added, which the
  /// driver fills by moving directories onto it (rebalance_keys > 0).
  int empty_groups = 0;
  /// Split a directory once it holds more than this many keys with data (0: never). The paper
  /// gives no figure; a threshold in keys keeps tests small (bytes = keys × 4 KiB here).
  int split_keys = 0;
  /// Merge two adjacent directories of one group when both hold fewer keys than this (0: never).
  int merge_keys = 0;
  /// Move a directory from the group with the most keys to the one with the fewest once they
  /// differ by more than this many keys (0: never move).
  int rebalance_keys = 0;
  /// Hand off leaders from a zone that leads more than its share of groups (ceil(groups/zones))
  /// to a replica in another zone.
  bool balance_leaders = false;
  /// How often the driver looks at the directories.
  Duration interval = Duration::seconds(1);
  /// Deliberately broken movedir for tests: switch the directory's location to the destination
  /// without copying its data there (no background copy, no delta in the final transaction).
  bool unsafe_move_without_copy = false;

  bool enabled() const {
    return split_keys > 0 || merge_keys > 0 || rebalance_keys > 0 || balance_leaders;
  }
  void validate() const;
};

struct SpannerParams {
  /// Zones of the universe (one region); replicas of a group go to distinct zones.
  int zones = 3;
  /// Spanservers per zone; each serves the replicas placed on it.
  int servers_per_zone = 1;
  /// Paxos groups (one per tablet) and replicas per group (3 or 5 in the paper).
  int groups = 6;
  int replicas = 3;
  /// Keys in the key space ("k0000"...), range-partitioned over the groups.
  int keys = 60;
  /// Zone index where the placement driver puts every leader; -1 spreads leaders round robin
  /// (Figure 5 puts all leaders in one zone).
  int leader_zone = -1;

  /// Leader lease length: "10 seconds by default" (Spanner §4.1.2, model-facts §2).
  Duration lease = Duration::seconds(10);
  /// A leader renews its lease (a no-op write, which also carries MinNextTS) this often.
  /// Assumption: a few times per lease, so a healthy leader never lets it lapse.
  Duration lease_renew_interval = Duration::seconds(2);
  /// Replicas whose leader lease has lapsed campaign after a random backoff up to this long.
  Duration election_backoff_max = Duration::millis(200);
  /// How often a replica checks whether it should campaign.
  Duration election_check_interval = Duration::millis(100);
  /// Timeout of RPCs between spanservers and from clients.
  Duration rpc_timeout = Duration::millis(500);
  /// A participant that stays prepared this long asks the coordinator what happened.
  Duration in_doubt_timeout = Duration::seconds(1);
  /// fsync latency of the Paxos log (Spanner logs to Colossus; calibrated so a 3-replica
  /// Paxos write takes about 9 ms, Table 3). Assumption.
  Duration log_fsync_latency = Duration::millis(5);
  /// CPU time per request at a spanserver. Assumption.
  Duration op_cpu = Duration::micros(50);
  /// Background threads per spanserver that loop on a short absolute timed wait on the host
  /// clock (`timed_wait`) and then work for `cpu_slice`, as server thread pools do. 0 (the
  /// default) leaves them out. On a host whose kernel has the 2012 leap-second bug every such
  /// wait returns at once after the leap, so they spin and starve request handling of CPU:
  /// this is what connects a Spanner fleet to that bug (the leap-second story's variant).
  int timed_wait_threads = 0;
  Duration timed_wait = Duration::millis(100);
  Duration cpu_slice = Duration::millis(3);
  /// Stragglers: each request a spanserver handles is, with this probability, held up by
  /// background work (a Colossus write hiccup, a compaction, a CPU-starved thread) for a
  /// Pareto-distributed time of at least `stall_min` with shape `stall_alpha`, capped at
  /// `stall_max`. 0 (the default) turns it off: Table 3's unloaded runs show a standard
  /// deviation of about 1 ms, so no tail. The Table 4 calibration (a shared, loaded cluster)
  /// uses 1 % / 20 ms / 3.0 / 1 s: an assumption shaped after "The Tail at Scale" (Dean &
  /// Barroso 2013: a 1 % tail far above the median; BigTable 3-replica reads p50 19 ms, p99
  /// 67 ms on an idle cluster), light enough that 25 participants stay near the paper's mean.
  double stall_probability = 0.0;
  Duration stall_min = Duration::millis(10);
  double stall_alpha = 1.1;
  Duration stall_max = Duration::seconds(1);
  /// CPU time a two-phase-commit coordinator leader spends on a transaction of n
  /// participants: n × (per_participant + n × per_participant_pair), serialized on its host.
  /// Per participant it takes a prepare, logs it in the commit record and sends the outcome;
  /// the pair term is work on the whole participant set per participant (each arriving
  /// prepare is matched against the set, and each message carries it). Both 0 by default.
  /// Assumption for the Table 4 calibration: 0.3 ms and 1.5 us, the least-squares shape of
  /// the paper's means beyond the model's own 2PC latency at 50, 100 and 200 participants
  /// (+19, +47, +123 ms): the paper gives no breakdown, so these are fitted, not measured.
  Duration coordinator_cpu_per_participant = Duration::zero();
  Duration coordinator_cpu_per_participant_pair = Duration::zero();

  /// How long a replica keeps superseded versions of a key. Spanner's data is multi-version
  /// and "old versions of data are subject to configurable garbage-collection policies"
  /// (Corbett et al. §1); Cloud Spanner keeps every version for its version_retention_period,
  /// one hour by default. Once a replica's safe time passes t + horizon, it keeps of each key
  /// only the version visible at t and the newer ones, and refuses reads at timestamps below
  /// t ("snapshot too old"). Zero keeps every version for the whole run.
  Duration version_gc_horizon = Duration::hours(1);

  /// Commit wait on (the paper's rule). False is the deliberately broken variant.
  bool commit_wait = true;
  TimeSourceKind time_source = TimeSourceKind::kTrueTime;
  /// kHostClock only: the epsilon the model assumes.
  Duration host_clock_epsilon = Duration::millis(4);

  /// Soft kill (Figure 5): at handoff_at, every leader in zone handoff_zone hands its group
  /// to a replica in another zone. -1: no hand-off.
  int handoff_zone = -1;
  Duration handoff_at = Duration::zero();

  WorkloadParams workload;
  PlacementParams placement;

  void validate() const;
};

}  // namespace faultline::sim::spanner
