#include <faultline/sim/ringpop/checker.hpp>
#include <faultline/sim/ringpop/ring.hpp>

#include <algorithm>
#include <map>

namespace faultline::sim::ringpop {

namespace {
constexpr std::size_t kMaxListed = 5;

void violation(MembershipVerdict& v, std::size_t& count, std::string what) {
  v.ok = false;
  ++count;
  if (v.violations.size() < kMaxListed) {
    v.violations.push_back(std::move(what));
  }
}
}  // namespace

MembershipVerdict check_membership(const MembershipHistory& h) {
  MembershipVerdict v;
  std::size_t self_bad = 0;
  std::size_t live_bad = 0;
  std::size_t ring_bad = 0;

  for (const Declaration& d : h.declarations) {
    if (d.by == d.about && (d.status == Status::kSuspect || d.status == Status::kFaulty)) {
      violation(v, self_bad,
                "member " + std::to_string(d.by) + " declared itself " +
                    std::string(to_string(d.status)) + " at " + std::to_string(d.at.ns()) + " ns");
    }
  }

  std::vector<bool> up(h.final_views.size(), false);
  for (const ViewSnapshot& s : h.final_views) {
    if (s.member < up.size()) {
      up[s.member] = s.up;
    }
  }
  const ViewSnapshot* first = nullptr;
  for (const ViewSnapshot& s : h.final_views) {
    if (!s.up) {
      continue;
    }
    if (first == nullptr) {
      first = &s;
    } else if (s.checksum != first->checksum) {
      violation(v, live_bad,
                "members " + std::to_string(first->member) + " and " + std::to_string(s.member) +
                    " disagree (membership checksums differ)");
    }
    for (std::size_t o = 0; o < s.entries.size() && o < up.size(); ++o) {
      if (pingable(s.entries[o].status) != up[o]) {
        violation(v, live_bad,
                  "member " + std::to_string(s.member) + " holds " + std::to_string(o) + " " +
                      std::string(to_string(s.entries[o].status)) + " but it is " +
                      (up[o] ? "up" : "down"));
      }
    }
  }

  // One fresh ring per distinct server set. Samples of one member share their list, so the
  // list is looked up by content once per list, not once per sample.
  std::map<std::vector<MemberId>, HashRing> rings;
  const std::vector<MemberId>* last_list = nullptr;
  const HashRing* last_ring = nullptr;
  for (const OwnershipSample& o : h.ownership) {
    static const std::vector<MemberId> kNone;
    const std::vector<MemberId>& servers = o.servers ? *o.servers : kNone;
    if (&servers != last_list) {
      auto it = rings.find(servers);
      if (it == rings.end()) {
        it = rings.emplace(servers, HashRing(servers, h.replica_points)).first;
      }
      last_list = &servers;
      last_ring = &it->second;
    }
    const MemberId want = last_ring->lookup(o.key_hash);
    if (want != o.owner) {
      violation(v, ring_bad,
                "member " + std::to_string(o.member) + " routes key hash " +
                    std::to_string(o.key_hash) + " to " + std::to_string(o.owner) +
                    ", but its membership gives " + std::to_string(want));
    }
  }

  v.summary = v.ok ? "membership ok: no self-declarations, live members agree, rings follow "
                     "membership"
                   : std::to_string(self_bad) + " self-declarations, " +
                         std::to_string(live_bad) + " disagreements, " +
                         std::to_string(ring_bad) + " ring owners not given by membership";
  return v;
}

MembershipHistory record_history(RingpopCluster& cluster, std::size_t keys) {
  MembershipHistory h;
  h.declarations = cluster.shared().declarations();
  h.final_views = cluster.snapshot();
  h.ownership = cluster.sample_ownership(keys);
  h.replica_points = cluster.params().ring.replica_points;
  return h;
}

}  // namespace faultline::sim::ringpop
