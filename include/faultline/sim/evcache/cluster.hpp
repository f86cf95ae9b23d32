// The EVCache model (sim/evcache): server groups of memcached-like servers (one per zone, or a
// single unreplicated one), the EVCache client and a backing store, on the kernel directly.
//
// Messages are not world messages: each hop's latency is drawn from the world's link classes
// (NetworkParams::same_zone / cross_zone), so in-zone and cross-zone reads cost what the world's
// links cost, without NIC queueing (a 1 KB value is 8 µs at 1 Gbps). See sim/evcache/README.md.
//
// Metric names (sim.metrics()), each scope with requests, successes, failures (and latency):
//   evcache/reads/*        application reads; success = a value returned (cache or store)
//   evcache/cache/*        reads; success = served by a cache (so its availability is the hit rate)
//   evcache/local/*        reads; success = served by the first zone asked (the local hit rate)
//   evcache/fallback/*     reads; success = the read was sent to another zone (the fallback rate)
//   evcache/store/*        store calls; success = answered in time (throughput = store load)
//   evcache/zone-<z>/*     reads of clients in zone z, with their latency
//   evcache/attempts       cache and store calls made for reads
#pragma once

#include <faultline/rng.hpp>
#include <faultline/sim/evcache/ketama.hpp>
#include <faultline/sim/evcache/lru.hpp>
#include <faultline/sim/evcache/params.hpp>
#include <faultline/simulation.hpp>

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace faultline::sim::evcache {

struct ScopeNames {
  std::string requests, successes, failures, latency;
};
/// Registry names of one measure scope ("reads", "cache", "local", "fallback", "store",
/// "zone-a", ...).
ScopeNames scope_names(std::string_view scope);
std::string attempts_name();

/// Where a read's value came from.
enum class Served : std::uint8_t { kLocal, kFallback, kStore, kFailed };

struct ReadResult {
  Served served = Served::kFailed;
  bool fell_back = false;  // another zone was asked
  Duration latency;
};

class EvcacheCluster {
public:
  EvcacheCluster(Simulation& sim, EvcacheParams params);
  EvcacheCluster(const EvcacheCluster&) = delete;
  EvcacheCluster& operator=(const EvcacheCluster&) = delete;

  /// Starts the Poisson workload and schedules the outages of the params.
  void start();

  /// One application read by a client in `zone`; `done` runs when it finishes.
  void read(int zone, std::uint64_t key, std::function<void(const ReadResult&)> done = {});
  /// One application write by a client in `zone`: a set in every server group (write-all).
  void write(int zone, std::uint64_t key);

  /// Loses every server of `zone`'s group (items are gone).
  void fail_zone(int zone);
  /// Brings `zone`'s servers back empty; write-only for the warm-up if configured.
  void restore_zone(int zone);

  int groups() const { return static_cast<int>(groups_.size()); }
  /// The zone a server group lives in.
  int group_zone(int group) const { return groups_[static_cast<std::size_t>(group)].zone; }
  bool group_up(int group) const { return groups_[static_cast<std::size_t>(group)].up; }
  bool write_only(int group) const;
  /// Whether the server that owns `key` in `group` holds it (no LRU touch, no expiry).
  bool holds(int group, std::uint64_t key) const;
  std::size_t items(int group) const;
  std::size_t store_queue() const { return store_queue_.size(); }
  int store_busy() const { return store_busy_; }
  const EvcacheParams& params() const { return params_; }

private:
  struct Group {
    int zone = 0;
    bool up = true;
    Time write_only_until;
    std::vector<LruStore> servers;
    std::unique_ptr<KetamaRing> ring;
  };
  struct Read;
  struct StoreCall;

  Duration hop(int from_zone, int to_zone);
  int home_group(int zone) const;
  void attempt(const std::shared_ptr<Read>& r, int group);
  void after_cache(const std::shared_ptr<Read>& r, bool hit, bool error);
  int next_group(const Read& r) const;
  void to_store(const std::shared_ptr<Read>& r);
  void store_admit(const std::shared_ptr<StoreCall>& c);
  void store_serve(const std::shared_ptr<StoreCall>& c);
  void finish(const std::shared_ptr<Read>& r, Served served);
  void set_all(int from_zone, std::uint64_t key);
  void next_op();

  Simulation& sim_;
  EvcacheParams params_;
  Rng net_rng_, work_rng_, store_rng_;
  Zipf zipf_;
  std::vector<Group> groups_;
  std::deque<std::shared_ptr<StoreCall>> store_queue_;
  int store_busy_ = 0;
  struct Scope {
    Counter *requests, *successes, *failures;
    Histogram* latency;
  };
  Scope reads_, cache_, local_, fallback_, store_;
  std::vector<Scope> zone_scopes_;
  Counter* attempts_;
};

}  // namespace faultline::sim::evcache
