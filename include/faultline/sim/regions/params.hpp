// Parameters of the regions model (sim/regions): several regions, each with an edge (its ELB
// entry point), a backend of servers with autoscaling, a cache per member population and a
// backing store; member populations reaching a region through DNS steering with a TTL; health-
// based DNS failover, in active-active (the other region serves) or Isthmus (the other region's
// edge tunnels to the home region's backend, the broken ELB bypassed) mode; and Chaos Kong, a
// drill that moves a region's traffic to another region gradually or all at once.
//
// Semantics and sources: model-facts.md §4.2 (Isthmus, Active-Active, the first Chaos Kong
// exercise) and docs/stories/netflix.md. Every number not from those sections is an assumption.
#pragma once

#include <faultline/sim/regions/dns.hpp>
#include <faultline/time.hpp>

#include <string>
#include <vector>

namespace faultline::sim::regions {

/// One region's stack: its edge and its backend (servers, cache, store).
struct RegionParams {
  std::string name;
  /// Servers up at the start, and the autoscaler's bounds (assumption: scaled down).
  int servers = 8;
  int min_servers = 2;
  int max_servers = 40;
  /// Requests per second one server handles; above the region's capacity requests are shed.
  double server_rate_per_s = 10.0;
  /// Requests per second the backing store answers; a cache miss above it fails (assumption).
  double store_rate_per_s = 15.0;
  void validate(std::string_view field) const;
};

/// A population of members whose traffic starts in one region (its DNS name's first answer).
struct PopulationParams {
  std::string name;
  std::string home;
  double rate_per_s = 50.0;
  void validate(std::string_view field) const;
};

/// Target tracking on the region's arrival rate, as an AWS Auto Scaling group does it.
struct AutoscalingParams {
  bool enabled = true;
  /// How often the scaler looks at the last interval's arrival rate.
  Duration interval = Duration::minutes(1);
  /// Utilisation the scaler aims at (assumption: 0.6, headroom for a zone's loss).
  double target_utilisation = 0.6;
  /// A new server takes this long to boot and join (assumption: 5 min).
  Duration boot_time = Duration::minutes(5);
  void validate() const;
};

/// The cache of each region (EVCache, simplified): one slot per key per population, no memory
/// limit, an item TTL; a miss reads the backing store and fills the slot.
struct CacheParams {
  /// Keys in each population's working set, popularity Zipf(s) (assumption).
  int keys = 20000;
  double zipf_s = 0.9;
  /// An item expires this long after it was filled (EVCache: "a few minutes to a few hours").
  Duration item_ttl = Duration::minutes(30);
  /// Each region starts warm for the populations whose home it is (fills at random ages).
  bool warm_home = true;
  void validate() const;
};

/// Health-based DNS failover (Route 53 health checks on each region's edge).
struct FailoverParams {
  bool enabled = false;
  enum class Mode { kActiveActive, kIsthmus };
  /// Active-active: the other region's full stack serves. Isthmus: the other region's edge
  /// tunnels the traffic to the home region's backend (ELB bypassed, one more cross-region hop).
  Mode mode = Mode::kActiveActive;
  Duration check_interval = Duration::seconds(30);
  double error_threshold = 0.2;
  /// Consecutive failing checks before the records pointing at the region are switched.
  int checks = 3;
  void validate() const;
};

/// A region's ELB failing: a share of its nodes black-hole requests over [at, at + duration).
struct EdgeFaultParams {
  std::string region;
  Duration at{};
  Duration duration = Duration::hours(1);
  double broken_fraction = 1.0;
  void validate(std::string_view field) const;
};

/// Chaos Kong: the DNS weights of the populations homed in `region` move to `to` in `steps`
/// equal steps over `over` from `start` (over = 0: a sudden cut).
struct EvacuationParams {
  bool enabled = false;
  std::string region;
  std::string to;
  Duration start = Duration::minutes(30);
  Duration over = Duration::hours(1);
  int steps = 12;
  void validate() const;

  /// One step of the drill: at `when` (from the run's start), `share` of the weight has moved.
  struct Step {
    Duration when;
    double share = 0.0;
  };
  /// The drill's steps in order (one step at `start` when over = 0). Shared by sim/regions
  /// and sim/zuul, so that both evacuate alike.
  std::vector<Step> schedule() const;
};

struct ClientParams {
  /// A black-holed request is given up after this.
  Duration timeout = Duration::seconds(10);
  Duration latency_base = Duration::millis(40);
  Duration latency_mean = Duration::millis(20);
  /// Round trip between regions (world cross-region: 30 ms one way).
  Duration cross_region_rtt = Duration::millis(60);
  /// Added to a miss: the backing store's read (assumption).
  Duration store_latency = Duration::millis(30);
  void validate() const;
};

struct RegionsParams {
  std::vector<RegionParams> regions = default_regions();
  std::vector<PopulationParams> populations = default_populations();
  DnsParams dns;
  AutoscalingParams autoscaling;
  CacheParams cache;
  FailoverParams failover;
  std::vector<EdgeFaultParams> edge_faults;
  EvacuationParams evacuation;
  ClientParams client;

  static std::vector<RegionParams> default_regions();
  static std::vector<PopulationParams> default_populations();
  /// Index of the region named `name`, or -1.
  int region_index(std::string_view name) const;
  /// Throws std::invalid_argument naming the field ("regions[1].servers: ...") and the fix.
  void validate() const;
};

std::string_view to_string(FailoverParams::Mode m);

}  // namespace faultline::sim::regions
