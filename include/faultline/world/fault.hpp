// The fault injector: one declarative vocabulary for scheduled and seeded-random faults, and
// Netflix's chaos tools as presets.
//
// A FaultSpec says what happens, to whom, when and for how long: "at 10 s crash host h3 for
// 30 s", "at 1 min partition zone a from region west one-way for 5 min". Faults with a
// duration undo themselves (crash → restart, partition → heal, clog → unclog, pause → resume,
// latency/loss/disk/drift → previous setting). Random faults draw their times from the
// stream "faults/<index>" (exponential inter-arrival on a mean interval) and their victims
// uniformly from the scope. Every fault that fires, including undos, is a trace record
// (source "fault", kind = the fault kind) and counts in "faults.fired" and
// "faults.fired/<kind>"; fired() lists them, so a run can report which faults actually fired.
//
// Presets (model-facts §4.3):
// - Chaos Monkey: per group, each work day a biased coin (p = 1 / mean_workdays) decides
//   whether one random instance is killed at a uniform time within business hours, at least
//   min_between kills apart; business hours are in the epoch's UTC calendar shifted by
//   utc_offset. Killed instances are replaced (restarted) after restart_after.
// - Latency Monkey: added delay on every link into and out of a group's hosts.
// - Chaos Kong: a whole region's hosts crash, and come back after the duration.
#pragma once

#include <faultline/event_queue.hpp>
#include <faultline/rng.hpp>
#include <faultline/time.hpp>
#include <faultline/world/ids.hpp>
#include <faultline/world/params.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::world {

class World;

enum class FaultKind : std::uint8_t {
  kCrash,       // target's nodes crash (host/zone/region targets: their hosts lose power)
  kRestart,     // target's nodes (or hosts) restart from durable state
  kPause,       // target's nodes freeze: nothing of them runs until resumed
  kResume,
  kPartition,   // messages between target and peer are dropped (one_way: target → peer only)
  kHeal,        // removes every partition
  kClog,        // messages between target and peer wait until unclogged
  kUnclog,      // removes every clog
  kLatency,     // `amount` added to messages between target and peer
  kPacketLoss,  // messages between target and peer lost with probability `ratio`
  kClockJump,   // target hosts' clocks jump by `amount` (no clock_was_set)
  kClockSet,    // settimeofday to true UTC + `amount` (calls clock_was_set: ends the 2012 bug)
  kClockDrift,  // target hosts' clocks drift at `ppm`
  kDiskFaults,  // target hosts' disks fail I/O with `ratio` (and tear writes with `torn`)
  kCpuStall,    // target hosts' CPUs make no progress for `amount`
};
std::string_view to_string(FaultKind k);
std::optional<FaultKind> parse_fault_kind(std::string_view text);

enum class TargetKind : std::uint8_t { kNode, kGroup, kHost, kZone, kRegion, kAll };
std::string_view to_string(TargetKind k);
std::optional<TargetKind> parse_target_kind(std::string_view text);

/// Whom a fault hits, by name: a node, a group of nodes, a host, a zone, a region, or all.
struct Target {
  TargetKind kind = TargetKind::kAll;
  std::string name;
  /// "host:h3", "zone:us-east-1a", "all".
  std::string to_string() const;
};

struct FaultSpec {
  /// True time since the start of the simulation.
  Duration at{};
  FaultKind kind = FaultKind::kCrash;
  Target target;
  /// The other side of a partition, clog, latency or loss; kAll means "everyone else".
  Target peer;
  /// Zero: the fault stays until undone explicitly. Otherwise it undoes itself after this.
  Duration duration{};
  /// Partitions, clogs, latency and loss: only messages from target to peer.
  bool one_way = false;
  /// Latency added, clock jump or set offset, CPU stall length.
  Duration amount{};
  double ppm = 0.0;
  /// Packet loss or disk I/O error probability.
  Ratio ratio{};
  /// Disk faults: torn-write probability.
  Ratio torn{};
  /// Whether link faults also hit messages already in flight (default: the network's).
  std::optional<bool> hits_in_flight{};

  void validate() const;
};

/// Weekday business hours in the epoch's UTC calendar, shifted by utc_offset (e.g. -8 h for
/// Pacific standard time).
struct BusinessHours {
  int start_hour = 9;
  int end_hour = 17;
  bool weekdays_only = true;
  Duration utc_offset{};

  /// Whether the UTC instant falls within business hours.
  bool contains(UtcInstant t) const;
  void validate(std::string_view field) const;
};

/// Faults at random times: exponential inter-arrival with mean `mean_interval` within
/// [start, end), each hitting one member of `scope` picked uniformly at granularity `pick`.
struct RandomFaultSpec {
  FaultKind kind = FaultKind::kCrash;
  Target scope;
  TargetKind pick = TargetKind::kNode;
  Duration mean_interval = Duration::hours(1);
  Duration start{};
  Duration end = Duration::max();
  /// Copied into every fault: duration, amount, ppm, ratio, torn, one_way, peer.
  FaultSpec shape;
  /// Fire only within business hours (times outside are skipped).
  std::optional<BusinessHours> hours;

  void validate() const;
};

struct ChaosMonkeyParams {
  /// Node groups to prey on.
  std::vector<std::string> groups;
  /// Mean time between terminations per group, in work days (Chaos Monkey 2.x default: 2).
  double mean_workdays = 2.0;
  /// Minimum time between terminations per group (default: 1 day).
  Duration min_between = Duration::hours(24);
  BusinessHours hours;
  /// The auto-scaling group replaces the instance after this; zero: never.
  Duration restart_after = Duration::minutes(5);
  Duration start{};
  Duration end = Duration::max();

  void validate() const;
};

struct LatencyMonkeyParams {
  std::string group;
  Duration at{};
  Duration duration{};
  Duration delay = Duration::seconds(1);

  void validate() const;
};

struct ChaosKongParams {
  std::string region;
  Duration at{};
  Duration duration = Duration::hours(1);

  void validate() const;
};

/// One fault that fired.
struct FiredFault {
  Time time{};
  FaultKind kind = FaultKind::kCrash;
  std::string target;
  /// "scheduled", "random", "chaos-monkey", "latency-monkey", "chaos-kong", "undo".
  std::string origin;
};

class FaultInjector {
public:
  explicit FaultInjector(World& world);
  FaultInjector(const FaultInjector&) = delete;
  FaultInjector& operator=(const FaultInjector&) = delete;
  ~FaultInjector();

  /// Schedules a fault at spec.at (validated; std::invalid_argument on bad input or an
  /// unknown target name; at must not be in the past).
  void schedule(FaultSpec spec);
  void schedule(std::span<const FaultSpec> specs);
  /// Fires a fault now (its duration still schedules the undo).
  void apply(const FaultSpec& spec) { fire(spec, "manual"); }
  void add_random(RandomFaultSpec spec);

  void chaos_monkey(ChaosMonkeyParams params);
  void latency_monkey(LatencyMonkeyParams params);
  void chaos_kong(ChaosKongParams params);

  const std::vector<FiredFault>& fired() const { return fired_; }
  std::uint64_t fired_count(FaultKind k) const;

  /// The hosts and nodes a target names (throws std::invalid_argument on an unknown name).
  std::vector<HostId> resolve_hosts(const Target& t) const;
  std::vector<NodeId> resolve_nodes(const Target& t) const;

private:
  void schedule_as(FaultSpec spec, std::string origin);
  void after(Duration d, std::function<void()> fn);
  void track(EventId e);
  void fire(const FaultSpec& spec, std::string_view origin);
  void note(FaultKind kind, const Target& target, std::string_view origin);
  void random_next(std::size_t index);
  void monkey_day(std::size_t group_index, UtcInstant day);

  World* world_;
  std::vector<FiredFault> fired_;
  std::map<FaultKind, std::uint64_t> counts_;
  std::vector<RandomFaultSpec> random_;
  std::vector<Rng> random_rng_;
  struct Monkey {
    ChaosMonkeyParams params;
    std::string group;
    Rng rng;
    std::optional<Time> last_kill;
  };
  std::vector<Monkey> monkeys_;
  std::vector<EventId> events_;
};

}  // namespace faultline::world
