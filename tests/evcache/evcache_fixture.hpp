// What the EVCache client tests share: a three-zone cluster without warm-up, and a read that
// runs the simulation until it finishes.
#pragma once

#include <faultline/sim/evcache/cluster.hpp>

#include <catch2/catch.hpp>

namespace faultline::sim::evcache::test {

/// Three zones, every zone readable from the start (no write-only warm-up).
inline EvcacheParams three_zones() {
  EvcacheParams p;
  p.zones = 3;
  p.warmup.write_only = false;
  return p;
}

/// Reads `key` from a client in `zone` and runs until the read finishes.
inline ReadResult read_now(Simulation& sim, EvcacheCluster& c, int zone, std::uint64_t key) {
  ReadResult got;
  bool done = false;
  c.read(zone, key, [&](const ReadResult& r) {
    got = r;
    done = true;
  });
  sim.run_for(Duration::seconds(2));
  REQUIRE(done);
  return got;
}

}  // namespace faultline::sim::evcache::test
