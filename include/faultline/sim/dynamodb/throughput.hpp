// DynamoDB's throughput rules as plain arithmetic: per-partition token buckets with burst
// credit, adaptive capacity (a hot partition borrows the table's unused capacity, the 2017
// change), the per-partition hard ceiling, and on-demand mode (twice the previous peak).
//
// Nothing here knows the network or the clock of a host: callers pass true simulated time, so
// the rules can be tested against closed-form examples (tests/dynamodb/test_throughput.cpp) and
// shared by every request router (DynamoDB's admission control sits in front of the storage
// nodes, not inside one of them). One "unit" is one request of the model: a 1 KB write or a
// 4 KB strongly consistent read.
#pragma once

#include <faultline/time.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::sim::dynamodb {

enum class CapacityMode : std::uint8_t { provisioned, on_demand };
std::string_view to_string(CapacityMode m);
std::optional<CapacityMode> parse_capacity_mode(std::string_view text);

/// A token bucket over true time: `rate_per_s` tokens per second up to `capacity`.
class TokenBucket {
public:
  TokenBucket() = default;
  /// Starts with `initial` tokens (clamped to capacity).
  TokenBucket(double rate_per_s, double capacity, double initial, Time now);
  /// Tokens available at `now` (refills first).
  double available(Time now);
  /// Takes `n` tokens if available; false (and nothing taken) otherwise.
  bool try_take(Time now, double n = 1.0);
  /// Takes `n` tokens without checking (the bucket may go negative: a debt).
  void take(Time now, double n = 1.0);
  void set_rate(Time now, double rate_per_s, double capacity);
  double rate_per_s() const { return rate_per_s_; }
  double capacity() const { return capacity_; }

private:
  void refill(Time now);
  double rate_per_s_ = 0.0;
  double capacity_ = 0.0;
  double tokens_ = 0.0;
  Time last_{};
};

struct ThroughputParams {
  CapacityMode mode = CapacityMode::provisioned;
  /// Provisioned capacity of the table, units per second, split evenly over its partitions.
  double provisioned_units_per_s = 1000.0;
  /// Unused capacity a partition keeps as burst credit: "DynamoDB currently retains up to
  /// five minutes (300 seconds) of unused read and write capacity" (AWS developer guide,
  /// "Burst capacity"). Zero disables bursting.
  Duration burst_window = Duration::seconds(300);
  /// Burst credit a partition starts with, as a fraction of its full credit.
  double initial_burst_fraction = 0.0;
  /// The 2017 change: a partition over its share may use capacity the table leaves unused.
  bool adaptive_capacity = false;
  /// Hard ceiling per partition: 1,000 write units per second (3,000 read units) per
  /// partition (AWS developer guide, "Partitions and data distribution").
  double partition_max_units_per_s = 1000.0;
  /// On-demand: the table serves up to twice its previous peak ("instantly accommodates up to
  /// double the previous peak traffic on a table", AWS developer guide, "On-demand mode"); a
  /// new table's previous peak counts as 2,000 write units (so 4,000 at once).
  double on_demand_initial_peak_units_per_s = 2000.0;

  void validate() const;
};

/// How a request was admitted: from the partition's own share (burst credit included), from
/// the table's unused capacity (adaptive capacity), under on-demand, or not at all.
enum class Admission : std::uint8_t { own_share, borrowed, on_demand, throttled };
std::string_view to_string(Admission a);

/// The throughput state of one table with `partitions` partitions.
class TableThroughput {
public:
  TableThroughput(ThroughputParams params, int partitions, Time now = Time::zero());

  /// Decides one request of `units` on `partition` at `now` and charges it.
  Admission admit(int partition, Time now, double units = 1.0);

  /// The partition's share of provisioned capacity, units per second.
  double share_per_s() const { return share_per_s_; }
  /// The table's current on-demand limit (twice the previous peak, the peak being the most
  /// units admitted in one whole second so far), units per second.
  double on_demand_limit_per_s() const { return 2.0 * peak_per_s_; }
  const ThroughputParams& params() const { return params_; }
  std::uint64_t throttled() const { return throttled_; }
  std::uint64_t admitted() const { return admitted_; }

private:
  void track_peak(Time now, double units);

  ThroughputParams params_;
  double share_per_s_;
  // Own share, refilling at share_per_s; its capacity is burst_window of share, so unused
  // share is kept as burst credit.
  std::vector<TokenBucket> share_;
  std::vector<TokenBucket> ceiling_;  // the per-partition hard limit
  TokenBucket table_;                 // the table's capacity (what borrowing draws on)
  // On-demand peak tracking: units per whole second of true time.
  std::int64_t second_ = -1;
  double this_second_units_ = 0.0;
  double peak_per_s_;
  std::uint64_t throttled_ = 0;
  std::uint64_t admitted_ = 0;
};

}  // namespace faultline::sim::dynamodb
