// The EVCache model (sim/evcache): server groups of memcached-like servers (one per zone, or a
// single unreplicated one), the EVCache client and a backing store.
//
// On the world layer: every server is a world node on its own host in its zone (node
// "evcache-<zone>-<i>", group "evcache/<zone>"), holding its items in its program, so a crash
// loses them; gets are RPCs and sets one-way messages from the calling node, over the world's
// links (in-zone under 1 ms, cross-zone over 2 ms for 1 KB, NIC transfer included). The world's
// faults act on the servers: a crashed or paused server, a lost zone or a partition costs the
// client its read timeout, and a server that boots again is empty (and its zone write-only
// for the warm-up). Built standalone, the cluster makes its own world (region "us-east", zones
// us-east-1a.., a client node "client-<zone>" per zone, group "client/<zone>"); embedded (sim/
// zuul), it puts its servers in the caller's world and its reads come from the caller's nodes.
// The backing store runs on the kernel (its host is not modelled). See sim/evcache/README.md.
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
#include <faultline/sim/evcache/discovery.hpp>
#include <faultline/sim/evcache/ketama.hpp>
#include <faultline/sim/evcache/lru.hpp>
#include <faultline/sim/evcache/params.hpp>
#include <faultline/simulation.hpp>
#include <faultline/world/world.hpp>

#include <span>

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace faultline::sim::evcache {

struct ScopeNames {
  std::string requests, successes, failures, latency;
};
/// Registry names of one measure scope ("reads", "cache", "local", "fallback", "store",
/// "zone-a", ...) of the cluster named `stem` ("evcache"; sim/zuul's other regions'
/// clusters are "evcache@<region>").
ScopeNames scope_names(std::string_view scope, std::string_view stem = "evcache");
std::string attempts_name(std::string_view stem = "evcache");

/// Where a read's value came from.
enum class Served : std::uint8_t { kLocal, kFallback, kStore, kFailed };

struct ReadResult {
  Served served = Served::kFailed;
  bool fell_back = false;  // another zone was asked
  Duration latency;
};

class EvcacheCluster {
public:
  /// Standalone: builds its own world with `params.zones` zones and a client node in each.
  EvcacheCluster(Simulation& sim, EvcacheParams params);
  /// Embedded: the servers of group g go on new hosts in `zones[g]` of `world` (which must
  /// outlive the cluster's use); reads need a calling node. `stem` names what the cluster
  /// owns, so that several clusters can share a world: nodes "<stem>-<zone>-<i>", groups
  /// "<stem>/<zone>", metrics "<stem>/<scope>/..." and its random streams.
  EvcacheCluster(world::World& world, std::span<const world::ZoneId> zones, EvcacheParams params,
                 std::string stem = "evcache");
  EvcacheCluster(const EvcacheCluster&) = delete;
  EvcacheCluster& operator=(const EvcacheCluster&) = delete;
  ~EvcacheCluster();

  /// Starts the Poisson workload from the client nodes (standalone only).
  void start();
  /// The node groups a standalone cluster makes ("client/a", "evcache/a", ...), sorted.
  static std::vector<std::string> groups(const EvcacheParams& params);
  world::World& world() { return *world_; }

  /// One application read from the client node of `zone` (standalone only); `done` runs when
  /// it finishes, unless the client dies first.
  void read(int zone, std::uint64_t key, std::function<void(const ReadResult&)> done = {});
  /// One application read by `caller`, a node in `zone`, through the EVCache client library.
  void read(world::Node& caller, int zone, std::uint64_t key,
            std::function<void(const ReadResult&)> done = {});
  /// One application write from the client node of `zone` (standalone only): a set in every
  /// server group (write-all).
  void write(int zone, std::uint64_t key);
  /// Called with the setting node and the key of every set this cluster's client makes (a
  /// write, or a fill after a miss), as EVCache's client hands each set to the cross-region
  /// replication (sim/zuul).
  using SetListener = std::function<void(world::Node& from, std::uint64_t key)>;
  void on_set(SetListener listener) { set_listener_ = std::move(listener); }
  /// A set that another region's replication relay delivered to `proxy`, a node of this
  /// cluster's world: written to every server group, and not handed to on_set's listener
  /// (a replicated set is not replicated again).
  void replicated_set(world::Node& proxy, std::uint64_t key);

  /// Crashes the hosts of every server of `zone`'s group (power lost: their items are gone and
  /// nothing answers, so reads time out).
  void fail_zone(int zone);
  /// Restarts those hosts; the servers come back empty, and the zone write-only for the
  /// warm-up if configured.
  void restore_zone(int zone);

  int groups() const { return static_cast<int>(groups_.size()); }
  /// The zone a server group lives in.
  int group_zone(int group) const { return groups_[static_cast<std::size_t>(group)].zone; }
  /// Whether any server of the group is up.
  bool group_up(int group) const;
  bool write_only(int group) const;
  /// Whether the clients currently list `group`'s servers in their ring (always, without
  /// discovery; with it, until a registry fetch no longer lists any of them).
  bool listed(int group) const { return groups_[static_cast<std::size_t>(group)].ring != nullptr; }
  /// The server the clients' ring of `group` maps `key` to; nullopt if the ring is empty.
  std::optional<world::NodeId> server_for(int group, std::uint64_t key) const;
  /// Whether the server that owns `key` in `group` holds it (no LRU touch, no expiry).
  bool holds(int group, std::uint64_t key) const;
  std::size_t items(int group) const;
  /// How warm `group` is: its items over the mean items of the other groups that are up and
  /// not write-only (the warm-up's until_fill test); nullopt when no such group holds items.
  std::optional<double> fill(int group) const;
  std::size_t store_queue() const { return store_queue_.size(); }
  int store_busy() const { return store_busy_; }
  const EvcacheParams& params() const { return params_; }

private:
  struct Group {
    int zone = 0;
    Time write_only_until;
    std::vector<world::NodeId> servers;
    std::vector<std::string> names;
    /// The clients' ring and the servers in it (ring index -> index into `servers`): every
    /// server, or with discovery the ones the last registry fetch listed. Null when the
    /// fetch listed none: the clients treat the zone as down and do not ask it.
    std::unique_ptr<KetamaRing> ring;
    std::vector<int> in_ring;
  };
  struct Read;
  struct StoreCall;
  class Server;
  friend class Server;

  void build(std::span<const world::ZoneId> zones);
  /// The items of a running server, or nullptr while it is down.
  LruStore* store_of(world::NodeId server) const;
  /// A server of `group` booted again after a crash: the group turns write-only.
  void server_restarted(int group);
  /// Rebuilds `group`'s ring from the servers `in_ring` names (empty: no ring).
  void set_ring(Group& g, std::vector<int> in_ring);
  /// Discovery's timers: a server's heartbeats (on its node, so they die with it), the
  /// registry's eviction task, and the clients' registry fetch.
  void heartbeat(world::Node& node, std::size_t server, Duration after);
  void evict_loop();
  void fetch_loop();
  /// A timer's first firing, uniform in (0, every]: a running cluster's timers at spread
  /// phases, from the discovery stream.
  Duration discovery_phase(Duration every);
  /// Once a second while `group` is write-only: ends the window when the time is up or, with
  /// until_fill, when the group is warm enough; else checks again.
  void check_warmup(int group);
  int home_group(int zone) const;
  void attempt(const std::shared_ptr<Read>& r, int group);
  void after_cache(const std::shared_ptr<Read>& r, bool hit, bool error);
  int next_group(const Read& r) const;
  void to_store(const std::shared_ptr<Read>& r);
  void store_admit(const std::shared_ptr<StoreCall>& c);
  void store_serve(const std::shared_ptr<StoreCall>& c);
  void finish(const std::shared_ptr<Read>& r, Served served);
  /// An application set: to every group (send_sets) and to the set listener.
  void set_all(world::Node& from, std::uint64_t key);
  void send_sets(world::Node& from, std::uint64_t key);
  void next_op();
  world::Node& client(int zone);

  Simulation& sim_;
  EvcacheParams params_;
  std::string stem_ = "evcache";
  std::unique_ptr<world::World> own_world_;  // standalone only
  world::World* world_;
  std::vector<world::NodeId> clients_;  // standalone: per zone
  Rng work_rng_, store_rng_;
  Zipf zipf_;
  std::vector<Group> groups_;
  std::optional<Registry> registry_;  // with discovery only; index: group * servers_per_zone + i
  std::optional<Rng> discovery_rng_;   // the timers' phases
  SetListener set_listener_;
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
