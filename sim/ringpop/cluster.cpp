#include <faultline/sim/ringpop/cluster.hpp>
#include <faultline/sim/ringpop/swim.hpp>

#include <algorithm>
#include <cstring>
#include <span>
#include <stdexcept>

namespace faultline::sim::ringpop {

ClusterShared::ClusterShared(ClusterParams params, world::World& world)
    : params_(std::move(params)),
      world_(&world),
      rings_(params_.ring.replica_points),
      live_(params_.members, nullptr),
      faulty_views_(params_.members, 0),
      impaired_(params_.members, false),
      open_detection_(params_.members) {
  rngs_.reserve(params_.members);
  late_.assign(params_.members, false);
  for (const auto& j : params_.late_joins) {
    for (MemberId m = 0; m < params_.members; ++m) {
      late_[m] = late_[m] || RingpopCluster::member_name(m) == j.member;
    }
  }
  for (MemberId m = 0; m < params_.members; ++m) {
    rngs_.push_back(world.sim().rng("ringpop/member/" + std::to_string(m)));
  }
}

Rng& ClusterShared::rng_for(MemberId m) { return rngs_[m]; }

const Membership& ClusterShared::converged_view() {
  if (converged_view_ == nullptr) {
    converged_view_ = std::make_unique<Membership>(0, params_.members);
    for (MemberId m = 0; m < params_.members; ++m) {
      if (!late_[m]) {
        converged_view_->force(m, Status::kAlive, 1);
      }
    }
  }
  return *converged_view_;
}

void ClusterShared::detach(MemberId m, SwimMember* member) {
  if (live_[m] == member) {
    live_[m] = nullptr;
  }
}

void ClusterShared::message_sent(std::size_t /*changes*/) { ++messages_; }

void ClusterShared::probing(MemberId target) {
  note_faults();
  if (const auto& open = open_detection_[target]) {
    DetectionRecord& d = detections_[*open];
    if (!d.first_probe) {
      d.first_probe = sim().now();
    }
  }
}

void ClusterShared::count(std::string_view what) {
  sim().metrics().counter(std::string("ringpop.") + std::string(what)).inc();
}

void ClusterShared::count_probe() {
  if (probes_ == nullptr) {
    probes_ = &sim().metrics().counter("ringpop.probes");
  }
  probes_->inc();
}

void ClusterShared::note_faults() {
  const auto& fired = world_->faults().fired();
  for (; faults_seen_ < fired.size(); ++faults_seen_) {
    const world::FiredFault& f = fired[faults_seen_];
    if (f.origin == "undo") {
      continue;
    }
    world::Target t;
    const auto colon = f.target.find(':');
    if (colon == std::string::npos) {
      t.kind = world::TargetKind::kAll;
    } else {
      const auto kind = world::parse_target_kind(f.target.substr(0, colon));
      if (!kind) {
        continue;
      }
      t.kind = *kind;
      t.name = f.target.substr(colon + 1);
    }
    std::vector<world::NodeId> nodes;
    try {
      nodes = world_->faults().resolve_nodes(t);
    } catch (const std::invalid_argument&) {
      continue;
    }
    for (world::NodeId n : nodes) {
      const auto it = std::find(nodes_.begin(), nodes_.end(), n);
      if (it == nodes_.end()) {
        continue;
      }
      const auto m = static_cast<MemberId>(it - nodes_.begin());
      impaired_[m] = true;
      if (f.kind == world::FaultKind::kCrash && !open_detection_[m]) {
        open_detection_[m] = detections_.size();
        detections_.push_back({m, f.time, {}, {}, {}, {}});
      }
      if (f.kind == world::FaultKind::kRestart) {
        open_detection_[m].reset();
      }
    }
  }
}

void ClusterShared::observe(MemberId by, MemberId about, Status before, Status after,
                            std::uint32_t inc, bool declared) {
  note_faults();
  const Time now = sim().now();
  if (before == Status::kFaulty) {
    --faulty_views_[about];
  }
  if (after == Status::kFaulty) {
    ++faulty_views_[about];
  }
  if (declared) {
    declarations_.push_back({now, by, about, after, inc});
    // "node" puts the record on the declaring member's track in the Perfetto export.
    sim().record("ringpop", "declare",
                 {{"node", nodes_[by].value()}, {"by", by}, {"about", about},
                  {"status", to_string(after)}, {"incarnation", inc}});
  }
  if (after == Status::kFaulty && before != Status::kFaulty) {
    if (!impaired_[about]) {
      ++healthy_marked_faulty_;
      if (declared) {
        ++false_positives_;
      }
    }
    if (declared) {
      ++faulty_declarations_;
    }
  }
  if (const auto& open = open_detection_[about]) {
    DetectionRecord& d = detections_[*open];
    if (after == Status::kSuspect && !d.first_suspect) {
      d.first_suspect = now;
      // With "detection.end" below, a slice on the failed member's track in the Perfetto
      // export: from the first suspicion of it to every live member holding it faulty.
      sim().record("ringpop", "detection.begin",
                   {{"node", nodes_[about].value()}, {"id", about}, {"by", by}});
    }
    if (after == Status::kFaulty && !d.first_faulty) {
      d.first_faulty = now;
    }
    if (after == Status::kFaulty && !d.all_faulty) {
      std::uint32_t live = 0;
      for (MemberId m = 0; m < live_.size(); ++m) {
        live += (m != about && live_[m] != nullptr) ? 1 : 0;
      }
      if (faulty_views_[about] >= live) {
        d.all_faulty = now;
        sim().record("ringpop", "detection.end",
                     {{"node", nodes_[about].value()}, {"id", about}, {"members", live}});
      }
    }
  }
}

RingpopCluster::RingpopCluster(ClusterParams params) : params_(std::move(params)) {
  params_.validate();
}

RingpopCluster::~RingpopCluster() = default;

void RingpopCluster::build(world::World& world) {
  world_ = &world;
  shared_ = std::make_unique<ClusterShared>(params_, world);
  const auto region = world.add_region("region");
  std::vector<world::ZoneId> zones;
  for (const auto& z : params_.zones) {
    zones.push_back(world.add_zone(region, z));
  }
  world::HostParams hp = world.params().host_defaults;
  hp.cpu.sample_interval = Duration::zero();  // no per-host utilisation series at scale
  for (MemberId m = 0; m < params_.members; ++m) {
    const auto host = world.add_host(zones[m % zones.size()], "host-" + std::to_string(m), hp);
    ClusterShared* shared = shared_.get();
    const bool late = std::any_of(params_.late_joins.begin(), params_.late_joins.end(),
                                  [&](const JoinSpec& j) { return j.member == member_name(m); });
    const bool converged = params_.start_converged && !late;
    shared_->nodes_.push_back(world.add_node(
        host, member_name(m), "ringpop",
        [shared, m, converged, late](world::Node& n) -> std::unique_ptr<world::Program> {
          if (late && n.incarnation() == 1) {
            return std::make_unique<world::Program>();  // not started yet: see below
          }
          return std::make_unique<SwimMember>(n, *shared, m, converged);
        }));
  }
  for (const auto& j : params_.late_joins) {
    world::Node* n = world.find_node(j.member);
    // A late joiner's first incarnation is an empty program, taken down right after boot;
    // the member proper starts (and joins through the seeds) at j.at.
    world.sim().schedule_after(Duration::zero(), [n] { n->crash(); });
    world.sim().schedule_after(j.at, [n] { n->restart(); });
  }
}

SwimMember* RingpopCluster::member(MemberId m) const { return shared_->member(m); }

bool RingpopCluster::up(MemberId m) const {
  return world_->node(shared_->node_of(m)).state() == world::NodeState::kUp &&
         shared_->member(m) != nullptr;
}

world::Node& RingpopCluster::node(MemberId m) const { return world_->node(shared_->node_of(m)); }

std::size_t RingpopCluster::distinct_checksums() const {
  std::vector<std::uint64_t> sums;
  for (MemberId m = 0; m < params_.members; ++m) {
    if (up(m)) {
      sums.push_back(member(m)->view().checksum());
    }
  }
  std::sort(sums.begin(), sums.end());
  return static_cast<std::size_t>(std::unique(sums.begin(), sums.end()) - sums.begin());
}

std::size_t RingpopCluster::members_with_wrong_view() const {
  // Every live view against the truth, whole and without a branch, eight members a step: the
  // scan is n x n (10 M statuses at 3,200 members, every 5 s in the at-scale scenario), and
  // an entry-by-entry scan with early exits was 5 % of that run.
  // Statuses are 0..3 and pingable ones are 1 (alive) and 2 (suspect): bit 0 XOR bit 1.
  static_assert(static_cast<int>(Status::kUnknown) == 0 && static_cast<int>(Status::kAlive) == 1 &&
                static_cast<int>(Status::kSuspect) == 2 && static_cast<int>(Status::kFaulty) == 3);
  constexpr std::uint64_t kLowBits = 0x0101'0101'0101'0101ULL;
  std::vector<std::uint8_t> is_up(params_.members);
  for (MemberId m = 0; m < params_.members; ++m) {
    is_up[m] = up(m) ? 1 : 0;
  }
  std::size_t wrong = 0;
  for (MemberId m = 0; m < params_.members; ++m) {
    if (is_up[m] == 0) {
      continue;
    }
    const std::span<const Status> view = member(m)->view().statuses();
    const auto* st = reinterpret_cast<const std::uint8_t*>(view.data());
    const std::size_t n = std::min(view.size(), is_up.size());
    std::uint64_t differs = 0;
    std::size_t o = 0;
    for (; o + 8 <= n; o += 8) {
      std::uint64_t s8 = 0;
      std::uint64_t up8 = 0;
      std::memcpy(&s8, st + o, 8);
      std::memcpy(&up8, is_up.data() + o, 8);
      // Bit 0 of each byte becomes that byte's bit 0 XOR bit 1 (the shift's stray bit 7 is
      // masked off).
      differs |= ((s8 ^ (s8 >> 1)) & kLowBits) ^ up8;
    }
    for (; o < n; ++o) {
      differs |= static_cast<std::uint64_t>((pingable(view[o]) ? 1u : 0u) ^ is_up[o]);
    }
    wrong += differs != 0 ? 1 : 0;
  }
  return wrong;
}

MemberId RingpopCluster::owner(MemberId m, std::uint64_t key_hash) {
  const SwimMember* s = member(m);
  if (s == nullptr) {
    return kNoMember;
  }
  return shared_->rings().ring_for(s->view())->lookup(key_hash);
}

double RingpopCluster::owners_per_key(std::size_t keys) {
  std::size_t total = 0;
  for (std::size_t k = 0; k < keys; ++k) {
    std::vector<MemberId> owners;
    for (MemberId m = 0; m < params_.members; ++m) {
      if (up(m)) {
        owners.push_back(owner(m, hash_u64(k)));
      }
    }
    std::sort(owners.begin(), owners.end());
    total += static_cast<std::size_t>(std::unique(owners.begin(), owners.end()) - owners.begin());
  }
  return keys == 0 ? 0.0 : static_cast<double>(total) / static_cast<double>(keys);
}

std::vector<ViewSnapshot> RingpopCluster::snapshot() const {
  std::vector<ViewSnapshot> out;
  for (MemberId m = 0; m < params_.members; ++m) {
    ViewSnapshot s;
    s.member = m;
    s.up = up(m);
    if (s.up) {
      const Membership& v = member(m)->view();
      s.checksum = v.checksum();
      for (MemberId o = 0; o < v.size(); ++o) {
        s.entries.push_back(v.entry(o));
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<OwnershipSample> RingpopCluster::sample_ownership(std::size_t keys) {
  std::vector<OwnershipSample> out;
  // Members that agree share one server list (checked element by element, not trusted to
  // the checksum): a converged cluster of 10,000 members holds one list, not 10,000.
  std::vector<std::shared_ptr<const std::vector<MemberId>>> lists;
  for (MemberId m = 0; m < params_.members; ++m) {
    const SwimMember* s = member(m);
    if (!up(m)) {
      continue;
    }
    auto ring = shared_->rings().ring_for(s->view());
    std::vector<MemberId> servers;  // from the view itself, not from the ring
    for (MemberId o = 0; o < s->view().size(); ++o) {
      if (pingable(s->view().status(o))) {
        servers.push_back(o);
      }
    }
    std::shared_ptr<const std::vector<MemberId>> shared_list;
    for (auto it = lists.rbegin(); it != lists.rend(); ++it) {
      if (**it == servers) {
        shared_list = *it;
        break;
      }
    }
    if (!shared_list) {
      shared_list = std::make_shared<const std::vector<MemberId>>(std::move(servers));
      lists.push_back(shared_list);
    }
    for (std::size_t k = 0; k < keys; ++k) {
      const std::uint64_t h = hash_u64(k);
      out.push_back({m, h, ring->lookup(h), s->view().ring_checksum(), shared_list});
    }
  }
  return out;
}

}  // namespace faultline::sim::ringpop
