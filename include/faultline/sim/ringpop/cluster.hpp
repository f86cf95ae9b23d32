// A ringpop cluster on the world layer: one SwimMember per host, hosts spread round-robin over
// zones of one region, and the bookkeeping that measures the protocol from outside (detection
// and dissemination times, false positives, message load, convergence). The measuring side
// never feeds anything back into a member: each member's membership is its own.
#pragma once

#include <faultline/sim/ringpop/membership.hpp>
#include <faultline/sim/ringpop/params.hpp>
#include <faultline/sim/ringpop/ring.hpp>
#include <faultline/world/world.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace faultline::sim::ringpop {

class SwimMember;

/// One crash of a member and how the group found out.
struct DetectionRecord {
  MemberId member = kNoMember;
  Time crashed_at{};
  std::optional<Time> first_probe;    // any member's first probe of it after the crash
  std::optional<Time> first_suspect;  // any member's first suspicion (SWIM's "first detection")
  std::optional<Time> first_faulty;   // any member's first faulty declaration
  std::optional<Time> all_faulty;     // every live member holds it faulty (dissemination done)
};

/// A member's view at one instant, for the membership checker.
struct ViewSnapshot {
  MemberId member = kNoMember;
  bool up = false;
  std::uint64_t checksum = 0;
  std::vector<Entry> entries;
};

/// What one member's ring said about one key, and the view it was built from.
struct OwnershipSample {
  MemberId member = kNoMember;
  std::uint64_t key_hash = 0;
  MemberId owner = kNoMember;
  std::uint64_t ring_checksum = 0;
  /// The pingable members of that member's view, shared by all of the member's samples (and
  /// by members whose server sets are equal): one copy per member per key would be
  /// members x keys x members entries, 25 GB at 10,000 members and 64 keys.
  std::shared_ptr<const std::vector<MemberId>> servers;
};

/// A member's statement about itself or another member, as the checker sees it.
struct Declaration {
  Time at{};
  MemberId by = kNoMember;
  MemberId about = kNoMember;
  Status status = Status::kUnknown;
  std::uint32_t incarnation = 0;
};

/// State shared by the members of one cluster and the cluster's measuring side.
class ClusterShared {
public:
  ClusterShared(ClusterParams params, world::World& world);

  const ClusterParams& params() const { return params_; }
  world::World& world() { return *world_; }
  Simulation& sim() { return world_->sim(); }
  world::NodeId node_of(MemberId m) const { return nodes_[m]; }
  std::uint32_t size() const { return params_.members; }
  RingCache& rings() { return rings_; }
  Rng& rng_for(MemberId m);
  /// Whether m joins after time zero (members that start converged do not know it).
  bool late(MemberId m) const { return late_[m]; }
  /// The view every member present at time zero starts with (every such member alive at
  /// incarnation 1), built once and copied: building n views entry by entry hashed n x n
  /// entries, a sixth of a 3,200-member cluster's set-up.
  const Membership& converged_view();

  // --- hooks the members call --------------------------------------------------------------
  void attach(MemberId m, SwimMember* member) { live_[m] = member; }
  void detach(MemberId m, SwimMember* member);
  /// `by`'s view of `about` changed from `before` to `after`; `declared` when `by` itself
  /// decided it (its probe or its suspicion timer), not when it learned it.
  void observe(MemberId by, MemberId about, Status before, Status after, std::uint32_t inc,
               bool declared);
  void message_sent(std::size_t changes);
  /// `target` is being probed (for the time to the first probe of a crashed member).
  void probing(MemberId target);
  void count(std::string_view what);
  /// count("probes"), once per protocol period of every member: the counter is looked up
  /// once (on first use, so the metrics hold the same names as before), not per probe.
  void count_probe();

  // --- measures --------------------------------------------------------------------------
  SwimMember* member(MemberId m) const { return live_[m]; }
  bool impaired(MemberId m) const { return impaired_[m]; }
  const std::vector<DetectionRecord>& detections() const { return detections_; }
  const std::vector<Declaration>& declarations() const { return declarations_; }
  std::uint64_t messages_sent() const { return messages_; }
  std::uint64_t false_positives() const { return false_positives_; }
  std::uint64_t healthy_marked_faulty() const { return healthy_marked_faulty_; }
  std::uint64_t faulty_declarations() const { return faulty_declarations_; }
  void note_faults();

  std::vector<world::NodeId> nodes_;

private:
  ClusterParams params_;
  world::World* world_;
  RingCache rings_;
  std::vector<SwimMember*> live_;
  std::vector<Rng> rngs_;
  std::vector<bool> late_;
  std::unique_ptr<Membership> converged_view_;  // built on first use
  std::vector<std::uint32_t> faulty_views_;  // how many members hold m faulty
  std::vector<bool> impaired_;               // some fault ever touched m
  std::vector<std::optional<std::size_t>> open_detection_;
  std::vector<DetectionRecord> detections_;
  std::vector<Declaration> declarations_;
  std::size_t faults_seen_ = 0;
  std::uint64_t messages_ = 0;
  Counter* probes_ = nullptr;
  std::uint64_t false_positives_ = 0;
  std::uint64_t healthy_marked_faulty_ = 0;
  std::uint64_t faulty_declarations_ = 0;
};

class RingpopCluster {
public:
  explicit RingpopCluster(ClusterParams params);
  ~RingpopCluster();

  /// Adds the region, zones, hosts and members to `world` and starts them.
  void build(world::World& world);
  static std::string member_name(MemberId m) { return "ringpop-" + std::to_string(m); }
  /// Fault target groups ("ringpop").
  std::vector<std::string> groups() const { return {"ringpop"}; }
  const ClusterParams& params() const { return params_; }

  ClusterShared& shared() { return *shared_; }
  const ClusterShared& shared() const { return *shared_; }
  /// The running member, nullptr while crashed or not yet started.
  SwimMember* member(MemberId m) const;
  bool up(MemberId m) const;
  world::Node& node(MemberId m) const;

  // --- convergence and rings -------------------------------------------------------------
  /// Distinct membership checksums among live members (1: converged).
  std::size_t distinct_checksums() const;
  /// Live members whose view disagrees with the truth: some live member not pingable in it,
  /// or some crashed member still alive in it.
  std::size_t members_with_wrong_view() const;
  /// The owner of `key_hash` in member m's ring (built from m's view; shared cache).
  MemberId owner(MemberId m, std::uint64_t key_hash);
  /// Distinct owners live members' rings give a key, averaged over `keys` keys (1: every
  /// member routes each key to the same owner; 2 during a split brain).
  double owners_per_key(std::size_t keys);
  /// Live members' views, for the membership checker.
  std::vector<ViewSnapshot> snapshot() const;
  /// Samples each live member's ring at `keys` key hashes, for the checker.
  std::vector<OwnershipSample> sample_ownership(std::size_t keys);

private:
  ClusterParams params_;
  world::World* world_ = nullptr;
  std::unique_ptr<ClusterShared> shared_;
};

}  // namespace faultline::sim::ringpop
