// The spanserver's Multi-Paxos: elections with leader leases, the leader's no-op loop, hand-off
// (abdication), pipelined phase 2, in-order apply, and the acceptor's handlers for phase 1 and 2.
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
    preempted(*again);
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
  co_await release_votes(group, ballot, s_max);
  rp = replica(group);
  if (rp == nullptr) {
    co_return;
  }
  const auto& peers = cluster_->replicas(group);
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

Task<void> Spanserver::release_votes(int group, Ballot ballot, Timestamp s_max) {
  const auto& p = cluster_->params();
  // Only once TT.after(s_max): every timestamp this leader handed out is then past, so the next
  // leader's are above them.
  while (!tt_after(s_max)) {
    co_await node_->sleep(Duration::millis(1));
  }
  Replica* rp = replica(group);
  if (rp == nullptr || (rp->leader && rp->ballot == ballot)) {
    co_return;
  }
  // The leader is an acceptor too: its own lease vote for itself goes with the rest. Its
  // accepts still in flight must not grant the lease again (released, checked in on_accept).
  rp->released = std::max(rp->released, ballot);
  if (rp->vote_ballot == ballot) {
    rp->vote_until = UtcInstant{};
  }
  const auto& peers = cluster_->replicas(group);
  for (std::size_t i = 0; i < peers.size(); ++i) {
    if (static_cast<int>(i) != rp->index) {
      node_->call(peers[i], Payload::make<ReleaseReq>(ReleaseReq{group, ballot}), kSmallBytes,
                  p.rpc_timeout, [](RpcResult) {});
    }
  }
}

void Spanserver::preempted(Replica& r) {
  if (!r.leader) {
    return;
  }
  Ballot ballot = r.ballot;
  Timestamp s_max = std::max(r.s_max, r.last_ts);
  step_down(r);
  node_->spawn(release_votes(r.group, ballot, s_max));
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
      // Another replica ran phase 1 with a higher ballot; whether or not it won, this leader's
      // accepts are refused there from now on. It stops, and releases the lease votes granted
      // to it: a candidate that lost its election (it had only its own vote) would otherwise
      // leave the group leaderless until those votes lapse, up to a whole lease.
      r.promised = std::max(r.promised, resp->promised);
      preempted(r);
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
  const Duration gc_horizon = cluster_->params().version_gc_horizon;
  auto put = [&r, gc_horizon](const Writes& writes, Timestamp ts) {
    r.last_commit_ts = std::max(r.last_commit_ts, ts);
    r.max_applied_ts = std::max(r.max_applied_ts, ts);
    r.advance_gc(gc_horizon);
    for (const auto& [k, v] : writes) {
      r.put_version(k, ts, v);
    }
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
      r.advance_gc(gc_horizon);
      break;
    case EntryKind::kStage:
    case EntryKind::kMoveOut:
    case EntryKind::kMoveIn:
      apply_move(r, e);
      break;
  }
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
  // Accepting from the leader renews our lease vote for it (a write extends the lease), unless
  // that leader has abdicated: its accepts sent before the release can arrive after it (they
  // are larger, so slower), and renewing the vote then would hold the nominee off for a whole
  // lease while no one leads the group.
  if (req.ballot > r->released) {
    r->vote_ballot = req.ballot;
    r->vote_until = tt().latest + cluster_->params().lease;
  }
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

}  // namespace faultline::sim::spanner
