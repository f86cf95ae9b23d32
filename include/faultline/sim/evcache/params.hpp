// Parameters of the EVCache model (sim/evcache): memcached-like servers in one server group per
// zone, Ketama-style sharding inside a zone, the EVCache client (write to every zone, read the
// local zone first, fall back to another zone), "write only" warm-up of a restarted zone, and
// a backing store with a heavy tail behind the cache.
//
// Semantics and sources: model-facts.md §4.4 (EVCache's introduction, features and wiki pages).
// Every number below that is not from there is marked as an assumption.
#pragma once

#include <faultline/time.hpp>
#include <faultline/world/params.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace faultline::sim::evcache {

/// memcached servers of one zone's server group.
struct ServerParams {
  /// Servers per zone; keys are sharded over them by the Ketama ring.
  int servers_per_zone = 4;
  /// Memory for items per server; LRU eviction beyond it (§4.4: memcached uses 90 % of RAM;
  /// the default is small so a run stays fast, and the key space is scaled to match).
  std::int64_t memory_bytes = 8 * 1024 * 1024;
  /// Bytes an item costs beyond its value (assumption: memcached's item header, key and CAS).
  std::int64_t item_overhead_bytes = 80;
  /// Ring points per server (Ketama and spymemcached use 160).
  int ring_points = 160;
  /// Time a server spends on one get or set (assumption: tens of µs for memcached).
  Duration service_time = Duration::micros(20);
  void validate() const;
};

/// The application that reads through the EVCache client.
struct ClientParams {
  /// Cache operations per second over all clients (Poisson), spread evenly over the zones.
  double ops_per_s = 2000.0;
  /// Fraction of operations that are application writes (set in every zone); §4.4: read-heavy.
  double write_ratio = 0.05;
  /// Key space and Zipf popularity (assumption: s = 1 gives ~90 % hits with the defaults).
  int keys = 100000;
  double zipf_s = 1.0;
  /// Value size; §4.4 quotes latencies for 1 KB values.
  std::int64_t value_bytes = 1024;
  /// Item TTL (§4.4: "a few minutes to a few hours").
  Duration ttl = Duration::minutes(30);
  /// How long a read waits for a cache server before it counts as an error (assumption).
  Duration read_timeout = Duration::millis(20);
  /// Zone fallback (§4.4): after a miss, and after an error or timeout, read another zone.
  bool fallback_on_miss = true;
  bool fallback_on_error = true;
  /// After a miss everywhere, read the store and set the value in every zone (write-all).
  bool fill_on_miss = true;
  void validate() const;
};

/// The source of truth behind the cache: a pool of workers with a bounded queue.
struct StoreParams {
  /// Requests served at once; more wait in the queue (assumption).
  int concurrency = 16;
  /// Requests beyond concurrency + queue_limit are rejected at once (assumption).
  int queue_limit = 256;
  /// Service time; §4.4: backends "can take several hundred milliseconds at the 99th
  /// percentile". Default 1 ms + lognormal(mean 24 ms, sigma 2): median ~4 ms, p99 ~340 ms.
  world::LatencyParams latency{Duration::millis(1), world::JitterKind::kLognormal,
                               Duration::millis(24), 2.0};
  /// The client gives up on the store after this long (assumption).
  Duration timeout = Duration::seconds(1);
  void validate() const;
};

/// "Write only" mode (§4.4: "a new zone can be put in write only mode until its cache fills,
/// with its reads sent to other zones").
struct WarmupParams {
  /// A zone that comes back from an outage (empty) stays write-only for `duration`, or less
  /// with `until_fill`.
  bool write_only = true;
  Duration duration = Duration::seconds(60);
  /// 0: the window lasts `duration` (an operator's timer). Above 0: the window ends as soon as
  /// the zone holds this fraction of the items its warm peers hold on average (checked every
  /// second), "until its cache fills"; `duration` is then the longest it may last. Without a
  /// warm peer to compare with, it lasts `duration`.
  double until_fill = 0.0;
  void validate() const;
};

/// How clients learn which servers are alive: from Eureka (its wiki: heartbeats every 30 s, an
/// instance removed 90 s after its last one, clients fetching the registry every 30 s), or
/// not at all (disabled: a client knows only its timeouts, and every server stays in its ring).
struct DiscoveryParams {
  bool enabled = false;
  /// A server's heartbeat interval; a restarted server registers with its first heartbeat.
  Duration renew_every = Duration::seconds(30);
  /// The registry removes a server that has not renewed for this long (Eureka: 90 s), or for
  /// twice this long (below).
  Duration lease = Duration::seconds(90);
  /// When a silent server expires. Eureka's code renews a lease by stamping it one lease
  /// ahead, and its expiry check adds the lease again, so a server that dies without
  /// cancelling expires two leases after its last heartbeat (the comment on Lease.isExpired;
  /// Netflix/eureka#531, not to be fixed). kOneLease is the contract as the wiki states it.
  enum class Expiry { kTwoLeases, kOneLease };
  Expiry expiry = Expiry::kTwoLeases;
  /// How long after its last heartbeat a silent server expires.
  Duration expires_after() const { return expiry == Expiry::kTwoLeases ? lease * 2 : lease; }
  /// How often the registry's eviction task looks for expired leases (Eureka server's
  /// default: every 60 s).
  Duration evict_every = Duration::seconds(60);
  /// How often the clients fetch the registry and rebuild their rings (Eureka: 30 s).
  Duration fetch_every = Duration::seconds(30);
  void validate() const;
};

struct EvcacheParams {
  /// Zones with clients (§4.2: Netflix ran three).
  int zones = 3;
  /// True: a server group in every zone (EVCache). False: one server group, in zone 0, read by
  /// every zone (a cache that is not replicated across zones).
  bool replicated = true;
  ServerParams server;
  ClientParams client;
  StoreParams store;
  WarmupParams warmup;
  DiscoveryParams discovery;
  /// Link classes of a standalone cluster's world (in-zone and cross-zone one-way latencies,
  /// §4.4); an embedded cluster uses its world's.
  world::NetworkParams network;
  /// Throws std::invalid_argument naming the field ("client.keys: ...") and the fix.
  void validate() const;
};

/// "a", "b", "c", ...
std::string zone_name(int zone);
std::optional<int> parse_zone(std::string_view name, int zones);

}  // namespace faultline::sim::evcache
