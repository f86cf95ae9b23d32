// The membership checker: what a correct SWIM/ringpop group guarantees, checked on a recorded
// history. Three properties:
//  - self: no member ever declares itself suspect or faulty;
//  - liveness (after faults stop and enough time passes): every live member holds the same
//    membership (equal checksums), in which every live member is reachable (alive or suspect)
//    and every dead member is not;
//  - ring: each sampled ring owner is the owner a fresh ring over that member's pingable
//    members gives (ownership is a function of membership).
#pragma once

#include <faultline/sim/ringpop/cluster.hpp>

#include <string>
#include <vector>

namespace faultline::sim::ringpop {

struct MembershipHistory {
  std::vector<Declaration> declarations;
  std::vector<ViewSnapshot> final_views;
  std::vector<OwnershipSample> ownership;
  std::uint32_t replica_points = 100;
};

struct MembershipVerdict {
  bool ok = true;
  std::string summary;
  std::vector<std::string> violations;  // at most a few, for the report
};

MembershipVerdict check_membership(const MembershipHistory& history);

/// Records the history of a cluster now (declarations so far, current views, rings sampled at
/// `keys` keys).
MembershipHistory record_history(RingpopCluster& cluster, std::size_t keys = 64);

}  // namespace faultline::sim::ringpop
