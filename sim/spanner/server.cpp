// The spanserver's frame: the Paxos log record format, the replica state it hosts per group,
// start-up (rebuilding from the durable log) and the dispatch of every request to its handler.
// Paxos lives in paxos.cpp, locks, reads and the transaction manager in transactions.cpp. See
// sim/spanner/README.md for what is modelled and what is left out.
#include "server.hpp"

#include <faultline/probe.hpp>
#include <faultline/world/host.hpp>
#include <faultline/world/timed_waits.hpp>
#include <faultline/world/world.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <sstream>

namespace faultline::sim::spanner {

using world::Message;
using world::NodeId;
using world::Payload;
using world::Reply;
using world::RpcResult;

namespace {

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

bool decode_entry(std::istringstream& in, Entry& e) {
  int kind = 0;
  std::size_t n = 0;
  if (!(in >> kind >> e.txn >> e.ts >> e.coordinator >> n)) {
    return false;
  }
  e.kind = static_cast<EntryKind>(kind);
  for (std::size_t i = 0; i < n; ++i) {
    std::string k;
    std::int64_t v = 0;
    if (!(in >> k >> v)) {
      return false;
    }
    e.writes.emplace_back(std::move(k), v);
  }
  std::size_t nr = 0;
  if (!(in >> nr)) {
    return false;
  }
  for (std::size_t i = 0; i < nr; ++i) {
    std::string k;
    if (!(in >> k)) {
      return false;
    }
    e.reads.push_back(std::move(k));
  }
  if (e.kind == EntryKind::kStage || e.kind == EntryKind::kMoveOut || e.kind == EntryKind::kMoveIn) {
    std::size_t nt = 0;
    if (!(in >> e.lo >> e.hi >> nt)) {
      return false;
    }
    for (std::size_t i = 0; i < nt; ++i) {
      Timestamp t = 0;
      if (!(in >> t)) {
        return false;
      }
      e.write_ts.push_back(t);
    }
  }
  return true;
}

}  // namespace

std::string Entry::encode() const {
  std::string out = fmt::format("{} {} {} {} {}", static_cast<int>(kind), txn, ts, coordinator,
                                writes.size());
  for (const auto& [k, v] : writes) {
    out += fmt::format(" {} {}", k, v);
  }
  out += fmt::format(" {}", reads.size());
  for (const auto& k : reads) {
    out += " " + k;
  }
  // Only the move kinds carry a range and version timestamps, so other records keep the
  // format (and byte count on the simulated disk) they always had.
  if (kind == EntryKind::kStage || kind == EntryKind::kMoveOut || kind == EntryKind::kMoveIn) {
    out += fmt::format(" {} {} {}", lo, hi, write_ts.size());
    for (Timestamp t : write_ts) {
      out += fmt::format(" {}", t);
    }
  }
  return out;
}

std::uint64_t Entry::digest() const { return fnv1a(encode()); }

Reply status_reply(St st) {
  Resp r;
  r.st = st;
  return make_reply(std::move(r));
}

Reply make_reply(Resp r) {
  std::uint64_t bytes = kSmallBytes + 4096 * r.values.size() + 256 * r.entries.size();
  return Reply{Payload::make<Resp>(std::move(r)), bytes};
}

// --- Notifier -----------------------------------------------------------------------------------

Task<bool> Notifier::wait(Duration timeout) {
  Completion<bool> c(*sim_);
  waiters_.push_back(c);
  auto v = co_await c.wait_for(timeout);
  co_return v.has_value();
}

void Notifier::notify() {
  auto waiters = std::move(waiters_);
  waiters_.clear();
  for (auto& w : waiters) {
    w.set(true);
  }
}

// --- Replica ------------------------------------------------------------------------------------

Replica::Replica(Spanserver& s, int g, int i)
    : server(&s), group(g), index(i), changed(s.node().sim()) {
  for (const auto& [lo, hi] : s.cluster().initial_ranges(g)) {
    owned[lo] = hi;
  }
}

bool Replica::owns(const std::string& key) const {
  int idx = Cluster::key_index(key);
  auto it = owned.upper_bound(idx);
  if (it == owned.begin()) {
    return false;
  }
  --it;
  return idx < it->second;
}

bool Replica::owns_all(const std::vector<std::string>& keys) const {
  return std::all_of(keys.begin(), keys.end(), [this](const std::string& k) { return owns(k); });
}

bool Replica::owns_all(const Writes& writes) const {
  return std::all_of(writes.begin(), writes.end(), [this](const auto& w) { return owns(w.first); });
}

namespace {

using Versions = std::vector<std::pair<Timestamp, std::int64_t>>;

/// The first version above `ts`; the one before it (if any) is what a read at ts sees.
Versions::const_iterator first_above(const Versions& vs, Timestamp ts) {
  return std::upper_bound(vs.begin(), vs.end(), ts,
                          [](Timestamp t, const auto& x) { return t < x.first; });
}

}  // namespace

void Replica::put_version(const std::string& key, Timestamp ts, std::int64_t value) {
  auto& vs = versions[key];
  vs.insert(first_above(vs, ts), {ts, value});
  // Versions before the one visible at gc_before are seen by no read that is still served.
  auto visible = first_above(vs, gc_before);
  if (visible - vs.begin() > 1) {
    vs.erase(vs.begin(), std::prev(visible));
  }
}

void Replica::advance_gc(Duration horizon) {
  // Never past LastTS(): a single-group read-only transaction reads there, and what it sees
  // (the newest version of every key) is never collected, however long the group was idle.
  if (horizon > Duration::zero()) {
    gc_before = std::max(gc_before, std::min(max_applied_ts - horizon.ns(), last_commit_ts));
  }
}

const std::pair<Timestamp, std::int64_t>* Replica::version_at(const std::string& key,
                                                                Timestamp ts) const {
  auto it = versions.find(key);
  if (it == versions.end()) {
    return nullptr;
  }
  auto pos = first_above(it->second, ts);
  return pos == it->second.begin() ? nullptr : &*std::prev(pos);
}

std::optional<std::int64_t> Replica::value_at(const std::string& key, Timestamp ts) const {
  const auto* v = version_at(key, ts);
  return v == nullptr ? std::nullopt : std::optional<std::int64_t>(v->second);
}

Timestamp Replica::version_ts_at(const std::string& key, Timestamp ts) const {
  const auto* v = version_at(key, ts);
  return v == nullptr ? 0 : v->first;
}

bool Replica::majority(std::size_t n) const {
  return n * 2 > server->cluster().replicas(group).size();
}

// --- Spanserver ---------------------------------------------------------------------------------

Spanserver::Spanserver(Cluster& cluster, world::Node& node)
    : cluster_(&cluster),
      node_(&node),
      rng_(node.sim().rng(fmt::format("spanner/{}/{}", node.name(), node.incarnation()))) {
  const auto& p = cluster.params();
  TimeBounds now = tt();
  for (int g = 0; g < p.groups; ++g) {
    int idx = cluster.replica_index(g, node.id());
    if (idx < 0) {
      continue;
    }
    auto r = std::make_unique<Replica>(*this, g, idx);
    // Recovery: the promised ballot and the accepted log come back from the durable image.
    if (const std::string* image = node.host().disk().durable(log_file(g))) {
      std::istringstream lines(*image);
      std::string line;
      while (std::getline(lines, line)) {
        std::istringstream in(line);
        char tag = 0;
        in >> tag;
        if (tag == 'P') {
          Ballot b = -1;
          if (in >> b) {
            r->promised = std::max(r->promised, b);
          }
        } else if (tag == 'A') {
          Slot s = 0;
          Ballot b = -1;
          Entry e;
          if ((in >> s >> b) && decode_entry(in, e)) {
            auto it = r->log.find(s);
            if (it == r->log.end() || it->second.first <= b) {
              r->log[s] = {b, std::move(e)};
            }
          }
        }
      }
      // A restarted replica may have granted a lease it no longer remembers: it refuses to
      // vote for anyone for a full lease, so the disjointness invariant survives the crash.
      r->vote_ballot = std::numeric_limits<Ballot>::max();
      r->vote_until = now.latest + p.lease;
    }
    replicas_.emplace(g, std::move(r));
  }
}

void Spanserver::start(world::Node& node) {
  node.on_request([this](Message m) { return handle(std::move(m)); });
  node.spawn(election_loop());
  node.spawn(leader_loop());
  node.spawn(in_doubt_loop());
  const auto& p = cluster_->params();
  world::spawn_timed_wait_threads(node, p.timed_wait_threads, p.timed_wait, p.cpu_slice);
}

Replica* Spanserver::replica(int group) {
  auto it = replicas_.find(group);
  return it == replicas_.end() ? nullptr : it->second.get();
}

bool Spanserver::has_lease(const Replica& r) const {
  return r.leader && r.serving && tt().latest < r.lease_end;
}

void Spanserver::relock_prepared(Replica& r) {
  for (const auto& [id, pr] : r.prepared) {
    auto& t = r.txns[id];
    t.committing = true;
    t.last_seen = node_->sim().now();
    for (const auto& [k, v] : pr.writes) {
      r.locks[k].writer = id;
      t.keys.insert(k);
    }
    for (const auto& k : pr.reads) {
      r.locks[k].readers.insert(id);
      t.keys.insert(k);
    }
  }
}

Timestamp Spanserver::next_ts(Replica& r) {
  Timestamp t = std::max(tt().latest.unix_ns(), r.last_ts + 1);
  r.last_ts = t;
  return t;
}

void Spanserver::acted(Replica& r, Timestamp ts) {
  r.s_max = std::max(r.s_max, ts);
  cluster_->invariants().leader_acted(r.group, r.ballot, node_->sim().now());
}

world::Reply Spanserver::not_leader(const Replica* r) const {
  Resp resp;
  resp.st = St::kNotLeader;
  // Point at the replica this one has voted for, while that vote lasts (a lapsed vote may
  // name a dead leader).
  if (r != nullptr && r->vote_ballot >= 0 &&
      r->vote_ballot != std::numeric_limits<Ballot>::max() && !(tt().earliest > r->vote_until)) {
    int idx = static_cast<int>(r->vote_ballot % kBallotStride);
    const auto& reps = cluster_->replicas(r->group);
    if (idx < static_cast<int>(reps.size())) {
      resp.hint = reps[idx];
    }
  }
  return make_reply(std::move(resp));
}

Task<bool> Spanserver::persist(Replica& r, const std::string& record) {
  auto& disk = node_->host().disk();
  std::string file = log_file(r.group);
  auto st = co_await disk.append(file, record);
  if (st != world::IoStatus::kOk) {
    co_return false;
  }
  st = co_await disk.fsync(file);
  co_return st == world::IoStatus::kOk;
}

void Spanserver::step_down(Replica& r) {
  if (!r.leader) {
    return;
  }
  r.leader = false;
  r.serving = false;
  for (auto& [slot, inf] : r.inflight) {
    inf.done->set(false);
  }
  r.inflight.clear();
  r.pending_ts.clear();
  r.locks.clear();
  r.txns.clear();
  r.changed.notify();
  node_->sim().metrics().counter("spanner.step_downs").inc();
}

// --- request handlers ---------------------------------------------------------------------------

Task<Reply> Spanserver::handle(Message m) {
  const auto& params = cluster_->params();
  co_await node_->compute(params.op_cpu);
  // A straggler: background work holds this request up (the rng is drawn only when stalls
  // are on, so runs without them are unchanged).
  if (params.stall_probability > 0.0 && rng_.uniform01() < params.stall_probability) {
    double s = rng_.pareto(params.stall_min.to_seconds(), params.stall_alpha);
    co_await node_->sleep(std::min(Duration::from_seconds(s), params.stall_max));
  }
  if (const auto* q = m.payload.get<AcceptReq>()) {
    co_return co_await on_accept(*q);
  }
  if (const auto* q = m.payload.get<ReadLockReq>()) {
    co_return co_await on_read_lock(*q);
  }
  if (const auto* q = m.payload.get<CommitReq>()) {
    co_return co_await on_commit(*q);
  }
  if (const auto* q = m.payload.get<ReadAtReq>()) {
    co_return co_await on_read_at(*q);
  }
  if (const auto* q = m.payload.get<PrepareBallotReq>()) {
    co_return co_await on_prepare_ballot(*q);
  }
  if (const auto* q = m.payload.get<AbortReq>()) {
    co_return co_await on_abort(*q);
  }
  if (const auto* q = m.payload.get<ResolveReq>()) {
    co_return co_await on_resolve(*q);
  }
  if (const auto* q = m.payload.get<StatusReq>()) {
    co_return co_await on_status(*q);
  }
  if (const auto* q = m.payload.get<MoveDirReq>()) {
    co_return co_await on_move_dir(*q);
  }
  if (const auto* q = m.payload.get<MoveDataReq>()) {
    co_return co_await on_move_data(*q);
  }
  if (const auto* q = m.payload.get<ReleaseReq>()) {
    if (Replica* r = replica(q->group); r != nullptr) {
      r->released = std::max(r->released, q->ballot);
      if (r->vote_ballot == q->ballot) {
        r->vote_until = UtcInstant{};
      }
    }
    co_return status_reply(St::kOk);
  }
  if (const auto* q = m.payload.get<CampaignReq>()) {
    if (Replica* r = replica(q->group); r != nullptr) {
      r->vote_until = UtcInstant{};
      node_->spawn(campaign(q->group, true));
    }
    co_return status_reply(St::kOk);
  }
  co_return status_reply(St::kRetry);
}

}  // namespace faultline::sim::spanner
