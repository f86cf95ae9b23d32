// Parameters of the Dynamo model (DeCandia et al., "Dynamo: Amazon's Highly Available
// Key-value Store", SOSP 2007; figures in /work/shared/reference/model-facts.md §3.2).
//
// Plain aggregates with defaults, filled field by field by the scenario binding
// (src/scenario/bindings/dynamo.cpp) or by C++ code, checked by validate(), which throws
// std::invalid_argument naming the field ("clients[0].rate_per_s: ...") and the fix.
#pragma once

#include <faultline/sim/dynamo/ring.hpp>
#include <faultline/sim/dynamo/versions.hpp>
#include <faultline/time.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::sim::dynamo {

/// Who runs a request's state machine (paper §6.4, Table 2).
enum class Coordination : std::uint8_t {
  kServer,  // a load balancer picks a random node; it forwards to the key's top-N if needed
  kClient,  // the client library coordinates: it contacts the preference list itself
};
std::string_view to_string(Coordination c);
std::optional<Coordination> parse_coordination(std::string_view text);

/// The local storage engine of a node (the paper's Berkeley DB / MySQL back ends, §5). Its
/// calls are synchronous: a call holds one of the node's worker threads (CpuCosts::cores)
/// for its whole service time, disk waits included, so reads, durable writes, write-buffer
/// flushes and coordination contend for the same threads. Service times are lognormal around
/// a median, so a few calls are much slower. Figures are assumptions calibrated to the
/// paper's Table 2 (docs/stories/dynamo.md).
struct StorageParams {
  Duration read_median = Duration::micros(300);
  Duration write_median = Duration::micros(2000);
  /// Disk operations in service at once (the node's disks).
  int disks = 1;
  /// Lognormal sigmas (of the natural log); 0 makes every call take the median.
  double read_sigma = 1.3;
  double write_sigma = 1.0;
  /// CPU time of a write into the in-memory write buffer (when enabled).
  Duration buffer_write = Duration::micros(50);
  /// A flush of the write buffer is one disk operation: one write draw (the log force)
  /// plus this much per object (a sequential append instead of a random write).
  Duration flush_per_object = Duration::micros(50);
  /// The writer thread also flushes as soon as the buffer holds this many objects (the
  /// paper's buffer held "a thousand objects", §6.1).
  int buffer_objects = 1000;
};

/// What a node (or a client library) spends on a request, run on its host's CPU (world::Cpu:
/// FIFO run queue), so coordination queues behind storage calls and other requests on a busy
/// node. The host's cores stand for the node's worker threads. Assumptions, calibrated in
/// docs/stories/dynamo.md.
struct CpuCosts {
  /// Worker threads of each storage node (its host gets as many cores: a worker holds one for
  /// a whole step, disk waits included); clients and load balancers keep the world's default
  /// host.
  int workers = 8;
  /// A replica read or write request: decode, call the storage engine, encode the reply.
  Duration replica = Duration::micros(100);
  /// A coordinator starting a request: the state machine, the vector clock, N messages.
  Duration coordinate = Duration::micros(200);
  /// A coordinator finishing a request: reconcile the replies, encode the client's reply.
  Duration reconcile = Duration::micros(200);
  /// A node that relays a request it does not coordinate, on the way in and again out.
  Duration forward = Duration::micros(100);
  /// The load balancer, per request on the way in and again out.
  Duration load_balancer = Duration::micros(50);
};

/// A client population: `processes` client hosts in `zone`, issuing shopping-cart operations
/// (read the cart, merge its siblings, add or remove one item, write it back) with Poisson
/// arrivals.
struct ClientParams {
  std::string name = "cart";
  /// Zone of the client hosts (empty: the first zone).
  std::string zone;
  int processes = 1;
  /// Cart operations per second across the population (0: no workload; tests drive clients).
  double rate_per_s = 0.0;
  Coordination coordination = Coordination::kClient;
  /// Carts are keys "<cart_prefix>-<i>" for i in [0, carts), chosen uniformly.
  std::int64_t carts = 10;
  std::string cart_prefix = "cart";
  /// Share of operations that remove an item this process added earlier (else they add).
  double remove_fraction = 0.0;
  Duration start = Duration::zero();
  Duration stop = Duration::max();
  /// One attempt (a get or a put) times out after this; another coordinator is then tried.
  Duration attempt_timeout = Duration::millis(500);
  int attempts = 3;
  /// Client-driven coordination refreshes its membership view from a random node this often
  /// (paper §6.4: every 10 s).
  Duration membership_poll = Duration::seconds(10);
  std::int64_t request_bytes = 512;
};

struct DynamoParams {
  /// Storage nodes, spread round-robin over `zones` (one host each).
  int nodes = 8;
  std::vector<std::string> zones{"zone-a"};
  RingParams ring;
  /// Replicas per key and read/write quorums (paper: typical (3, 2, 2)).
  int n = 3;
  int r = 2;
  int w = 2;
  Reconcile reconcile = Reconcile::kUnion;
  /// Vector clock truncation threshold (paper: "say 10"); 0 = never truncate.
  int clock_max_entries = 10;
  /// A coordinator gives up on one replica after this and (sloppy quorum) tries the next node.
  Duration replica_timeout = Duration::millis(100);
  /// Sloppy quorum: use the first N healthy nodes of the walk, with hints for skipped owners.
  /// Off: strict quorum over the top N only.
  bool sloppy_quorum = true;
  /// Hinted replicas are offered back to their owner this often (0: never delivered).
  Duration hint_scan_interval = Duration::seconds(1);
  /// Hinted handoff is a background task: a node has at most this many deliveries in flight
  /// (an assumption standing in for the paper's admission control of background tasks, §6.5).
  int handoff_in_flight = 4;
  bool read_repair = true;
  /// Merkle anti-entropy with one other replica per key range this often (0: off).
  Duration anti_entropy_interval = Duration::seconds(10);
  int merkle_depth = 4;
  /// Gossip: every interval each node exchanges membership with one random peer (and a seed).
  Duration gossip_interval = Duration::seconds(1);
  int seeds = 2;
  /// A peer whose heartbeat has not advanced for this long is treated as down.
  Duration failure_timeout = Duration::seconds(5);
  /// Local failure detection (paper §4.8.3): a node that did not answer one request is
  /// avoided for this long, then tried again (an assumption; the paper says "periodically").
  Duration suspect_for = Duration::seconds(1);
  /// In-memory write buffer (paper §6.1): writes go to memory and a writer flushes them; one
  /// replica per write (the first) still writes durably. Buffered writes die with a crash.
  bool write_buffer = false;
  Duration flush_interval = Duration::seconds(1);
  StorageParams storage;
  CpuCosts cpu;
  /// Server-driven clients reach the nodes through this many load-balancer hosts in their own
  /// zone, which pick a random node (paper §6.4); 0: the client picks the node itself.
  int load_balancers = 1;
  /// Per-node load is measured over windows of this length (probes report the last one).
  Duration load_window = Duration::seconds(5);
  std::vector<ClientParams> clients;

  void validate() const;
};

}  // namespace faultline::sim::dynamo
