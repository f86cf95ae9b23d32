// One region's backend (sim/regions): servers behind the edge with target-tracking autoscaling,
// a cache per member population with item TTLs, and a backing store of fixed capacity. A request
// beyond the servers' capacity is shed; a cache miss beyond the store's capacity fails. Capacity
// is enforced per second by a token bucket (rate = capacity, burst = one second of it).
#pragma once

#include <faultline/rng.hpp>
#include <faultline/sim/regions/params.hpp>
#include <faultline/simulation.hpp>

#include <cstdint>
#include <vector>

namespace faultline::sim::regions {

class Backend {
public:
  enum class Outcome { kHit, kMiss, kShed, kStoreOverloaded };

  Backend(Simulation& sim, const RegionParams& region, const AutoscalingParams& scaling,
          const CacheParams& cache, int populations);
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  /// Fills the cache of `population` with every key, at random ages (a warm steady state).
  void warm(int population, Rng& rng);
  /// Starts the interval statistics and the autoscaler (if enabled).
  void start();
  /// Serves one request of `population` for the key of rank `key` (0-based).
  Outcome serve(int population, std::uint64_t key);

  int servers() const { return servers_; }
  int booting() const { return booting_; }
  double capacity_per_s() const { return servers_ * region_.server_rate_per_s; }
  /// Over the last autoscaling interval: hit rate and store reads per second.
  double hit_rate() const { return hit_rate_; }
  double store_rate() const { return store_rate_; }

private:
  struct Bucket {
    double tokens = 0.0;
    Time at = Time::zero();
    bool take(Time now, double rate);
  };
  /// Closes the interval's statistics and, if enabled, scales.
  void scale();

  Simulation& sim_;
  RegionParams region_;
  AutoscalingParams scaling_;
  CacheParams cache_;
  int servers_;
  int booting_ = 0;
  Bucket server_bucket_, store_bucket_;
  /// expires_[population][key]: the item's expiry; absent if not after now.
  std::vector<std::vector<Time>> expires_;
  std::uint64_t arrivals_ = 0, hits_ = 0, reads_ = 0, store_reads_ = 0;
  double hit_rate_ = 1.0, store_rate_ = 0.0;
};

}  // namespace faultline::sim::regions
