// The spanserver's leader-side concurrency control: the lock table (wound-wait), safe time and
// reads at a timestamp, commit wait, and the transaction manager (single-group commits and
// two-phase commit as coordinator or participant).
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
  return r.value_at(key, ts);
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
      // LastTS() when nothing is prepared (§4.2.2): writes still in Paxos or commit wait have
      // timestamps above it and have not completed, so the read may miss them. With a
      // prepared transaction, read "now" and wait for safe time.
      ts = r->prepared.empty() ? r->last_commit_ts : tt().latest.unix_ns();
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
    newest = std::max(newest, r->version_ts_at(k, ts));
  }
  if (cluster_->params().commit_wait) {
    co_await commit_wait(newest);
  }
  r = replica(req.group);
  if (r == nullptr) {
    co_return status_reply(St::kRetry);
  }
  // Snapshot too old: what a read at ts would see may be garbage-collected here, so it fails
  // (Cloud Spanner refuses reads before earliest_version_time the same way).
  if (ts < r->gc_before) {
    co_return status_reply(St::kAborted);
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
