// Shared state of one EdgeStack and the messages between its nodes. Private to sim/zuul.
#pragma once

#include <faultline/metrics.hpp>
#include <faultline/sim/evcache/cluster.hpp>
#include <faultline/sim/services/service_graph.hpp>
#include <faultline/sim/zuul/stack.hpp>
#include <faultline/world/world.hpp>

#include <cstdint>
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
struct EdgeReply {
  EdgeStatus status = EdgeStatus::kOk;
};

inline constexpr std::uint64_t kRequestBytes = 512;   // assumption: an API call
inline constexpr std::uint64_t kReplyBytes = 2048;    // assumption: a small JSON document

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

struct EdgeStack::State {
  Simulation* sim = nullptr;
  StackParams p;
  std::unique_ptr<world::World> world;
  std::unique_ptr<evcache::EvcacheCluster> cache;
  /// The API origins and microservices: tiers of an embedded service graph (sim/services).
  std::unique_ptr<services::ServiceGraph> graph;
  std::vector<world::NodeId> zuul_ids;
  std::vector<std::vector<world::NodeId>> tier_ids;  // per tier, its instances
  std::vector<std::size_t> origin_callers;           // per tier: the graph's caller for Zuul
  std::vector<int> instance_zone;                      // per NodeId: zone index 0..2
  std::vector<Route> routes;                           // per family
  // Zuul's memory accounting, per instance (zeroed when an instance dies).
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

/// Program factories (zuul.cpp, devices.cpp).
world::ProgramFactory zuul_factory(EdgeStack::State& s, int index);
world::ProgramFactory device_factory(EdgeStack::State& s, int family);

/// The service graph's parameters for the stack's tiers (tier_graph.cpp).
services::ServiceGraphParams graph_params(const StackParams& p);
/// A tier's hook that makes `reads` reads through the EVCache client (cache_reads.cpp).
services::TierHook cache_read_hook(EdgeStack::State& s, int reads);

}  // namespace faultline::sim::zuul
