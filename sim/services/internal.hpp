// Private to sim/services: the wire messages between callers and tier instances, the metric
// handles of an edge and of a tier, the shared state of a ServiceGraph, and the factories of
// its two programs (a tier instance, a client process). Not installed.
#pragma once

#include <faultline/sim/services/service_graph.hpp>

#include <faultline/resilience/outcome.hpp>
#include <faultline/sim/services/leaf_profile.hpp>
#include <faultline/world/world.hpp>

#include <fmt/format.h>

#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace faultline::sim::services {

using resilience::Outcome;
using world::Message;
using world::Node;
using world::NodeId;
using world::Payload;

class Caller;

// --- wire messages ------------------------------------------------------------------------
struct SvcRequest {
  std::uint64_t id = 0;
  /// Tied requests: the other server holding a copy, told to drop it when this one starts.
  NodeId tie_peer;
};
struct SvcReply {
  Outcome outcome = Outcome::ok;
};
struct SvcCancel {
  NodeId caller;
  std::uint64_t id = 0;
};
constexpr std::uint64_t kCancelBytes = 64;

struct CallerMetrics {
  Counter* requests;
  Counter* successes;
  Counter* failures;
  Counter* attempts;
  Counter* retries;
  Counter* rejected_local;
  Counter* timeouts;
  Counter* hedges_sent;
  Counter* hedges_won;
  Counter* hedges_cancelled;
  Histogram* latency;

  CallerMetrics(Metrics& m, const ClientMetricNames& n)
      : requests(&m.counter(n.requests)), successes(&m.counter(n.successes)),
        failures(&m.counter(n.failures)), attempts(&m.counter(n.attempts)),
        retries(&m.counter(n.retries)), rejected_local(&m.counter(n.rejected_local)),
        timeouts(&m.counter(n.timeouts)), hedges_sent(&m.counter(n.hedges_sent)),
        hedges_won(&m.counter(n.hedges_won)), hedges_cancelled(&m.counter(n.hedges_cancelled)),
        latency(&m.histogram(n.latency)) {}
};

struct TierMetrics {
  Counter* arrivals;
  Counter* served;
  Counter* shed;
  Counter* cancelled;
  Histogram* queue_wait;
  Counter* successes;
  Counter* failures;
  Histogram* latency;

  TierMetrics(Metrics& m, const TierMetricNames& n)
      : arrivals(&m.counter(n.arrivals)), served(&m.counter(n.served)), shed(&m.counter(n.shed)),
        cancelled(&m.counter(n.cancelled)), queue_wait(&m.histogram(n.queue_wait)),
        successes(&m.counter(n.successes)), failures(&m.counter(n.failures)),
        latency(&m.histogram(n.latency)) {}
};

// --- the graph's shared state ----------------------------------------------------------------

struct TierInfo {
  const TierParams* params = nullptr;
  std::vector<NodeId> nodes;
  std::vector<world::HostId> hosts;
  std::unique_ptr<TierMetrics> metrics;
  /// Built once when the service time is the Table 1 profile (tail-at-scale).
  std::optional<TailAtScaleProfile> profile;
  std::size_t index = 0;
  /// ServiceGraph::set_tier_hook's step after the dependency calls; null: none.
  const TierHook* hook = nullptr;
  /// Some caller of this tier hedges, so its instances may be told to drop a queued copy
  /// (SvcCancel) and must be able to find it by (caller, id); otherwise they keep no index.
  bool receives_cancels = false;
};

struct ClientInfo {
  const ClientParams* params = nullptr;
  std::vector<NodeId> nodes;
  std::unique_ptr<CallerMetrics> metrics;
};

struct ServiceGraph::Impl {
  world::World* world = nullptr;
  Simulation* sim = nullptr;
  std::vector<TierInfo> tiers;
  std::vector<ClientInfo> clients;
  /// Metrics of tier → dependency edges, keyed "<tier>-><dependency>".
  std::map<std::string, std::unique_ptr<CallerMetrics>, std::less<>> edges;
  /// Callers from outside the graph (add_external_caller); defined in caller.hpp.
  struct External;
  std::vector<std::unique_ptr<External>> externals;
  /// External caller `caller`'s policy state in `node`'s current incarnation (made on first
  /// use); defined in client.cpp.
  Caller& external_caller(std::size_t caller, Node& node);

  TierInfo& tier(std::string_view name) {
    for (auto& t : tiers) {
      if (t.params->name == name) {
        return t;
      }
    }
    throw std::invalid_argument(fmt::format("services: no tier named \"{}\"", name));
  }
};

inline std::string incarnation_name(std::string_view base, std::uint64_t incarnation) {
  return fmt::format("{}/{}", base, incarnation);
}

// --- the programs (instance.cpp, client.cpp) ----------------------------------------------------

std::unique_ptr<world::Program> make_instance_program(ServiceGraph::Impl& g, TierInfo& tier,
                                                      Node& node);
/// Requests queued at a tier instance's program (0 for any other program).
std::size_t instance_queue_length(const world::Program* program);

std::unique_ptr<world::Program> make_client_program(ServiceGraph::Impl& g, ClientInfo& client,
                                                    Node& node);
/// Whether a client process's breaker is not closed (false for any other program).
bool client_breaker_open(world::Program* program);

}  // namespace faultline::sim::services
