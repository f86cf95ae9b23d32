// Shared state of one EdgeStack and the messages between its nodes. Private to sim/zuul.
#pragma once

#include <faultline/metrics.hpp>
#include <faultline/sim/elb/service.hpp>
#include <faultline/sim/evcache/cluster.hpp>
#include <faultline/sim/regions/dns.hpp>
#include <faultline/sim/services/service_graph.hpp>
#include <faultline/sim/zuul/stack.hpp>
#include <faultline/world/world.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace faultline::sim::zuul {

/// What Zuul answers a device: ok, shed (503), throttled (429) or failed (the origin failed, 502
/// or 504).
enum class EdgeStatus : std::uint8_t { kOk, kShed, kThrottled, kFailed };

struct DeviceRequest {
  int family = 0;
};
/// A health checker's request to a Zuul instance (its health endpoint: answered at once, no
/// filters, no origin).
struct HealthProbe {};
struct EdgeReply {
  EdgeStatus status = EdgeStatus::kOk;
};

inline constexpr std::uint64_t kRequestBytes = 512;   // assumption: an API call
inline constexpr std::uint64_t kReplyBytes = 2048;    // assumption: a small JSON document
inline constexpr std::uint64_t kProbeBytes = 64;      // assumption: a health check and its answer

struct Scope {
  Counter* requests = nullptr;
  Counter* successes = nullptr;
  Counter* failures = nullptr;
  Counter* attempts = nullptr;
  Histogram* latency = nullptr;
};
Scope make_scope(Metrics& m, std::string_view scope);

/// The current route of a family (indices into StackParams::tiers; -1: none).
struct Route {
  int origin = -1;
  int failover = -1;
};

/// "<stem>" in the first region, "<stem>@<region>" in another (region_stem).
std::string region_stem(std::string_view stem, const RegionParams& region, int index);

/// One region's stack: Zuul, the tiers (a service graph) and EVCache, in its three zones.
struct RegionStack {
  RegionParams params;
  std::vector<world::ZoneId> zones;
  std::unique_ptr<evcache::EvcacheCluster> cache;
  /// The API origins and microservices: tiers of an embedded service graph (sim/services),
  /// named "<tier>" in the first region and "<tier>@<region>" in another.
  std::unique_ptr<services::ServiceGraph> graph;
  std::vector<world::NodeId> zuul_ids;
  std::vector<std::vector<world::NodeId>> tier_ids;  // per tier, its instances
  std::vector<std::size_t> origin_callers;           // per tier: the graph's caller for Zuul
};

/// DNS steering over the regions (dns_steering.cpp): per family a weighted record and its
/// resolvers; per region the edge's health check. Only built with two regions or more.
struct Steering {
  std::vector<regions::DnsRecord> records;      // per family
  std::vector<regions::ResolverPool> resolvers;  // per family
  /// Per health domain, per region: one domain (the region's edge) or, with ELBs, one per
  /// family (its own ELB's name has its own health check, as Route 53 checks each name).
  std::vector<std::vector<regions::HealthCheck>> health;
  /// Per family: bumped by every move of its record, so a gradual failback's pending steps
  /// see that a failover (or a drill's step) came after them and stop.
  std::vector<std::uint64_t> moves;
};

/// EVCache's cross-region replication (cache_replication.cpp): per region its relay node and
/// counters. Only built when multi_region.cache_replication is enabled.
struct Replication {
  std::vector<world::NodeId> relays;  // per region
  std::vector<Counter*> sent;         // per region: sets its relay sent to other regions
  std::vector<Counter*> applied;      // per region: replicated sets applied to its cluster
};

/// Each family's own ELB in every region (elb_edge.cpp): per region an ElbService whose ELB f is
/// family f's, and what each LB node knows of its Zuul backends. Only built with elb.enabled.
struct ElbEdge {
  std::vector<std::unique_ptr<elb::ElbService>> services;  // per region
  struct Backends {
    std::size_t cursor = 0;
    std::vector<Time> ejected_until;  // per Zuul instance of the region
  };
  std::vector<Backends> backends;  // per NodeId of an LB node
};

struct EdgeStack::State {
  Simulation* sim = nullptr;
  StackParams p;
  std::unique_ptr<world::World> world;
  std::vector<RegionStack> regions;
  std::unique_ptr<Steering> steering;               // null with one region
  std::unique_ptr<Replication> replication;         // null unless enabled
  std::unique_ptr<ElbEdge> elb;                     // null unless elb.enabled
  std::vector<int> instance_zone;                   // per NodeId: zone index 0..2
  std::vector<Route> routes;                        // per family
  std::vector<int> home;                            // per family: its home region
  // Zuul's memory accounting, per instance over all regions (region r's instance i is
  // r * zuul.instances + i; zeroed when an instance dies).
  std::vector<int> open, busy_threads;
  std::int64_t memory_now = 0, memory_peak = 0;
  Scope devices;
  std::vector<Scope> families;
  Counter *shed = nullptr, *throttled = nullptr, *retries = nullptr, *retries_denied = nullptr,
          *failovers = nullptr, *origin_errors = nullptr;

  int tier_index(std::string_view name) const;
  int family_index(std::string_view name) const;
  /// Zuul instance `i` now has `open` requests open and `threads` busy threads.
  void set_zuul_load(int i, int open_requests, int threads);
};

/// Program factories (zuul.cpp, devices.cpp). A Zuul instance belongs to `region`.
world::ProgramFactory zuul_factory(EdgeStack::State& s, int region, int index);
world::ProgramFactory device_factory(EdgeStack::State& s, int family);

/// The service graph's parameters for one region's tiers (tier_graph.cpp).
services::ServiceGraphParams graph_params(const StackParams& p, int region);
/// A tier's hook that makes `reads` reads through the region's EVCache client
/// (cache_reads.cpp).
services::TierHook cache_read_hook(EdgeStack::State& s, int region, int reads);

/// Adds a node on its own host: zone, zone index (0..2), cores, node name, group, program.
using AddNode = std::function<world::NodeId(world::ZoneId, int, int, const std::string&,
                                            const std::string&, world::ProgramFactory)>;
/// Cross-region replication (cache_replication.cpp): each region's relay node ("evcache-relay"
/// in the first region, "evcache-relay@<region>" in another; also its group), and every
/// cluster's sets handed to its region's relay.
std::string relay_stem(const RegionParams& region, int index);
void start_cache_replication(EdgeStack::State& s, const AddNode& add);

/// The families' ELBs (elb_edge.cpp): per region a control plane ("elb-control-plane", group
/// "elb/control-plane"; "@<region>" on both in another region), its state store
/// ("elb-state-store") and per family an ELB "api-<family>" ("api-<family>@<region>") whose LB
/// nodes forward to the region's Zuul instances; and the state loss's timeline.
std::string elb_name(const EdgeStack::State& s, int region, int family);
void start_elbs(EdgeStack::State& s);
/// Where a device of `family` sends its attempts into `region`: the family's LB nodes there, or
/// without ELBs the region's Zuul instances.
const std::vector<world::NodeId>& edge_targets(const EdgeStack::State& s, int region, int family);

/// DNS steering (dns_steering.cpp): builds the records, resolvers and health checks, and
/// schedules the health-check intervals and Chaos Kong's steps; with failback, adds the health
/// checker node ("health-checker", in the internet zone `internet`) that probes every region.
void start_steering(EdgeStack::State& s, const AddNode& add, world::ZoneId internet);
/// The region a device of `family` sends its next request to.
int resolve_region(EdgeStack::State& s, int family);
/// A device attempt of `family` into `region` was sent, and whether it failed (the edge's health
/// check: the region's, or with ELBs the family's ELB's there).
void edge_outcome(EdgeStack::State& s, int region, int family, bool failed);

}  // namespace faultline::sim::zuul
