// The ledger's nodes: a Postgres-like leader with a serial executor and group commit, WAL
// segments fsynced on the host's disk, standbys fed by WAL shipping (synchronous or not), the
// failover monitor, and the client side every other node uses (ledger_txn).
//
// Durability: a transaction's reply leaves only after its WAL record (and those before it) is
// fsynced on the leader and, when synchronous, on `sync_acks` standbys. Records are applied to
// the in-memory tables at execution, so a later transaction may read an earlier one's writes
// before they are durable (as Postgres lets a session see commits a synchronous standby has
// not confirmed yet); its own reply waits for the same or a later flush, so no client sees
// anything that a crash can take back, except under asynchronous replication after failover.
//
// Restart: a node reads its WAL (the segments from its base on, each to its last whole
// record) and asks the monitor who leads. If it still leads, it goes on; otherwise it copies
// the leader's WAL (a base backup, as pg_basebackup / pg_rewind would) and follows, so records
// it wrote that the new leader never had are discarded.
#include "internal.hpp"

#include <faultline/probe.hpp>

#include <faultline/world/disk.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <deque>

namespace faultline::sim::stripe::detail {

// Code probes (docs/cli.md, "Fault coverage"): recovery paths a sweep should reach.
const ProbePoint kProbePromoted("stripe/ledger/standby-promoted");

using world::Message;
using world::Node;
using world::Payload;
using world::Responder;
using world::RpcResult;
using world::RpcStatus;

namespace {

/// Wakes one waiting coroutine; a waiter re-checks its condition before waiting again, so a
/// notification with nobody waiting is never needed. The wake-up passes the node's pause gate:
/// a notification that lands while the node is paused runs its waiter only on resume.
class Signal {
public:
  explicit Signal(Node& node) : node_(&node) {}
  void notify() {
    if (c_) {
      c_->set(true);
    }
  }
  Task<void> wait() {
    Completion<bool> c = c_.emplace(node_->sim());
    co_await c.wait();
    PassGate gate(*node_);
    co_await gate;
  }

private:
  Node* node_;
  std::optional<Completion<bool>> c_;
};

}  // namespace

class LedgerProgram : public world::Program {
public:
  LedgerProgram(StripeCluster::State& s, int index, Node& node)
      : s_(s), index_(index), node_(node), flush_signal_(node), ack_signal_(node) {
    s_.ledgers[static_cast<std::size_t>(index_)] = this;
  }
  ~LedgerProgram() override { s_.ledgers[static_cast<std::size_t>(index_)] = nullptr; }

  const LedgerState& state() const { return state_; }
  Role role() const { return role_; }
  std::uint64_t epoch() const { return epoch_; }

  void start(Node& node) override {
    node.on_request([this](const Message& m, Responder r) { on_request(m, std::move(r)); });
    load();
    if (node.incarnation() == 1 && !had_meta_) {
      epoch_ = 1;
      leader_hint_ = 0;
      if (index_ == 0) {
        become_leader();
      } else {
        role_ = Role::kStandby;
      }
      node.spawn(persist_meta());
    } else {
      role_ = Role::kRecovering;
      node.spawn(recover());
    }
  }

private:
  std::int64_t now_ns() const { return node_.clock_now().unix_ns(); }
  world::Disk& disk() { return node_.host().disk(); }
  int peers() const { return static_cast<int>(s_.ledger_ids.size()); }

  // --- durable state -------------------------------------------------------------------------
  void load() {
    const std::string* meta = disk().read("meta");
    if (meta != nullptr) {
      // The last whole line "epoch base".
      std::size_t end = meta->rfind('\n');
      if (end != std::string::npos) {
        std::size_t begin = meta->rfind('\n', end == 0 ? 0 : end - 1);
        begin = begin == std::string::npos || begin >= end ? 0 : begin + 1;
        unsigned long long e = 0;
        unsigned long long b = 0;
        if (std::sscanf(meta->substr(begin, end - begin).c_str(), "%llu %llu", &e, &b) == 2) {
          epoch_ = e;
          base_ = b;
          had_meta_ = true;
        }
      }
    }
    for (const std::string& f : disk().files()) {
      if (f.rfind("wal.", 0) != 0 || std::stoull(f.substr(4)) < base_) {
        continue;
      }
      read_segment(*disk().read(f));
    }
    durable_lsn_ = state_.lsn();
    segment_ = fmt::format("wal.{:09}", node_.incarnation() * 1000);
  }

  void read_segment(std::string_view wal) {
    std::size_t pos = 0;
    while (pos < wal.size()) {
      const auto nl = wal.find('\n', pos);
      if (nl == std::string_view::npos) {
        break;
      }
      const std::string_view line = wal.substr(pos, nl + 1 - pos);
      auto rec = decode_record(line);
      if (!rec || rec->first != state_.lsn() + 1) {
        break;  // a torn tail, or the end of what this segment adds
      }
      for (const RowWrite& w : rec->second) {
        state_.apply(w);
      }
      state_.set_lsn(rec->first);
      records_.push_back(std::make_shared<const std::string>(line));
      durable_at_.push_back(node_.sim().now());
      pos = nl + 1;
    }
  }

  Task<void> persist_meta() {
    co_await append_durably(node_, "meta", fmt::format("{} {}\n", epoch_, base_));
  }

  // --- requests ------------------------------------------------------------------------------
  void on_request(const Message& m, Responder r) {
    if (const auto* call = m.payload.get<LedgerCall>()) {
      if (role_ != Role::kLeader) {
        r.reply(Payload::make<LedgerAnswer>(LedgerAnswer{true, leader_hint_, {}}), kSmallBytes);
        return;
      }
      queue_.emplace_back(call->txn, std::move(r));
      if (!executing_) {
        executing_ = true;
        node_.spawn(execute());
      }
    } else if (const auto* rd = m.payload.get<LedgerRead>()) {
      if (role_ == Role::kRecovering || rd->txn.kind != TxnKind::kGetCharge) {
        r.reply(Payload::make<LedgerAnswer>(LedgerAnswer{true, leader_hint_, {}}), kSmallBytes);
        return;
      }
      node_.spawn(serve_read(rd->txn, std::move(r)));
    } else if (const auto* rep = m.payload.get<Replicate>()) {
      node_.spawn(on_replicate(*rep, std::move(r)));
    } else if (m.payload.get<Health>() != nullptr) {
      r.reply(Payload::make<HealthReply>(HealthReply{role_, epoch_, durable_lsn_}), kSmallBytes);
    } else if (const auto* pr = m.payload.get<Promote>()) {
      bool ok = role_ == Role::kStandby && pr->epoch > epoch_;
      if (ok) {
        epoch_ = pr->epoch;
        leader_hint_ = index_;
        FAULTLINE_PROBE(node_.sim(), kProbePromoted);
        become_leader();
        node_.spawn(persist_meta());
      }
      r.reply(Payload::make<Ack>(Ack{ok}), kSmallBytes);
    } else if (const auto* f = m.payload.get<Follow>()) {
      if (f->epoch >= epoch_) {
        epoch_ = f->epoch;
        leader_hint_ = f->leader;
        if (role_ == Role::kLeader && f->leader != index_) {
          step_down();
        }
      }
      r.reply(Payload::make<Ack>(), kSmallBytes);
    } else if (m.payload.get<Basebackup>() != nullptr) {
      BasebackupReply b;
      if (role_ == Role::kLeader) {
        b.epoch = epoch_;
        for (std::uint64_t i = 0; i < durable_lsn_; ++i) {
          b.wal += *records_[i];
        }
      }
      const auto bytes = b.wal.size() + kSmallBytes;
      r.reply(Payload::make<BasebackupReply>(std::move(b)), bytes);
    }
  }

  /// A hot-standby read (or one on the leader): the node's own tables, which on a standby may
  /// trail the leader. Read-only, so it needs no executor slot and no WAL.
  Task<void> serve_read(TxnRequest txn, Responder r) {
    co_await node_.compute(s_.p.ledger.txn_cpu);
    std::vector<RowWrite> writes;
    TxnReply reply = state_.execute(txn, now_ns(), writes);
    r.reply(Payload::make<LedgerAnswer>(LedgerAnswer{false, index_, std::move(reply)}),
            kSmallBytes);
  }

  // --- leader: serial executor, group commit, shipping ---------------------------------------
  void become_leader() {
    role_ = Role::kLeader;
    durable_lsn_ = state_.lsn();
    acked_.assign(static_cast<std::size_t>(peers()), 0);
    ship_signals_.clear();
    for (int i = 0; i < peers(); ++i) {
      ship_signals_.push_back(std::make_unique<Signal>(node_));
    }
    for (int i = 0; i < peers(); ++i) {
      if (i != index_) {
        node_.spawn(ship(i, epoch_));
      }
    }
    node_.spawn(flush(epoch_));
  }

  void step_down() {
    role_ = Role::kRecovering;
    // Transactions waiting for durability are left unanswered: their outcome is unknown to
    // the caller, who times out (a commit a new leader may or may not have).
    waiting_.clear();
    pending_text_.clear();
    for (auto& [txn, r] : queue_) {
      r.reply(Payload::make<LedgerAnswer>(LedgerAnswer{true, leader_hint_, {}}), kSmallBytes);
    }
    queue_.clear();
    flush_signal_.notify();
    ack_signal_.notify();
    for (auto& sig : ship_signals_) {
      sig->notify();
    }
    node_.spawn(recover());
  }

  Task<void> execute() {
    while (!queue_.empty()) {
      auto [txn, responder] = std::move(queue_.front());
      queue_.pop_front();
      co_await node_.compute(s_.p.ledger.txn_cpu);
      if (role_ != Role::kLeader) {
        responder.reply(Payload::make<LedgerAnswer>(LedgerAnswer{true, leader_hint_, {}}),
                        kSmallBytes);
        continue;
      }
      std::vector<RowWrite> writes;
      TxnReply reply = state_.execute(txn, now_ns(), writes);
      if (!writes.empty()) {
        const std::uint64_t lsn = state_.lsn() + 1;
        state_.set_lsn(lsn);
        records_.push_back(std::make_shared<const std::string>(encode_record(lsn, writes)));
        durable_at_.push_back(Time::max());
        pending_text_ += *records_.back();
        for (const RowWrite& w : writes) {
          if (w.kind == RowWrite::Kind::kPutOutbox) {
            pending_events_.push_back(w.event.event_id);
          }
        }
      }
      waiting_.push_back({std::move(responder), std::move(reply), state_.lsn(),
                          std::move(pending_events_)});
      pending_events_.clear();
      flush_signal_.notify();
    }
    executing_ = false;
  }

  std::uint64_t sync_acked() const {
    std::vector<std::uint64_t> a;
    for (int i = 0; i < peers(); ++i) {
      if (i != index_) {
        a.push_back(acked_[static_cast<std::size_t>(i)]);
      }
    }
    std::sort(a.rbegin(), a.rend());
    const auto k = static_cast<std::size_t>(s_.p.ledger.sync_acks);
    return a.size() >= k ? a[k - 1] : 0;
  }

  Task<void> flush(std::uint64_t epoch) {
    while (role_ == Role::kLeader && epoch_ == epoch) {
      if (waiting_.empty()) {
        co_await flush_signal_.wait();
        continue;
      }
      std::string text = std::move(pending_text_);
      pending_text_.clear();
      auto batch = std::move(waiting_);
      waiting_.clear();
      const std::uint64_t upto = batch.back().lsn;
      if (!text.empty()) {
        co_await append_durably(node_, segment_, std::move(text));
        if (role_ != Role::kLeader || epoch_ != epoch) {
          co_return;
        }
        for (std::uint64_t i = durable_lsn_; i < upto; ++i) {
          durable_at_[i] = node_.sim().now();
        }
        durable_lsn_ = std::max(durable_lsn_, upto);
        for (auto& sig : ship_signals_) {
          sig->notify();
        }
      }
      if (s_.p.ledger.synchronous) {
        while (sync_acked() < upto) {
          co_await ack_signal_.wait();
          if (role_ != Role::kLeader || epoch_ != epoch) {
            co_return;
          }
        }
      }
      for (auto& w : batch) {
        for (const std::string& e : w.events) {
          s_.committed.push_back({e, node_.sim().now()});
        }
        w.responder.reply(Payload::make<LedgerAnswer>(LedgerAnswer{false, index_, w.reply}),
                          kSmallBytes);
      }
      s_.counter("stripe/ledger/commits").inc(batch.size());
    }
  }

  Task<void> ship(int peer, std::uint64_t epoch) {
    const auto& lp = s_.p.ledger;
    auto& acked = acked_[static_cast<std::size_t>(peer)];
    while (role_ == Role::kLeader && epoch_ == epoch) {
      const std::uint64_t next = acked + 1;
      if (next > durable_lsn_) {
        co_await ship_signals_[static_cast<std::size_t>(peer)]->wait();
        continue;
      }
      std::uint64_t last = std::min(durable_lsn_, next + 199);
      if (!lp.synchronous && lp.async_lag > Duration::zero()) {
        const Time due = durable_at_[next - 1] + lp.async_lag;
        if (node_.sim().now() < due) {
          co_await node_.sleep(due - node_.sim().now());
          continue;
        }
        while (last > next && durable_at_[last - 1] + lp.async_lag > node_.sim().now()) {
          --last;
        }
      }
      Replicate msg{epoch, next, {}};
      std::uint64_t bytes = kSmallBytes;
      for (std::uint64_t i = next; i <= last; ++i) {
        msg.records.push_back(records_[i - 1]);
        bytes += lp.record_bytes;
      }
      Payload r_req = Payload::make<Replicate>(std::move(msg));
      RpcResult r = co_await node_.call(s_.ledger_ids[static_cast<std::size_t>(peer)], r_req,
                                        bytes, lp.replicate_timeout);
      if (role_ != Role::kLeader || epoch_ != epoch) {
        co_return;
      }
      const auto* ack = r.ok() ? r.payload.get<ReplicateAck>() : nullptr;
      if (ack == nullptr) {
        if (r.status == RpcStatus::kUnreachable) {
          co_await node_.sleep(lp.replicate_timeout);
        }
        continue;
      }
      if (ack->rejected) {
        step_down();
        co_return;
      }
      const std::uint64_t before = acked;
      acked = std::min(ack->lsn, durable_lsn_);
      ack_signal_.notify();
      if (acked <= before && acked < next) {
        co_await node_.sleep(lp.replicate_timeout);  // busy or recovering: try again later
      }
    }
  }

  // --- standby -------------------------------------------------------------------------------
  Task<void> on_replicate(Replicate req, Responder r) {
    auto answer = [&](bool rejected) {
      r.reply(Payload::make<ReplicateAck>(ReplicateAck{epoch_, state_.lsn(), rejected}),
              kSmallBytes);
    };
    if (req.epoch < epoch_) {
      answer(true);
      co_return;
    }
    if (role_ == Role::kLeader) {
      if (req.epoch > epoch_) {
        epoch_ = req.epoch;
        step_down();
      }
      r.reply(Payload::make<ReplicateAck>(ReplicateAck{epoch_, 0, false}), kSmallBytes);
      co_return;
    }
    if (role_ != Role::kStandby || applying_) {
      r.reply(Payload::make<ReplicateAck>(ReplicateAck{epoch_, 0, false}), kSmallBytes);
      co_return;
    }
    epoch_ = std::max(epoch_, req.epoch);
    if (req.first_lsn > state_.lsn() + 1) {
      answer(false);  // a gap: the leader resends from our lsn
      co_return;
    }
    std::string text;
    std::uint64_t lsn = req.first_lsn;
    std::vector<std::shared_ptr<const std::string>> fresh;
    for (const auto& rec : req.records) {
      if (lsn > state_.lsn()) {
        text += *rec;
        fresh.push_back(rec);
      }
      ++lsn;
    }
    if (!fresh.empty()) {
      applying_ = true;
      co_await append_durably(node_, segment_, std::move(text));
      applying_ = false;
      for (const auto& rec : fresh) {
        auto d = decode_record(*rec);
        for (const RowWrite& w : d->second) {
          state_.apply(w);
        }
        state_.set_lsn(d->first);
        records_.push_back(rec);
        durable_at_.push_back(node_.sim().now());
      }
      durable_lsn_ = state_.lsn();
    }
    answer(false);
  }

  // --- recovery ------------------------------------------------------------------------------
  Task<void> recover() {
    while (role_ == Role::kRecovering) {
      Payload who_req = Payload::make<WhoLeads>();
      RpcResult who = co_await node_.call(s_.monitor_id, who_req, kSmallBytes,
                                          Duration::seconds(1));
      const auto* li = who.ok() ? who.payload.get<LeaderIs>() : nullptr;
      if (li != nullptr && li->leader == index_ && li->epoch == epoch_) {
        become_leader();
        co_return;
      }
      if (li != nullptr && li->leader != index_) {
        Payload bb_req = Payload::make<Basebackup>();
        RpcResult bb = co_await node_.call(s_.ledger_ids[static_cast<std::size_t>(li->leader)],
                                           bb_req, kSmallBytes, Duration::seconds(30));
        const auto* b = bb.ok() ? bb.payload.get<BasebackupReply>() : nullptr;
        if (b != nullptr && b->epoch > 0 && role_ == Role::kRecovering) {
          // Install the leader's WAL as a new base segment; older segments are ignored.
          ++segments_;
          base_ = node_.incarnation() * 1000 + segments_;
          segment_ = fmt::format("wal.{:09}", base_);
          co_await append_durably(node_, segment_, b->wal);
          epoch_ = std::max(epoch_, b->epoch);
          co_await persist_meta();
          state_ = LedgerState{};
          records_.clear();
          durable_at_.clear();
          read_segment(b->wal);
          durable_lsn_ = state_.lsn();
          leader_hint_ = li->leader;
          role_ = Role::kStandby;
          co_return;
        }
      }
      co_await node_.sleep(Duration::seconds(1));
    }
  }

  struct Waiting {
    Responder responder;
    TxnReply reply;
    std::uint64_t lsn = 0;
    std::vector<std::string> events;
  };

  StripeCluster::State& s_;
  int index_;
  Node& node_;
  Role role_ = Role::kRecovering;
  std::uint64_t epoch_ = 0;
  std::uint64_t base_ = 0;
  std::uint64_t segments_ = 0;
  bool had_meta_ = false;
  int leader_hint_ = -1;
  std::string segment_;
  LedgerState state_;
  std::vector<std::shared_ptr<const std::string>> records_;  // by lsn - 1
  std::vector<Time> durable_at_;                             // by lsn - 1 (leader: max until)
  std::uint64_t durable_lsn_ = 0;
  std::deque<std::pair<TxnRequest, Responder>> queue_;
  bool executing_ = false;
  bool applying_ = false;
  std::vector<Waiting> waiting_;
  std::string pending_text_;
  std::vector<std::string> pending_events_;
  std::vector<std::uint64_t> acked_;
  Signal flush_signal_;
  Signal ack_signal_;
  std::vector<std::unique_ptr<Signal>> ship_signals_;
};

Task<void> append_durably(Node& node, std::string file, std::string text) {
  co_await node.host().disk().append(file, std::move(text));
  co_await node.host().disk().fsync(file);
  PassGate gate(node);
  co_await gate;
}

world::ProgramFactory ledger_factory(StripeCluster::State& s, int index) {
  return [&s, index](Node& node) { return std::make_unique<LedgerProgram>(s, index, node); };
}

const LedgerState* ledger_state_of(const StripeCluster::State& s, int i, Role* role,
                                   std::uint64_t* epoch) {
  const LedgerProgram* p = s.ledgers[static_cast<std::size_t>(i)];
  if (p == nullptr) {
    return nullptr;
  }
  if (role != nullptr) {
    *role = p->role();
  }
  if (epoch != nullptr) {
    *epoch = p->epoch();
  }
  return &p->state();
}

// --- the failover monitor ---------------------------------------------------------------------

class MonitorProgram : public world::Program {
public:
  MonitorProgram(StripeCluster::State& s, Node& node) : s_(s), node_(node) {}

  void start(Node& node) override {
    node.on_request([this](const Message& m, Responder r) {
      if (m.payload.get<WhoLeads>() != nullptr) {
        r.reply(Payload::make<LeaderIs>(LeaderIs{epoch_, leader_}), kSmallBytes);
      }
    });
    node.spawn(watch());
  }

private:
  Task<void> watch() {
    const auto& lp = s_.p.ledger;
    int fails = 0;
    while (true) {
      co_await node_.sleep(lp.health_interval);
      Payload r_req = Payload::make<Health>();
      RpcResult r = co_await node_.call(s_.ledger_ids[static_cast<std::size_t>(leader_)], r_req,
                                        kSmallBytes, lp.health_timeout);
      const auto* h = r.ok() ? r.payload.get<HealthReply>() : nullptr;
      const bool good = h != nullptr && h->role == Role::kLeader && h->epoch == epoch_;
      fails = good ? 0 : fails + 1;
      if (fails >= lp.failover_after && lp.failover) {
        if (co_await failover()) {
          fails = 0;
        }
      }
    }
  }

  Task<bool> failover() {
    const auto& lp = s_.p.ledger;
    int best = -1;
    std::uint64_t best_lsn = 0;
    const int n = static_cast<int>(s_.ledger_ids.size());
    for (int i = 0; i < n; ++i) {
      if (i == leader_) {
        continue;
      }
      Payload r_req = Payload::make<Health>();
      RpcResult r = co_await node_.call(s_.ledger_ids[static_cast<std::size_t>(i)], r_req,
                                        kSmallBytes, lp.health_timeout);
      const auto* h = r.ok() ? r.payload.get<HealthReply>() : nullptr;
      if (h != nullptr && h->role == Role::kStandby && (best < 0 || h->lsn > best_lsn)) {
        best = i;
        best_lsn = h->lsn;
      }
    }
    if (best < 0) {
      co_return false;
    }
    const std::uint64_t epoch = epoch_ + 1;
    Payload r_req = Payload::make<Promote>(Promote{epoch});
    RpcResult r = co_await node_.call(s_.ledger_ids[static_cast<std::size_t>(best)], r_req,
                                      kSmallBytes, lp.health_timeout);
    const auto* ack = r.ok() ? r.payload.get<Ack>() : nullptr;
    if (ack == nullptr || !ack->ok) {
      co_return false;
    }
    epoch_ = epoch;
    leader_ = best;
    s_.counter("stripe/ledger/failovers").inc();
    node_.sim().trace().record(node_.sim().now(), "stripe", "failover",
                               {{"leader", static_cast<std::int64_t>(best)},
                                {"epoch", static_cast<std::int64_t>(epoch)}});
    for (int i = 0; i < n; ++i) {
      if (i != best) {
        node_.call(s_.ledger_ids[static_cast<std::size_t>(i)],
                   Payload::make<Follow>(Follow{epoch, best}), kSmallBytes, lp.health_timeout,
                   [](const RpcResult&) {});
      }
    }
    co_return true;
  }

  StripeCluster::State& s_;
  Node& node_;
  int leader_ = 0;
  std::uint64_t epoch_ = 1;
};

world::ProgramFactory monitor_factory(StripeCluster::State& s) {
  return [&s](Node& node) { return std::make_unique<MonitorProgram>(s, node); };
}

// --- the client side --------------------------------------------------------------------------

Task<std::optional<TxnReply>> ledger_txn(Node& node, StripeCluster::State& s, int& leader,
                                         TxnRequest txn) {
  const int n = static_cast<int>(s.ledger_ids.size());
  if (leader < 0 || leader >= n) {
    leader = 0;
  }
  for (int tries = 0; tries < 2 * n; ++tries) {
    // Payloads are built before the co_await: g++ 12 mishandles class temporaries with
    // non-trivial destructors inside a co_await's operand.
    Payload req = Payload::make<LedgerCall>(LedgerCall{txn});
    RpcResult r = co_await node.call(s.ledger_ids[static_cast<std::size_t>(leader)], req, 512,
                                     s.p.api.ledger_timeout);
    if (r.status == RpcStatus::kUnreachable) {
      leader = (leader + 1) % n;  // refused: it certainly did not run
      continue;
    }
    const auto* a = r.ok() ? r.payload.get<LedgerAnswer>() : nullptr;
    if (a == nullptr) {
      co_return std::nullopt;  // a timeout: it may or may not have committed
    }
    if (a->not_leader) {
      leader = a->leader_hint >= 0 && a->leader_hint != leader ? a->leader_hint
                                                               : (leader + 1) % n;
      continue;
    }
    co_return a->reply;
  }
  co_return std::nullopt;
}

}  // namespace faultline::sim::stripe::detail
