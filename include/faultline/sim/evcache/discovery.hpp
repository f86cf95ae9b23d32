// Discovery of EVCache servers through Eureka, as the EVCache client uses it (EVCache's README:
// "Registers and works with Eureka for automatic discovery of new nodes"; Eureka's wiki names
// "memcached caching services" finding "the list of nodes in the ring" as one of its uses).
//
// Eureka's contract (its wiki, "Understanding eureka client server communication"): an
// instance registers with its first heartbeat and renews its lease every 30 s; the server
// removes an instance it has not heard from for 90 s; clients fetch the registry every 30 s
// and work from their cached copy in between. Eureka's code keeps that contract only by half:
// a renewal stamps the lease one duration ahead and the expiry check adds it again, so a
// server that dies without cancelling is removed 180 s after its last heartbeat (the comment
// on Lease.isExpired; Netflix/eureka#531). So a server that dies stays in every client's ring
// for minutes, and its keys cost each read the client's timeout until then.
//
// The registry here is the server's side of that contract: who is registered and when each
// last renewed. The cluster (cluster.cpp) runs the timers: a server's heartbeats, the
// eviction task and the clients' fetches.
#pragma once

#include <faultline/time.hpp>

#include <cstddef>
#include <optional>
#include <vector>

namespace faultline::sim::evcache {

class Registry {
public:
  /// `servers` instances, every one registered and renewed at `now` (a cluster that was
  /// running before the simulation starts).
  Registry(std::size_t servers, Time now);

  /// A heartbeat from `server`: registers it if it is not, and renews its lease.
  void renew(std::size_t server, Time now);
  /// The eviction task: removes every instance whose last renewal is more than `silent_for`
  /// before `now` (DiscoveryParams::expires_after()). Returns the instances it removed,
  /// ascending.
  std::vector<std::size_t> evict(Time now, Duration silent_for);
  bool registered(std::size_t server) const { return last_renewal_[server].has_value(); }

private:
  std::vector<std::optional<Time>> last_renewal_;  // nullopt: not registered
};

}  // namespace faultline::sim::evcache
