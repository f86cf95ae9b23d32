// The spanserver: Multi-Paxos replicas with leader leases, and at leaders the lock table
// (wound-wait), the transaction manager (two-phase commit), timestamp assignment and commit
// wait. See sim/spanner/README.md for what is modelled and what is left out.
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

namespace {
// A replica won a Paxos election and re-proposes what it found (faultline/probe.hpp).
const ProbePoint kProbeLeaderChange("spanner/paxos/leader-change");
}  // namespace

using world::Message;
using world::NodeId;
using world::Payload;
using world::Reply;
using world::RpcResult;

namespace {

constexpr Ballot kBallotStride = 16;  // ballot = round * 16 + replica index (replicas <= 15)
constexpr std::uint64_t kSmallBytes = 128;

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::uint64_t write_bytes(const Writes& w) { return kSmallBytes + 4096 * w.size(); }

std::string log_file(int group) { return fmt::format("paxos/g{}", group); }

// "A <slot> <ballot> <kind> <txn> <ts> <coord> <n> k v ..." and "P <ballot>".
std::string encode_accept(Slot slot, Ballot ballot, const Entry& e) {
  return fmt::format("A {} {} {}\n", slot, ballot, e.encode());
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

// --- elections ----------------------------------------------------------------------------------

Task<void> Spanserver::election_loop() {
  const auto& p = cluster_->params();
  for (;;) {
    co_await node_->sleep(p.election_check_interval);
    for (auto& [g, rp] : replicas_) {
      Replica& r = *rp;
      if (r.leader || r.campaigning) {
        continue;
      }
      TimeBounds now = tt();
      if (!(now.earliest > r.vote_until) || !(now.earliest > r.no_campaign_until)) {
        continue;
      }
      // Preferred leaders (replica 0 is where the placement driver wants the leader) go
      // first; the others back off by their rank, so elections rarely collide.
      bool now_ok = r.index == 0;
      node_->spawn(campaign(g, now_ok));
    }
  }
}

Task<void> Spanserver::campaign(int group, bool now) {
  const auto& p = cluster_->params();
  Replica* rp = replica(group);
  if (rp == nullptr || rp->campaigning || rp->leader) {
    co_return;
  }
  rp->campaigning = true;
  if (!now) {
    auto backoff = Duration::nanos(static_cast<std::int64_t>(
        rng_.below(static_cast<std::uint64_t>(p.election_backoff_max.ns()) + 1)));
    co_await node_->sleep(p.election_backoff_max * rp->index + backoff);
    TimeBounds t = tt();
    if (rp->leader || !(t.earliest > rp->vote_until)) {
      rp->campaigning = false;
      co_return;
    }
  }
  Replica& r = *rp;
  Ballot ballot = (std::max(r.promised, r.ballot) / kBallotStride + 1) * kBallotStride + r.index;
  TimeBounds t0 = tt();
  r.promised = ballot;
  r.vote_ballot = ballot;
  r.vote_until = t0.latest + p.lease;
  std::string promise_record = fmt::format("P {}\n", ballot);
  if (!co_await persist(r, promise_record)) {
    r.campaigning = false;
    co_return;
  }
  node_->sim().metrics().counter("spanner.elections").inc();
  // Phase 1 to every peer; the replies carry what each accepted after our commit point.
  const auto& peers = cluster_->replicas(group);
  struct Tally {
    int ok = 1;
    int failed = 0;
    std::map<Slot, std::pair<Ballot, Entry>> seen;
    Ballot higher = -1;
  };
  auto tally = std::make_shared<Tally>();
  for (const auto& [s, be] : r.log) {
    if (s > r.applied) {
      tally->seen[s] = be;
    }
  }
  Completion<bool> done(node_->sim());
  int n = static_cast<int>(peers.size());
  for (int i = 0; i < n; ++i) {
    if (i == r.index) {
      continue;
    }
    node_->call(peers[i], Payload::make<PrepareBallotReq>(PrepareBallotReq{group, ballot, r.applied}),
                kSmallBytes, p.rpc_timeout, [tally, done, n](RpcResult res) mutable {
                  const Resp* resp = res.ok() ? res.payload.get<Resp>() : nullptr;
                  if (resp != nullptr && resp->st == St::kOk) {
                    ++tally->ok;
                    for (const auto& [s, be] : resp->entries) {
                      auto it = tally->seen.find(s);
                      if (it == tally->seen.end() || it->second.first < be.first) {
                        tally->seen[s] = be;
                      }
                    }
                  } else {
                    ++tally->failed;
                    if (resp != nullptr) {
                      tally->higher = std::max(tally->higher, resp->promised);
                    }
                  }
                  if (tally->ok * 2 > n) {
                    done.set(true);
                  } else if (tally->failed * 2 >= n) {
                    done.set(false);
                  }
                });
  }
  if (tally->ok * 2 > n) {
    done.set(true);  // a one-replica group is its own majority
  }
  auto won = co_await done.wait_for(p.rpc_timeout * 2);
  r.campaigning = false;
  if (!won || !*won || r.promised != ballot) {
    r.promised = std::max(r.promised, tally->higher);
    // Our own vote for ourselves lapses at once, so another candidate is not held back.
    if (r.vote_ballot == ballot) {
      r.vote_until = UtcInstant{};
    }
    co_return;
  }
  // Leader: the lease counts from before phase 1 was sent (votes were granted after it).
  r.leader = true;
  r.serving = false;
  r.ballot = ballot;
  r.lease_end = t0.earliest + p.lease;
  r.inflight.clear();
  r.pending_ts.clear();
  Slot max_slot = r.applied;
  for (const auto& [s, be] : tally->seen) {
    max_slot = std::max(max_slot, s);
  }
  std::vector<std::pair<Slot, Entry>> reprop;
  Timestamp max_ts = std::max(r.max_applied_ts, r.last_commit_ts);
  for (Slot s = r.applied + 1; s <= max_slot; ++s) {
    auto it = tally->seen.find(s);
    Entry e = it != tally->seen.end() ? it->second.second : Entry{};
    max_ts = std::max(max_ts, e.ts);
    reprop.emplace_back(s, e);
  }
  r.next_slot = max_slot + 1;
  r.last_ts = std::max(r.last_ts, max_ts);
  node_->sim().record("spanner", "leader",
                      {{"group", group}, {"ballot", ballot}, {"node", node_->name()}});
  node_->sim().metrics().counter("spanner.leader_changes").inc();
  FAULTLINE_PROBE(node_->sim(), kProbeLeaderChange);
  // Re-propose everything past the commit point under our ballot, then a no-op; we serve
  // once that no-op is applied (everything chosen before us is then applied here too).
  for (auto& [s, e] : reprop) {
    r.log[s] = {ballot, e};
    r.inflight[s].done = Completion<bool>(node_->sim());
    r.inflight[s].sent = t0.earliest;
    if (e.ts > 0) {
      r.pending_ts.insert(e.ts);
    }
    std::string rec = encode_accept(s, ballot, e);
    node_->spawn([](Spanserver* self, int g, Slot slot, Ballot b, std::string record) -> Task<void> {
      Replica* rr = self->replica(g);
      if (rr == nullptr || !co_await self->persist(*rr, record)) {
        co_return;
      }
      if (rr->leader && rr->ballot == b) {
        auto it = rr->inflight.find(slot);
        if (it != rr->inflight.end()) {
          it->second.acks.insert(rr->index);
          self->advance_commit(*rr);
        }
      }
    }(this, group, s, ballot, std::move(rec)));
  }
  if (!reprop.empty()) {
    send_accepts(r, reprop);
  }
  Entry noop;
  noop.kind = EntryKind::kNoop;
  noop.ts = next_ts(r);
  bool ok = co_await propose(r, noop);
  Replica* again = replica(group);
  if (again == nullptr || !again->leader || again->ballot != ballot) {
    co_return;
  }
  if (!ok) {
    step_down(*again);
    co_return;
  }
  again->serving = true;
  relock_prepared(*again);
  again->changed.notify();
}

Task<void> Spanserver::leader_loop() {
  const auto& p = cluster_->params();
  for (;;) {
    co_await node_->sleep(p.lease_renew_interval);
    for (auto& [g, rp] : replicas_) {
      Replica& r = *rp;
      if (!r.leader) {
        continue;
      }
      if (!(tt().latest < r.lease_end)) {
        step_down(r);  // the lease lapsed: stop acting as leader at once
        continue;
      }
      // Lease renewal and MinNextTS in one no-op write.
      Entry noop;
      noop.kind = EntryKind::kNoop;
      noop.ts = next_ts(r);
      node_->spawn([](Spanserver* self, int group, Entry e) -> Task<void> {
        Replica* rr = self->replica(group);
        if (rr != nullptr) {
          co_await self->propose(*rr, e);
        }
      }(this, g, noop));
      // Transactions whose client went silent (no keepalive) give their locks back.
      std::vector<TxnId> stale;
      for (const auto& [id, t] : r.txns) {
        if (!t.committing && node_->sim().now() - t.last_seen > p.workload.txn_timeout * 2) {
          stale.push_back(id);
        }
      }
      for (TxnId id : stale) {
        wound(r, id);
        r.txns.erase(id);
      }
    }
  }
}

void Spanserver::hand_off(int group, int nominee) { node_->spawn(abdicate(group, nominee)); }

Task<void> Spanserver::abdicate(int group, int nominee) {
  const auto& p = cluster_->params();
  Replica* rp = replica(group);
  if (rp == nullptr || !rp->leader) {
    co_return;
  }
  Ballot ballot = rp->ballot;
  Timestamp s_max = std::max(rp->s_max, rp->last_ts);
  step_down(*rp);
  rp->no_campaign_until = tt().latest + p.lease;
  // A leader abdicates only once TT.after(s_max): every timestamp it handed out is past.
  while (!tt_after(s_max)) {
    co_await node_->sleep(Duration::millis(1));
  }
  const auto& peers = cluster_->replicas(group);
  for (std::size_t i = 0; i < peers.size(); ++i) {
    if (static_cast<int>(i) != rp->index) {
      node_->call(peers[i], Payload::make<ReleaseReq>(ReleaseReq{group, ballot}), kSmallBytes,
                  p.rpc_timeout, [](RpcResult) {});
    }
  }
  // The nominee: the one asked for, else the first replica outside this zone.
  world::ZoneId here = cluster_->zone_of(node_->id());
  for (std::size_t i = 0; i < peers.size(); ++i) {
    if (nominee >= 0 ? static_cast<int>(i) == nominee : cluster_->zone_of(peers[i]) != here) {
      node_->call(peers[i], Payload::make<CampaignReq>(CampaignReq{group}), kSmallBytes,
                  p.rpc_timeout, [](RpcResult) {});
      break;
    }
  }
}

// --- phase 2 ------------------------------------------------------------------------------------

Task<bool> Spanserver::propose(Replica& r, const Entry& e) {
  const auto& p = cluster_->params();
  if (!r.leader) {
    co_return false;
  }
  int group = r.group;
  Ballot ballot = r.ballot;
  Slot slot = r.next_slot++;
  r.log[slot] = {ballot, e};
  auto& inf = r.inflight[slot];
  inf.done = Completion<bool>(node_->sim());
  TimeBounds sent = tt();
  inf.sent = sent.earliest;
  // The leader is an acceptor too: its own vote follows its writes.
  r.vote_ballot = ballot;
  r.vote_until = sent.latest + p.lease;
  Completion<bool> done = *inf.done;
  if (e.ts > 0) {
    r.pending_ts.insert(e.ts);
  }
  send_accepts(r, {{slot, e}});
  std::string accept_record = encode_accept(slot, ballot, e);
  if (co_await persist(r, accept_record)) {
    Replica* rr = replica(group);
    if (rr != nullptr && rr->leader && rr->ballot == ballot) {
      auto it = rr->inflight.find(slot);
      if (it != rr->inflight.end()) {
        it->second.acks.insert(rr->index);
        advance_commit(*rr);
      }
    }
  }
  auto v = co_await done.wait_for(p.rpc_timeout * 4);
  co_return v.has_value() && *v;
}

void Spanserver::send_accepts(Replica& r, std::vector<std::pair<Slot, Entry>> entries,
                              int only_peer) {
  const auto& p = cluster_->params();
  const auto& peers = cluster_->replicas(r.group);
  std::vector<Slot> slots;
  std::uint64_t bytes = kSmallBytes;
  for (const auto& [s, e] : entries) {
    slots.push_back(s);
    bytes += write_bytes(e.writes);
  }
  auto req = Payload::make<AcceptReq>(AcceptReq{r.group, r.ballot, std::move(entries), r.applied});
  for (int i = 0; i < static_cast<int>(peers.size()); ++i) {
    if (i == r.index || (only_peer >= 0 && i != only_peer)) {
      continue;
    }
    node_->call(peers[i], req, bytes, p.rpc_timeout,
                [this, g = r.group, b = r.ballot, i, slots](RpcResult res) {
                  on_accepted(g, b, i, slots, res);
                });
  }
}

void Spanserver::on_accepted(int group, Ballot ballot, int peer, const std::vector<Slot>& slots,
                             const RpcResult& res) {
  Replica* rp = replica(group);
  if (rp == nullptr || !rp->leader || rp->ballot != ballot || !res.ok()) {
    return;
  }
  Replica& r = *rp;
  const Resp* resp = res.payload.get<Resp>();
  if (resp == nullptr) {
    return;
  }
  if (resp->st != St::kOk) {
    if (resp->promised > ballot) {
      r.promised = std::max(r.promised, resp->promised);
      step_down(r);
    }
    return;
  }
  for (Slot s : slots) {
    auto it = r.inflight.find(s);
    if (it != r.inflight.end()) {
      it->second.acks.insert(peer);
    }
  }
  advance_commit(r);
  // Catch-up: a follower that has applied less than we know is chosen gets those slots again,
  // under our ballot (they are chosen values, so re-proposing them is safe).
  if (resp->applied < r.applied) {
    std::vector<std::pair<Slot, Entry>> missing;
    for (auto it = r.log.upper_bound(resp->applied); it != r.log.end() && it->first <= r.applied &&
                                                     missing.size() < 64;
         ++it) {
      missing.emplace_back(it->first, it->second.second);
    }
    if (!missing.empty()) {
      send_accepts(r, std::move(missing), peer);
    }
  }
}

void Spanserver::advance_commit(Replica& r) {
  const auto& peers = cluster_->replicas(r.group);
  (void)peers;
  bool progressed = false;
  for (;;) {
    auto it = r.inflight.find(r.applied + 1);
    if (it == r.inflight.end() || !r.majority(it->second.acks.size())) {
      break;
    }
    Slot s = it->first;
    Completion<bool> done = *it->second.done;
    // A write acknowledged by a majority extends the lease (Spanner §4.1.2).
    r.lease_end = std::max(r.lease_end, it->second.sent + cluster_->params().lease);
    r.commit_known = std::max(r.commit_known, s);
    const Entry& e = r.log.at(s).second;
    if (e.ts > 0) {
      auto pt = r.pending_ts.find(e.ts);
      if (pt != r.pending_ts.end()) {
        r.pending_ts.erase(pt);
      }
    }
    apply(r, s, e);
    r.inflight.erase(it);
    done.set(true);
    progressed = true;
  }
  if (progressed) {
    r.changed.notify();
  }
}

void Spanserver::apply_up_to(Replica& r, Slot upto, Ballot only_ballot) {
  bool progressed = false;
  while (r.applied < upto) {
    auto it = r.log.find(r.applied + 1);
    if (it == r.log.end() || it->second.first != only_ballot) {
      break;
    }
    apply(r, it->first, it->second.second);
    progressed = true;
  }
  if (progressed) {
    r.changed.notify();
  }
}

void Spanserver::apply(Replica& r, Slot slot, const Entry& e) {
  FAULTLINE_ASSERT(slot == r.applied + 1, "slots apply in order");
  r.applied = slot;
  cluster_->invariants().chosen(r.group, slot, e.digest(), node_->sim().now());
  auto put = [&r](const Writes& writes, Timestamp ts) {
    for (const auto& [k, v] : writes) {
      auto& vs = r.versions[k];
      auto pos = std::upper_bound(vs.begin(), vs.end(), ts,
                                  [](Timestamp t, const auto& x) { return t < x.first; });
      vs.insert(pos, {ts, v});
    }
    r.last_commit_ts = std::max(r.last_commit_ts, ts);
    r.max_applied_ts = std::max(r.max_applied_ts, ts);
  };
  switch (e.kind) {
    case EntryKind::kCommit:
      if (!r.decided.contains(e.txn)) {
        r.decided[e.txn] = e.ts;
        put(e.writes, e.ts);
      }
      break;
    case EntryKind::kPrepare:
      if (!r.decided.contains(e.txn)) {
        r.prepared[e.txn] = {e.ts, e.writes, e.reads, e.coordinator, node_->sim().now()};
      }
      break;
    case EntryKind::kResolve: {
      auto it = r.prepared.find(e.txn);
      if (it != r.prepared.end()) {
        put(it->second.writes, e.ts);
        r.prepared.erase(it);
        r.decided[e.txn] = e.ts;
      }
      break;
    }
    case EntryKind::kAbort:
      if (!r.decided.contains(e.txn)) {
        r.decided[e.txn] = std::nullopt;
      }
      r.prepared.erase(e.txn);
      break;
    case EntryKind::kNoop:
      r.max_applied_ts = std::max(r.max_applied_ts, e.ts);
      break;
    case EntryKind::kStage:
    case EntryKind::kMoveOut:
    case EntryKind::kMoveIn:
      apply_move(r, e);
      break;
  }
}

// --- locks --------------------------------------------------------------------------------------

void Spanserver::release_locks(Replica& r, TxnId txn) {
  auto it = r.txns.find(txn);
  if (it == r.txns.end()) {
    return;
  }
  for (const auto& k : it->second.keys) {
    auto lk = r.locks.find(k);
    if (lk == r.locks.end()) {
      continue;
    }
    lk->second.readers.erase(txn);
    if (lk->second.writer == txn) {
      lk->second.writer = 0;
    }
    if (lk->second.readers.empty() && lk->second.writer == 0) {
      r.locks.erase(lk);
    }
  }
  it->second.keys.clear();
  r.changed.notify();
}

void Spanserver::wound(Replica& r, TxnId txn) {
  auto it = r.txns.find(txn);
  if (it == r.txns.end() || it->second.committing) {
    return;
  }
  it->second.aborted = true;
  release_locks(r, txn);
  node_->sim().metrics().counter("spanner.wounds").inc();
}

Task<bool> Spanserver::lock(Replica& r, TxnId txn, Timestamp priority, const std::string& key,
                            bool write) {
  const auto& p = cluster_->params();
  Time deadline = node_->sim().now() + p.rpc_timeout;
  int group = r.group;
  Ballot ballot = r.ballot;
  for (;;) {
    Replica* rp = replica(group);
    if (rp == nullptr || !rp->leader || rp->ballot != ballot) {
      co_return false;
    }
    auto& t = rp->txns[txn];
    if (t.aborted) {
      co_return false;
    }
    auto& lk = rp->locks[key];
    std::vector<TxnId> holders;
    if (lk.writer != 0 && lk.writer != txn) {
      holders.push_back(lk.writer);
    }
    if (write) {
      for (TxnId h : lk.readers) {
        if (h != txn) {
          holders.push_back(h);
        }
      }
    }
    if (holders.empty()) {
      if (write) {
        lk.writer = txn;
      } else {
        lk.readers.insert(txn);
      }
      t.keys.insert(key);
      co_return true;
    }
    // Wound-wait: an older transaction wounds (aborts) younger holders; a younger one waits.
    bool wounded = false;
    for (TxnId h : holders) {
      auto ht = rp->txns.find(h);
      bool older = ht == rp->txns.end() || priority < ht->second.priority ||
                   (priority == ht->second.priority && txn < h);
      if (older && (ht == rp->txns.end() || !ht->second.committing)) {
        if (ht == rp->txns.end()) {
          // A holder without a record cannot exist; clear it defensively.
          lk.readers.erase(h);
          if (lk.writer == h) {
            lk.writer = 0;
          }
        } else {
          wound(*rp, h);
        }
        wounded = true;
      }
    }
    if (wounded) {
      continue;
    }
    Duration left = deadline - node_->sim().now();
    if (left <= Duration::zero()) {
      co_return false;
    }
    co_await rp->changed.wait(left);
  }
}

// --- reads --------------------------------------------------------------------------------------

std::optional<std::int64_t> Spanserver::read_version(const Replica& r, const std::string& key,
                                                     Timestamp ts) const {
  auto it = r.versions.find(key);
  if (it == r.versions.end()) {
    return std::nullopt;
  }
  std::optional<std::int64_t> out;
  for (const auto& [t, v] : it->second) {
    if (t > ts) {
      break;
    }
    out = v;
  }
  return out;
}

Task<bool> Spanserver::wait_safe(Replica& r, Timestamp ts, bool at_leader) {
  const auto& p = cluster_->params();
  Time deadline = node_->sim().now() + p.rpc_timeout;
  int group = r.group;
  for (;;) {
    Replica* rp = replica(group);
    if (rp == nullptr || (at_leader && !has_lease(*rp))) {
      co_return false;
    }
    Timestamp min_prepared = std::numeric_limits<Timestamp>::max();
    for (const auto& [id, pr] : rp->prepared) {
      min_prepared = std::min(min_prepared, pr.ts);
    }
    bool safe = false;
    if (at_leader) {
      // The leader knows every timestamp it has handed out: wait for those at or below ts.
      bool pending = !rp->pending_ts.empty() && *rp->pending_ts.begin() <= ts;
      safe = !pending && min_prepared > ts;
    } else {
      Timestamp t_safe = std::min(rp->max_applied_ts, min_prepared - 1);
      safe = t_safe >= ts;
    }
    if (safe) {
      co_return true;
    }
    Duration left = deadline - node_->sim().now();
    if (left <= Duration::zero()) {
      co_return false;
    }
    co_await rp->changed.wait(left);
  }
}

Task<void> Spanserver::commit_wait(Timestamp ts) {
  while (!tt_after(ts)) {
    Duration d = Duration::nanos(ts - tt().earliest.unix_ns() + 1);
    co_await node_->sleep(std::max(d, Duration::micros(1)));
  }
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
    if (Replica* r = replica(q->group); r != nullptr && r->vote_ballot == q->ballot) {
      r->vote_until = UtcInstant{};
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

Task<Reply> Spanserver::on_prepare_ballot(PrepareBallotReq req) {
  Replica* r = replica(req.group);
  Resp resp;
  if (r == nullptr) {
    co_return make_reply(resp);
  }
  TimeBounds now = tt();
  bool vote_held = r->vote_ballot >= 0 && !(now.earliest > r->vote_until) &&
                   (r->vote_ballot % kBallotStride) != (req.ballot % kBallotStride);
  if (req.ballot <= r->promised || vote_held) {
    resp.st = St::kRetry;
    resp.promised = r->promised;
    co_return make_reply(std::move(resp));
  }
  if (r->leader) {
    step_down(*r);
  }
  r->promised = req.ballot;
  r->vote_ballot = req.ballot;
  r->vote_until = now.latest + cluster_->params().lease;
  Ballot promised = req.ballot;
  std::string promise_record = fmt::format("P {}\n", promised);
  if (!co_await persist(*r, promise_record)) {
    co_return status_reply(St::kRetry);
  }
  r = replica(req.group);
  resp.st = St::kOk;
  for (auto it = r->log.upper_bound(req.from); it != r->log.end(); ++it) {
    resp.entries.emplace_back(it->first, it->second);
  }
  co_return make_reply(std::move(resp));
}

Task<Reply> Spanserver::on_accept(AcceptReq req) {
  Replica* r = replica(req.group);
  Resp resp;
  if (r == nullptr) {
    co_return make_reply(resp);
  }
  if (req.ballot < r->promised) {
    resp.st = St::kRetry;
    resp.promised = r->promised;
    co_return make_reply(std::move(resp));
  }
  if (r->leader && r->ballot != req.ballot) {
    step_down(*r);
  }
  std::string records;
  if (req.ballot > r->promised) {
    r->promised = req.ballot;
    records += fmt::format("P {}\n", req.ballot);
  }
  // Accepting from the leader renews our lease vote for it (a write extends the lease).
  r->vote_ballot = req.ballot;
  r->vote_until = tt().latest + cluster_->params().lease;
  for (const auto& [s, e] : req.entries) {
    if (s <= r->applied) {
      continue;
    }
    r->log[s] = {req.ballot, e};
    records += encode_accept(s, req.ballot, e);
  }
  if (!records.empty() && !co_await persist(*r, records)) {
    co_return status_reply(St::kRetry);
  }
  r = replica(req.group);
  if (r->promised > req.ballot) {
    resp.st = St::kRetry;
    resp.promised = r->promised;
    co_return make_reply(std::move(resp));
  }
  r->commit_known = std::max(r->commit_known, req.commit);
  if (!r->leader) {
    apply_up_to(*r, r->commit_known, req.ballot);
  }
  resp.st = St::kOk;
  resp.applied = r->applied;
  co_return make_reply(std::move(resp));
}

Task<Reply> Spanserver::on_read_lock(ReadLockReq req) {
  Replica* r = replica(req.group);
  if (r == nullptr || !has_lease(*r)) {
    co_return not_leader(r);
  }
  auto& t = r->txns[req.txn];
  t.priority = req.priority;
  t.last_seen = node_->sim().now();
  for (const auto& k : req.keys) {
    bool ok = co_await lock(*r, req.txn, req.priority, k, false);
    r = replica(req.group);
    if (!ok) {
      if (r != nullptr) {
        release_locks(*r, req.txn);
      }
      co_return status_reply(St::kAborted);
    }
  }
  if (!has_lease(*r)) {
    co_return not_leader(r);
  }
  // Checked under the locks: a directory moves only while its mover holds every key's lock.
  if (!r->owns_all(req.keys)) {
    release_locks(*r, req.txn);
    co_return status_reply(St::kMoved);
  }
  Resp resp;
  resp.st = St::kOk;
  for (const auto& k : req.keys) {
    resp.values.push_back(read_version(*r, k, std::numeric_limits<Timestamp>::max()));
  }
  acted(*r, 0);
  co_return make_reply(std::move(resp));
}

Task<Reply> Spanserver::on_commit(CommitReq req) {
  const auto& p = cluster_->params();
  Replica* r = replica(req.group);
  if (r == nullptr || !has_lease(*r)) {
    co_return not_leader(r);
  }
  const auto n = static_cast<std::int64_t>(req.participants.size() + 1);
  const Duration coordination =
      (p.coordinator_cpu_per_participant + p.coordinator_cpu_per_participant_pair * n) * n;
  if (!req.participants.empty() && coordination > Duration::zero()) {
    // The coordinator handles every participant's prepare and outcome, one after another.
    co_await node_->compute(coordination);
    r = replica(req.group);
    if (r == nullptr || !has_lease(*r)) {
      co_return not_leader(r);
    }
  }
  Ballot ballot = r->ballot;
  // The read locks this transaction took here must still be held (a new leader has none).
  auto known = r->txns.find(req.txn);
  if (!req.read_keys.empty()) {
    if (known == r->txns.end() || known->second.aborted) {
      co_return status_reply(St::kAborted);
    }
    for (const auto& k : req.read_keys) {
      auto lk = r->locks.find(k);
      if (lk == r->locks.end() || (!lk->second.readers.contains(req.txn) && lk->second.writer != req.txn)) {
        co_return status_reply(St::kAborted);
      }
    }
  }
  auto& t = r->txns[req.txn];
  t.priority = req.priority;
  t.last_seen = node_->sim().now();
  for (const auto& [k, v] : req.writes) {
    bool ok = co_await lock(*r, req.txn, req.priority, k, true);
    r = replica(req.group);
    if (!ok) {
      if (r != nullptr) {
        release_locks(*r, req.txn);
        r->txns.erase(req.txn);
      }
      co_return status_reply(St::kAborted);
    }
  }
  if (!has_lease(*r) || r->ballot != ballot) {
    co_return not_leader(r);
  }
  if (!r->owns_all(req.writes) || !r->owns_all(req.read_keys)) {
    release_locks(*r, req.txn);
    r->txns.erase(req.txn);
    co_return status_reply(St::kMoved);
  }
  auto& txn = r->txns[req.txn];
  if (txn.aborted) {
    release_locks(*r, req.txn);
    r->txns.erase(req.txn);
    co_return status_reply(St::kAborted);
  }
  txn.committing = true;
  Entry e;
  e.txn = req.txn;
  e.writes = req.writes;
  e.coordinator = req.coordinator;
  if (req.prepare_only) {
    e.reads = req.read_keys;
  }
  Timestamp ts = next_ts(*r);
  if (req.min_ts >= ts) {
    ts = req.min_ts + (req.prepare_only ? 1 : 0);
    ts = std::max(ts, r->last_ts);
    r->last_ts = ts;
  }
  // A timestamp past the lease could collide with the next leader's: refuse it.
  if (ts >= r->lease_end.unix_ns()) {
    co_return status_reply(St::kRetry);
  }
  e.ts = ts;
  e.kind = req.prepare_only ? EntryKind::kPrepare : EntryKind::kCommit;
  acted(*r, ts);
  Time chosen_at = node_->sim().now();
  TimeBounds at_choice = tt();
  bool ok = co_await propose(*r, e);
  Replica* rr = replica(req.group);
  if (!ok || rr == nullptr) {
    // Unknown: the entry may yet be chosen by the next leader.
    co_return status_reply(St::kPending);
  }
  if (req.prepare_only) {
    Resp resp;
    resp.st = St::kOk;
    resp.ts = ts;
    co_return make_reply(std::move(resp));
  }
  // The first decision logged for the transaction wins (an abort may have been logged first).
  auto d = rr->decided.find(req.txn);
  bool committed = d != rr->decided.end() && d->second.has_value() && *d->second == ts;
  Time paxos_done = node_->sim().now();
  if (committed && p.commit_wait) {
    co_await commit_wait(ts);
    TimeBounds at_end = tt();
    Duration waited = node_->sim().now() - chosen_at;
    Duration bound = at_choice.epsilon() + at_end.epsilon();
    auto& m = node_->sim().metrics();
    m.histogram("spanner.commit_wait").record(waited);
    m.histogram("spanner.commit_wait_after_paxos").record(node_->sim().now() - paxos_done);
    std::string zone = cluster_->world().topology().name(node_->host().zone());
    m.histogram("spanner.commit_wait/" + zone).record(waited);
    cluster_->note_commit_wait(waited, bound);
  }
  rr = replica(req.group);
  if (rr != nullptr) {
    release_locks(*rr, req.txn);
    rr->txns.erase(req.txn);
  }
  if (!req.participants.empty()) {
    send_resolves(req.group, req.txn, req.participants,
                  committed ? std::optional<Timestamp>(ts) : std::nullopt);
  }
  Resp resp;
  resp.st = committed ? St::kOk : St::kAborted;
  resp.ts = ts;
  co_return make_reply(std::move(resp));
}

void Spanserver::send_resolves(int coordinator_group, TxnId txn, const std::vector<int>& participants,
                               std::optional<Timestamp> ts) {
  (void)coordinator_group;
  for (int g : participants) {
    for (NodeId n : cluster_->replicas(g)) {
      node_->call(n, Payload::make<ResolveReq>(ResolveReq{g, txn, ts.has_value(), ts.value_or(0)}),
                  kSmallBytes, cluster_->params().rpc_timeout, [](RpcResult) {});
    }
  }
}

Task<Reply> Spanserver::on_resolve(ResolveReq req) {
  Replica* r = replica(req.group);
  if (r == nullptr || !has_lease(*r)) {
    co_return not_leader(r);
  }
  if (!r->prepared.contains(req.txn)) {
    co_return status_reply(St::kOk);
  }
  Entry e;
  e.kind = req.commit ? EntryKind::kResolve : EntryKind::kAbort;
  e.txn = req.txn;
  e.ts = req.commit ? req.ts : 0;
  if (req.commit) {
    r->last_ts = std::max(r->last_ts, req.ts);
  }
  bool ok = co_await propose(*r, e);
  Replica* rr = replica(req.group);
  if (ok && rr != nullptr) {
    release_locks(*rr, req.txn);
    rr->txns.erase(req.txn);
  }
  co_return status_reply(ok ? St::kOk : St::kRetry);
}

Task<Reply> Spanserver::on_status(StatusReq req) {
  Replica* r = replica(req.group);
  if (r == nullptr || !has_lease(*r)) {
    co_return not_leader(r);
  }
  auto d = r->decided.find(req.txn);
  if (d == r->decided.end()) {
    auto t = r->txns.find(req.txn);
    if (t != r->txns.end() && t->second.committing) {
      co_return status_reply(St::kPending);
    }
    // Nobody is committing it here: decide abort, durably, so it can never commit later.
    Entry e;
    e.kind = EntryKind::kAbort;
    e.txn = req.txn;
    if (t != r->txns.end()) {
      wound(*r, req.txn);
    }
    bool ok = co_await propose(*r, e);
    r = replica(req.group);
    if (!ok || r == nullptr) {
      co_return status_reply(St::kRetry);
    }
    d = r->decided.find(req.txn);
    if (d == r->decided.end()) {
      co_return status_reply(St::kRetry);
    }
  }
  Resp resp;
  resp.st = d->second.has_value() ? St::kOk : St::kAborted;
  resp.ts = d->second.value_or(0);
  co_return make_reply(std::move(resp));
}

Task<void> Spanserver::in_doubt_loop() {
  const auto& p = cluster_->params();
  for (;;) {
    co_await node_->sleep(p.in_doubt_timeout);
    std::vector<std::pair<int, std::pair<TxnId, int>>> ask;
    for (auto& [g, rp] : replicas_) {
      if (!has_lease(*rp)) {
        continue;
      }
      for (const auto& [id, pr] : rp->prepared) {
        if (node_->sim().now() - pr.since >= p.in_doubt_timeout) {
          ask.push_back({g, {id, pr.coordinator}});
        }
      }
    }
    for (const auto& [g, q] : ask) {
      ask_coordinator(g, q.first, q.second);
    }
  }
}

void Spanserver::ask_coordinator(int group, TxnId txn, int coordinator) {
  if (coordinator < 0) {
    return;
  }
  for (NodeId n : cluster_->replicas(coordinator)) {
    node_->call(n, Payload::make<StatusReq>(StatusReq{coordinator, txn}), kSmallBytes,
                cluster_->params().rpc_timeout, [this, group, txn](RpcResult res) {
                  const Resp* resp = res.ok() ? res.payload.get<Resp>() : nullptr;
                  if (resp == nullptr || (resp->st != St::kOk && resp->st != St::kAborted)) {
                    return;
                  }
                  ResolveReq rq{group, txn, resp->st == St::kOk, resp->ts};
                  node_->spawn([](Spanserver* self, ResolveReq q) -> Task<void> {
                    co_await self->on_resolve(q);
                  }(this, rq));
                });
  }
}

Task<Reply> Spanserver::on_abort(AbortReq req) {
  Replica* r = replica(req.group);
  if (r == nullptr || !has_lease(*r)) {
    co_return not_leader(r);
  }
  auto t = r->txns.find(req.txn);
  if (t != r->txns.end() && !t->second.committing) {
    wound(*r, req.txn);
    r->txns.erase(req.txn);
  }
  // A prepared participant cannot abort on its own: it asks the coordinator now (which
  // decides abort unless it is committing) instead of waiting for the in-doubt timeout.
  if (auto pr = r->prepared.find(req.txn); pr != r->prepared.end()) {
    ask_coordinator(req.group, req.txn, pr->second.coordinator);
  }
  co_return status_reply(St::kOk);
}

Task<Reply> Spanserver::on_read_at(ReadAtReq req) {
  Replica* r = replica(req.group);
  if (r == nullptr) {
    co_return not_leader(r);
  }
  bool at_leader = has_lease(*r);
  if (!at_leader && !req.any_replica) {
    co_return not_leader(r);
  }
  Timestamp ts = req.ts;
  if (at_leader) {
    if (ts == 0) {
      // LastTS() when nothing is prepared or in flight; otherwise read "now" and wait.
      bool quiet = r->prepared.empty() && r->pending_ts.empty();
      ts = quiet ? r->last_commit_ts : tt().latest.unix_ns();
    }
    if (ts >= r->lease_end.unix_ns()) {
      co_return status_reply(St::kRetry);
    }
    // No write this leader assigns from now on may get a timestamp at or below ts.
    r->last_ts = std::max(r->last_ts, ts);
    acted(*r, ts);
  }
  if (!r->owns_all(req.keys)) {
    co_return status_reply(St::kMoved);
  }
  bool ok = co_await wait_safe(*r, ts, at_leader);
  r = replica(req.group);
  if (!ok || r == nullptr) {
    co_return status_reply(St::kRetry);
  }
  // A move out applied while this read waited: the versions are gone from here.
  if (!r->owns_all(req.keys)) {
    co_return status_reply(St::kMoved);
  }
  // Commit wait's promise: no one sees a write before TT.after(its timestamp). A version at or
  // below ts may be applied while its writer still waits; the read waits with it.
  Timestamp newest = 0;
  for (const auto& k : req.keys) {
    if (auto it = r->versions.find(k); it != r->versions.end()) {
      for (const auto& [t, v] : it->second) {
        if (t <= ts) {
          newest = std::max(newest, t);
        }
      }
    }
  }
  if (cluster_->params().commit_wait) {
    co_await commit_wait(newest);
  }
  r = replica(req.group);
  if (r == nullptr) {
    co_return status_reply(St::kRetry);
  }
  Resp resp;
  resp.st = St::kOk;
  resp.ts = ts;
  for (const auto& k : req.keys) {
    resp.values.push_back(read_version(*r, k, ts));
  }
  co_return make_reply(std::move(resp));
}

}  // namespace faultline::sim::spanner
