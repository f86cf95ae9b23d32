// Directories and the placement driver (Spanner §2.2): the location table, splits and merges
// of directories, movedir (a directory moving between Paxos groups: a background copy, then a
// short transaction through Paxos at both groups) and the driver's periodic rounds.
//
// The move's consistency argument: the source leader holds a write lock on every key of the
// directory from the moment it computes the final delta until its kMoveOut entry is chosen, so
// no transaction writes the directory at the source in between (prepared ones finish first:
// their locks cannot be wounded). The kMoveOut entry carries the final versions; commit wait on
// its timestamp makes every later timestamp, at any leader, larger; the destination logs
// kMoveIn with the same versions before the location table points at it. Until then the
// destination refuses the keys (kMoved), and the source refuses them from kMoveOut on, so no
// key is ever served by two groups at once and no version is left behind.
#include "server.hpp"

#include <faultline/probe.hpp>
#include <faultline/world/host.hpp>
#include <faultline/world/world.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

namespace faultline::sim::spanner {

namespace {
// Recovery paths of the placement driver (faultline/probe.hpp): a move whose data transfer
// failed and was resumed until the destination took it, and a move left in doubt.
const ProbePoint kProbeMoveResumed("spanner/placement/move-resumed");
const ProbePoint kProbeMoveInDoubt("spanner/placement/move-in-doubt");
}  // namespace

using world::NodeId;
using world::Payload;
using world::Reply;
using world::RpcResult;

namespace {

constexpr std::uint64_t kVersionBytes = 4096;  // the model's size of one written value

/// Removes [lo, hi) from a set of disjoint half-open ranges (lo → hi).
void subtract_range(std::map<int, int>& ranges, int lo, int hi) {
  std::map<int, int> out;
  for (const auto& [a, b] : ranges) {
    if (b <= lo || a >= hi) {
      out[a] = b;
      continue;
    }
    if (a < lo) {
      out[a] = lo;
    }
    if (b > hi) {
      out[hi] = b;
    }
  }
  ranges = std::move(out);
}

class DriverProgram final : public world::Program {
public:
  explicit DriverProgram(Cluster& cluster) : cluster_(&cluster) {}
  void start(world::Node& node) override { node.spawn(loop(node)); }

private:
  Task<void> loop(world::Node& node) {
    for (;;) {
      co_await node.sleep(cluster_->params().placement.interval);
      co_await cluster_->placement_round(node);
    }
  }
  Cluster* cluster_;
};

}  // namespace

// --- replicas: applying the move entries --------------------------------------------------------

void Spanserver::apply_move(Replica& r, const Entry& e) {
  switch (e.kind) {
    case EntryKind::kStage:
      for (std::size_t i = 0; i < e.writes.size() && i < e.write_ts.size(); ++i) {
        r.staged[e.lo][e.writes[i].first][e.write_ts[i]] = e.writes[i].second;
      }
      break;
    case EntryKind::kMoveOut:
      subtract_range(r.owned, e.lo, e.hi);
      for (int k = e.lo; k < e.hi; ++k) {
        r.versions.erase(Cluster::key_name(k));
      }
      r.max_applied_ts = std::max(r.max_applied_ts, e.ts);
      break;
    case EntryKind::kMoveIn: {
      std::map<std::string, std::map<Timestamp, std::int64_t>> all;
      if (auto st = r.staged.find(e.lo); st != r.staged.end()) {
        all = std::move(st->second);
        r.staged.erase(st);
      }
      for (std::size_t i = 0; i < e.writes.size() && i < e.write_ts.size(); ++i) {
        all[e.writes[i].first][e.write_ts[i]] = e.writes[i].second;
      }
      for (auto& [k, vs] : all) {
        int idx = Cluster::key_index(k);
        if (idx < e.lo || idx >= e.hi) {
          continue;
        }
        auto& out = r.versions[k];
        out.assign(vs.begin(), vs.end());
      }
      subtract_range(r.owned, e.lo, e.hi);
      r.owned[e.lo] = e.hi;
      r.last_commit_ts = std::max(r.last_commit_ts, e.ts);
      r.max_applied_ts = std::max(r.max_applied_ts, e.ts);
      if (r.leader) {
        r.last_ts = std::max(r.last_ts, e.ts);
      }
      break;
    }
    default:
      break;
  }
}

// --- spanservers: movedir -----------------------------------------------------------------------

Task<RpcResult> Spanserver::call_group(int group, Payload request, std::uint64_t bytes) {
  const auto& reps = cluster_->replicas(group);
  NodeId target = reps.front();
  RpcResult last;
  std::size_t next = 1;
  for (std::size_t tries = 0; tries < reps.size() * 2; ++tries) {
    last = co_await node_->call(target, request, bytes, cluster_->params().rpc_timeout * 4);
    const Resp* resp = last.ok() ? last.payload.get<Resp>() : nullptr;
    if (resp != nullptr && resp->st != St::kNotLeader) {
      co_return last;
    }
    if (resp != nullptr && resp->hint.valid() && resp->hint != target) {
      target = resp->hint;
    } else {
      target = reps[next++ % reps.size()];
    }
  }
  co_return last;
}

Task<Reply> Spanserver::on_move_data(MoveDataReq req) {
  Replica* r = replica(req.group);
  if (r == nullptr || !has_lease(*r)) {
    co_return not_leader(r);
  }
  if (req.kind == EntryKind::kMoveIn) {
    auto it = r->owned.find(req.lo);
    if (it != r->owned.end() && it->second == req.hi) {
      co_return status_reply(St::kOk);  // a retried move-in that was already chosen
    }
  }
  Entry e;
  e.kind = req.kind;
  e.ts = req.ts;
  e.writes = std::move(req.writes);
  e.write_ts = std::move(req.write_ts);
  e.lo = req.lo;
  e.hi = req.hi;
  bool ok = co_await propose(*r, e);
  co_return status_reply(ok ? St::kOk : St::kPending);
}

Task<Reply> Spanserver::on_move_dir(MoveDirReq req) {
  const auto& p = cluster_->params();
  Replica* r = replica(req.group);
  if (r == nullptr || !has_lease(*r)) {
    co_return not_leader(r);
  }
  const Ballot ballot = r->ballot;
  std::vector<std::string> keys;
  for (int k = req.lo; k < req.hi; ++k) {
    keys.push_back(Cluster::key_name(k));
  }
  if (!r->owns_all(keys)) {
    co_return status_reply(St::kMoved);
  }
  auto& m = node_->sim().metrics();
  // 1. Background copy: every version applied so far, without locks; transactions go on.
  std::set<std::pair<std::string, Timestamp>> copied;
  if (!req.unsafe_without_copy) {
    MoveDataReq stage{req.dest, EntryKind::kStage, req.lo, req.hi, 0, {}, {}};
    for (const auto& k : keys) {
      if (auto it = r->versions.find(k); it != r->versions.end()) {
        for (const auto& [t, v] : it->second) {
          stage.writes.emplace_back(k, v);
          stage.write_ts.push_back(t);
          copied.insert({k, t});
        }
      }
    }
    std::uint64_t bytes = kSmallBytes + kVersionBytes * stage.writes.size();
    RpcResult res = co_await call_group(req.dest, Payload::make<MoveDataReq>(std::move(stage)), bytes);
    const Resp* resp = res.ok() ? res.payload.get<Resp>() : nullptr;
    if (resp == nullptr || resp->st != St::kOk) {
      co_return status_reply(St::kRetry);
    }
  }
  // 2. The short transaction: write-lock the whole directory (priority 0 is older than any
  // client, so it wounds readers and waits only for prepared or committing writers).
  r = replica(req.group);
  if (r == nullptr || !has_lease(*r) || r->ballot != ballot) {
    co_return not_leader(r);
  }
  const TxnId txn = cluster_->next_txn_id();
  auto& t = r->txns[txn];
  t.priority = 0;
  t.last_seen = node_->sim().now();
  auto give_up = [this, &req, txn](St st) {
    if (Replica* rr = replica(req.group)) {
      release_locks(*rr, txn);
      rr->txns.erase(txn);
    }
    return status_reply(st);
  };
  for (const auto& k : keys) {
    bool ok = co_await lock(*r, txn, 0, k, true);
    r = replica(req.group);
    if (!ok || r == nullptr) {
      co_return give_up(St::kRetry);
    }
  }
  if (!has_lease(*r) || r->ballot != ballot || !r->owns_all(keys)) {
    co_return give_up(St::kRetry);
  }
  r->txns[txn].committing = true;
  // The delta: versions applied since the copy (all of them in the broken variant, which
  // copies nothing and sends nothing: the location switches with the data left behind).
  MoveDataReq in{req.dest, EntryKind::kMoveIn, req.lo, req.hi, 0, {}, {}};
  if (!req.unsafe_without_copy) {
    for (const auto& k : keys) {
      if (auto it = r->versions.find(k); it != r->versions.end()) {
        for (const auto& [ts, v] : it->second) {
          if (!copied.contains({k, ts})) {
            in.writes.emplace_back(k, v);
            in.write_ts.push_back(ts);
          }
        }
      }
    }
  }
  Timestamp ts = next_ts(*r);
  if (ts >= r->lease_end.unix_ns()) {
    co_return give_up(St::kRetry);
  }
  Entry out;
  out.kind = EntryKind::kMoveOut;
  out.txn = txn;
  out.ts = ts;
  out.coordinator = req.dest;
  out.writes = in.writes;
  out.write_ts = in.write_ts;
  out.lo = req.lo;
  out.hi = req.hi;
  in.ts = ts;
  acted(*r, ts);
  bool chosen = co_await propose(*r, out);
  if (!chosen) {
    // Unknown: a later leader may still choose it. The keys then stay unserved (never served
    // twice) until an operator finishes the move; see README.
    m.counter("spanner.placement.moves_in_doubt").inc();
    FAULTLINE_PROBE(node_->sim(), kProbeMoveInDoubt);
    co_return give_up(St::kPending);
  }
  // Commit wait: once TT.after(ts) holds here, every timestamp the destination assigns is
  // larger than every version that moves.
  co_await commit_wait(ts);
  std::uint64_t in_bytes = kSmallBytes + kVersionBytes * in.writes.size();
  Payload in_payload = Payload::make<MoveDataReq>(std::move(in));
  bool moved = false;
  int attempt_count = 0;
  for (int attempt = 0; attempt < 20 && !moved; ++attempt) {
    ++attempt_count;
    RpcResult res = co_await call_group(req.dest, in_payload, in_bytes);
    const Resp* resp = res.ok() ? res.payload.get<Resp>() : nullptr;
    moved = resp != nullptr && resp->st == St::kOk;
    if (!moved) {
      co_await node_->sleep(p.rpc_timeout);
    }
  }
  if (moved) {
    if (attempt_count > 1) {
      FAULTLINE_PROBE(node_->sim(), kProbeMoveResumed);
    }
    cluster_->relocate(req.lo, req.hi, req.dest);
  } else {
    m.counter("spanner.placement.moves_in_doubt").inc();
    FAULTLINE_PROBE(node_->sim(), kProbeMoveInDoubt);
  }
  co_return give_up(moved ? St::kOk : St::kPending);
}

// --- the cluster: location table and the driver -------------------------------------------------

int Cluster::populated_keys(int group, int lo, int hi) const {
  auto leader = leader_of(group);
  if (!leader) {
    return 0;
  }
  const Replica* r = server(*leader)->replica(group);
  int n = 0;
  for (auto it = r->versions.lower_bound(key_name(lo)); it != r->versions.end(); ++it) {
    if (key_index(it->first) >= hi) {
      break;
    }
    n += it->second.empty() ? 0 : 1;
  }
  return n;
}

bool Cluster::split_directory(int id, int at) {
  for (std::size_t i = 0; i < directories_.size(); ++i) {
    Directory d = directories_[i];
    if (d.id != id) {
      continue;
    }
    if (at <= d.lo || at >= d.hi) {
      return false;
    }
    directories_[i].hi = at;
    directories_.insert(directories_.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                        Directory{next_directory_id_++, at, d.hi, d.group});
    ++placement_stats_.splits;
    world_->sim().metrics().counter("spanner.placement.splits").inc();
    return true;
  }
  return false;
}

bool Cluster::merge_with_next(int id) {
  for (std::size_t i = 0; i + 1 < directories_.size(); ++i) {
    if (directories_[i].id != id) {
      continue;
    }
    if (directories_[i + 1].group != directories_[i].group) {
      return false;
    }
    directories_[i].hi = directories_[i + 1].hi;
    directories_.erase(directories_.begin() + static_cast<std::ptrdiff_t>(i) + 1);
    ++placement_stats_.merges;
    world_->sim().metrics().counter("spanner.placement.merges").inc();
    return true;
  }
  return false;
}

void Cluster::relocate(int lo, int hi, int dest) {
  for (auto& d : directories_) {
    if (d.lo == lo && d.hi == hi) {
      d.group = dest;
    }
  }
}

Task<bool> Cluster::move_directory(world::Node& from, int id, int dest) {
  auto it = std::find_if(directories_.begin(), directories_.end(),
                         [id](const Directory& d) { return d.id == id; });
  if (it == directories_.end()) {
    co_return false;
  }
  if (it->group == dest) {
    co_return true;
  }
  MoveDirReq req{it->group, dest, it->lo, it->hi, params_.placement.unsafe_move_without_copy};
  const auto& reps = replicas(req.group);
  NodeId target = leader_of(req.group).value_or(reps.front());
  bool ok = false;
  for (std::size_t tries = 0; tries < reps.size() && !ok; ++tries) {
    RpcResult res = co_await from.call(target, Payload::make<MoveDirReq>(req), kSmallBytes,
                                       params_.rpc_timeout * 40);
    const Resp* resp = res.ok() ? res.payload.get<Resp>() : nullptr;
    ok = resp != nullptr && resp->st == St::kOk;
    if (resp != nullptr && resp->st != St::kNotLeader) {
      break;
    }
    target = resp != nullptr && resp->hint.valid() ? resp->hint : reps[(tries + 1) % reps.size()];
  }
  auto& m = world_->sim().metrics();
  if (ok) {
    ++placement_stats_.moves;
    m.counter("spanner.placement.moves").inc();
  } else {
    ++placement_stats_.failed_moves;
    m.counter("spanner.placement.failed_moves").inc();
  }
  co_return ok;
}

Task<void> Cluster::placement_round(world::Node& driver) {
  const auto& pp = params_.placement;
  // Splits: at the median key with data, so both halves hold about half the keys.
  if (pp.split_keys > 0) {
    std::vector<Directory> snapshot = directories_;
    for (const auto& d : snapshot) {
      if (populated_keys(d.group, d.lo, d.hi) <= pp.split_keys || d.hi - d.lo < 2) {
        continue;
      }
      auto leader = leader_of(d.group);
      const Replica* r = server(*leader)->replica(d.group);
      std::vector<int> with_data;
      for (int k = d.lo; k < d.hi; ++k) {
        if (auto it = r->versions.find(key_name(k)); it != r->versions.end() && !it->second.empty()) {
          with_data.push_back(k);
        }
      }
      int at = with_data[with_data.size() / 2];
      split_directory(d.id, std::clamp(at, d.lo + 1, d.hi - 1));
    }
  }
  // Merges: adjacent directories of one group that are both small.
  if (pp.merge_keys > 0) {
    for (std::size_t i = 0; i + 1 < directories_.size();) {
      const Directory& a = directories_[i];
      const Directory& b = directories_[i + 1];
      int na = populated_keys(a.group, a.lo, a.hi);
      int nb = populated_keys(b.group, b.lo, b.hi);
      if (a.group == b.group && na < pp.merge_keys && nb < pp.merge_keys) {
        merge_with_next(a.id);
      } else {
        ++i;
      }
    }
  }
  // Load balancing: one directory from the fullest group to the emptiest, if that narrows the
  // gap (a directory of s keys narrows a gap of d keys iff 0 < s < d).
  if (pp.rebalance_keys > 0) {
    std::vector<int> load(static_cast<std::size_t>(params_.groups), 0);
    std::vector<int> size(directories_.size(), 0);
    for (std::size_t i = 0; i < directories_.size(); ++i) {
      const auto& d = directories_[i];
      size[i] = populated_keys(d.group, d.lo, d.hi);
      load[static_cast<std::size_t>(d.group)] += size[i];
    }
    auto mx = std::max_element(load.begin(), load.end());
    auto mn = std::min_element(load.begin(), load.end());
    int from = static_cast<int>(mx - load.begin());
    int to = static_cast<int>(mn - load.begin());
    int gap = *mx - *mn;
    if (gap > pp.rebalance_keys) {
      int best = -1;
      for (std::size_t i = 0; i < directories_.size(); ++i) {
        if (directories_[i].group == from && size[i] > 0 && size[i] < gap &&
            (best < 0 || size[i] > size[static_cast<std::size_t>(best)])) {
          best = static_cast<int>(i);
        }
      }
      if (best >= 0) {
        co_await move_directory(driver, directories_[static_cast<std::size_t>(best)].id, to);
      }
    }
  }
  // Leaders: a zone leading more than its share hands one group to another zone per round.
  if (pp.balance_leaders) {
    int share = (params_.groups + params_.zones - 1) / params_.zones;
    for (int z = 0; z < params_.zones; ++z) {
      if (leaders_in_zone(z) <= share) {
        continue;
      }
      std::vector<int> led(static_cast<std::size_t>(params_.zones), 0);
      for (int zz = 0; zz < params_.zones; ++zz) {
        led[static_cast<std::size_t>(zz)] = leaders_in_zone(zz);
      }
      for (int g = 0; g < params_.groups; ++g) {
        auto l = leader_of(g);
        if (l && zone_of(*l) == zones_.at(static_cast<std::size_t>(z))) {
          // The nominee: the group's replica in the zone that leads the fewest groups.
          const auto& reps = placement_.at(static_cast<std::size_t>(g));
          int nominee = -1;
          for (std::size_t i = 0; i < reps.size(); ++i) {
            int rz = server_zone_.at(reps[i].value());
            if (rz != z && (nominee < 0 ||
                            led[static_cast<std::size_t>(rz)] <
                                led[static_cast<std::size_t>(server_zone_.at(reps[static_cast<std::size_t>(nominee)].value()))])) {
              nominee = static_cast<int>(i);
            }
          }
          server(*l)->hand_off(g, nominee);
          ++placement_stats_.leader_handoffs;
          world_->sim().metrics().counter("spanner.placement.leader_handoffs").inc();
          break;
        }
      }
      break;
    }
  }
}

void Cluster::start_placement_driver() {
  if (driver_started_ || !params_.placement.enabled()) {
    return;
  }
  driver_started_ = true;
  world_->add_node(client_hosts_.at(0), "placement-driver", "placement",
                   [this](world::Node&) { return std::make_unique<DriverProgram>(*this); });
}

std::vector<int> Cluster::replicas_per_zone() const {
  std::vector<int> out(zones_.size(), 0);
  for (const auto& reps : placement_) {
    for (NodeId n : reps) {
      ++out[static_cast<std::size_t>(server_zone_.at(n.value()))];
    }
  }
  return out;
}

}  // namespace faultline::sim::spanner
