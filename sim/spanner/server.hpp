// Private to sim/spanner: the messages between clients and spanservers, and the spanserver
// program (the Paxos replicas it hosts, and at leaders the lock table and transaction manager).
#pragma once

#include <faultline/sim/spanner/cluster.hpp>
#include <faultline/world/node.hpp>

#include <fmt/format.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace faultline::sim::spanner {

using Ballot = std::int64_t;
using Slot = std::int64_t;
using TxnId = std::int64_t;

constexpr Ballot kBallotStride = 16;  // ballot = round * 16 + replica index (replicas <= 15)
constexpr std::uint64_t kSmallBytes = 128;

inline std::uint64_t write_bytes(const Writes& w) { return kSmallBytes + 4096 * w.size(); }

inline std::string log_file(int group) { return fmt::format("paxos/g{}", group); }

/// What a Paxos log slot holds.
enum class EntryKind : std::uint8_t {
  kCommit,   // a single-group write, or a coordinator's commit record (writes at ts)
  kPrepare,  // a participant's prepare record (writes held until resolved)
  kResolve,  // a participant learns its prepared transaction committed at ts
  kAbort,    // a coordinator's abort decision, or a participant's abort of a prepared txn
  kNoop,     // lease renewal; carries MinNextTS (no write will get a smaller timestamp)
  // movedir (directories moving between groups; placement.cpp):
  kStage,    // destination: versions of a directory copied in, not yet served
  kMoveOut,  // source: the directory [lo, hi) leaves at ts (its final versions ride along)
  kMoveIn,   // destination: the directory [lo, hi) is served from ts on (with the delta)
};

struct Entry {
  EntryKind kind = EntryKind::kNoop;
  TxnId txn = 0;
  Timestamp ts = 0;
  int coordinator = -1;
  Writes writes;
  /// kPrepare: the keys the transaction read here, locked until it resolves.
  std::vector<std::string> reads;
  /// Move kinds only: the version timestamp of each of `writes`, and the directory's range.
  std::vector<Timestamp> write_ts;
  int lo = 0;
  int hi = 0;
  std::string encode() const;
  std::uint64_t digest() const;
};

// "A <slot> <ballot> <kind> <txn> <ts> <coord> <n> k v ..." and "P <ballot>".
inline std::string encode_accept(Slot slot, Ballot ballot, const Entry& e) {
  return fmt::format("A {} {} {}\n", slot, ballot, e.encode());
}

// --- messages ---------------------------------------------------------------------------------
/// kMoved: the group no longer (or does not yet) serve a key asked for; look it up again.
enum class St : std::uint8_t { kOk, kNotLeader, kAborted, kRetry, kPending, kMoved };

/// The one reply type of every request.
struct Resp {
  St st = St::kRetry;
  world::NodeId hint;  // the leader, when known
  Timestamp ts = 0;
  std::vector<std::optional<std::int64_t>> values;
  // Paxos replies
  Ballot promised = -1;
  Slot applied = 0;
  std::vector<std::pair<Slot, std::pair<Ballot, Entry>>> entries;
};

struct PrepareBallotReq {  // Paxos phase 1
  int group;
  Ballot ballot;
  Slot from;  // the candidate knows every slot up to here is chosen
};
struct AcceptReq {  // Paxos phase 2 (a batch), carries the leader's commit index
  int group;
  Ballot ballot;
  std::vector<std::pair<Slot, Entry>> entries;
  Slot commit;
};
struct ReleaseReq {  // a leader that hands off releases its lease votes
  int group;
  Ballot ballot;
};
struct CampaignReq {  // a handing-off leader asks this replica to campaign now
  int group;
};
struct ReadLockReq {
  int group;
  TxnId txn;
  Timestamp priority;
  std::vector<std::string> keys;
};
struct CommitReq {
  int group;
  TxnId txn;
  Timestamp priority;
  Writes writes;
  std::vector<std::string> read_keys;  // read locks the leader must still hold
  bool prepare_only = false;           // 2PC participant
  int coordinator = -1;
  std::vector<int> participants;       // coordinator: the other participant groups
  Timestamp min_ts = 0;                // coordinator: max prepare timestamp
};
struct AbortReq {
  int group;
  TxnId txn;
  bool coordinator = false;
};
struct ReadAtReq {
  int group;
  std::vector<std::string> keys;
  Timestamp ts = 0;        // 0: the leader picks LastTS() (single-group read-only txn)
  bool any_replica = false;
};
struct ResolveReq {
  int group;
  TxnId txn;
  bool commit;
  Timestamp ts;
};
struct StatusReq {
  int group;
  TxnId txn;
};

/// movedir, from the placement driver to the source group's leader.
struct MoveDirReq {
  int group;
  int dest;
  int lo;
  int hi;
  bool unsafe_without_copy = false;
};
/// From a source leader to the destination's leader: log these versions (kStage), or take the
/// directory over (kMoveIn, with the delta since the stage and the move timestamp).
struct MoveDataReq {
  int group;
  EntryKind kind;
  int lo;
  int hi;
  Timestamp ts = 0;
  Writes writes;
  std::vector<Timestamp> write_ts;
};

/// Wakes every coroutine waiting for "something changed" in a replica (an apply, a lock
/// release). Waiters re-check their condition; the run stays deterministic because wakes are
/// scheduled events in order.
class Notifier {
public:
  explicit Notifier(Simulation& sim) : sim_(&sim) {}
  Task<bool> wait(Duration timeout);
  void notify();

private:
  Simulation* sim_;
  std::vector<Completion<bool>> waiters_;
};

class Spanserver;

/// One replica of one Paxos group on a spanserver.
struct Replica {
  Replica(Spanserver& s, int group, int index);

  Spanserver* server;
  int group;
  int index;  // position in the group's replica list
  // acceptor (promised ballot and log are durable)
  Ballot promised = -1;
  std::map<Slot, std::pair<Ballot, Entry>> log;
  Ballot vote_ballot = -1;  // the leader this replica has granted a lease to
  UtcInstant vote_until;    // ... until TT.after(vote_until)
  // The highest ballot whose leader released this replica from its lease vote (abdication):
  // an accept of that ballot still in flight must not grant the lease again.
  Ballot released = -1;
  UtcInstant no_campaign_until;
  // learner
  Slot commit_known = 0;
  Slot applied = 0;
  /// Every key's versions (timestamp, value) in timestamp order, as far back as gc_before.
  std::map<std::string, std::vector<std::pair<Timestamp, std::int64_t>>> versions;
  /// Reads at timestamps below this are refused ("snapshot too old"): a version that only
  /// such a read could see may be garbage-collected. Trails safe time (max_applied_ts) by the
  /// version GC horizon; 0 while nothing is collected.
  Timestamp gc_before = 0;
  /// Adds a version of `key` at `ts` (after any versions at the same timestamp), then drops
  /// that key's versions that no read at or after gc_before can see.
  void put_version(const std::string& key, Timestamp ts, std::int64_t value);
  /// Moves gc_before up to max_applied_ts - horizon, but not past last_commit_ts (never
  /// down); horizon 0 collects nothing.
  void advance_gc(Duration horizon);
  /// The version of `key` visible at `ts`: its newest at or below ts (binary search), or
  /// nullptr if there is none.
  const std::pair<Timestamp, std::int64_t>* version_at(const std::string& key,
                                                       Timestamp ts) const;
  /// The value of that version.
  std::optional<std::int64_t> value_at(const std::string& key, Timestamp ts) const;
  /// The timestamp of that version, 0 if there is none.
  Timestamp version_ts_at(const std::string& key, Timestamp ts) const;
  struct Prepared {
    Timestamp ts;
    Writes writes;
    std::vector<std::string> reads;
    int coordinator;
    Time since;
  };
  std::map<TxnId, Prepared> prepared;
  std::map<TxnId, std::optional<Timestamp>> decided;  // nullopt = aborted
  /// Key ranges [lo, hi) this group serves, by the applied log (initial ranges, then moves).
  std::map<int, int> owned;
  /// Versions staged for directories moving in: key → (ts, value), by the range's lo.
  std::map<int, std::map<std::string, std::map<Timestamp, std::int64_t>>> staged;
  bool owns(const std::string& key) const;
  bool owns_all(const std::vector<std::string>& keys) const;
  bool owns_all(const Writes& writes) const;
  Timestamp max_applied_ts = 0;   // t_safe^Paxos (writes and MinNextTS no-ops)
  Timestamp last_commit_ts = 0;   // LastTS(): the last committed write
  // leader
  bool leader = false;
  bool serving = false;  // the re-proposals of the election are applied
  bool campaigning = false;
  Ballot ballot = -1;
  UtcInstant lease_end;
  Slot next_slot = 1;
  Timestamp last_ts = 0;  // every timestamp this leader assigns or serves is above... (see next_ts)
  Timestamp s_max = 0;
  struct Inflight {
    std::set<int> acks;
    bool chosen = false;
    /// TT.now().earliest when the accepts went out: a majority of acks extends the lease
    /// to this plus the lease length (the acceptors renewed their votes after it).
    UtcInstant sent;
    std::optional<Completion<bool>> done;
  };
  std::map<Slot, Inflight> inflight;
  std::multiset<Timestamp> pending_ts;  // timestamps of proposals not yet applied
  struct Lock {
    std::set<TxnId> readers;
    TxnId writer = 0;
  };
  std::map<std::string, Lock> locks;
  struct Txn {
    Timestamp priority = 0;
    bool aborted = false;
    bool committing = false;  // prepared or commit proposed: can no longer be wounded
    std::set<std::string> keys;
    Time last_seen;
  };
  std::map<TxnId, Txn> txns;
  Notifier changed;

  bool majority(std::size_t n) const;
};

class Spanserver final : public world::Program {
public:
  Spanserver(Cluster& cluster, world::Node& node);
  void start(world::Node& node) override;

  Cluster& cluster() const { return *cluster_; }
  world::Node& node() const { return *node_; }
  Replica* replica(int group);
  TimeBounds tt() const { return cluster_->tt_now(node_->host().id()); }
  bool tt_after(Timestamp t) const { return tt().earliest.unix_ns() > t; }
  /// True if this replica leads `group` with a lease that covers now.
  bool has_lease(const Replica& r) const;
  /// Hands the group's leadership to replica `nominee` (index), or by default to the first
  /// replica outside this zone.
  void hand_off(int group, int nominee = -1);

private:
  friend struct Replica;
  Task<world::Reply> handle(world::Message m);
  Task<void> election_loop();
  Task<void> leader_loop();
  Task<void> campaign(int group, bool now);
  Task<void> abdicate(int group, int nominee);
  /// Once TT.after(s_max), releases every lease vote granted to `ballot`: this replica's own
  /// and, by ReleaseReq, its peers'. A leader that stopped leading calls it so that the votes
  /// it holds do not keep every other candidate out for the rest of a lease.
  Task<void> release_votes(int group, Ballot ballot, Timestamp s_max);
  /// step_down() for a leader that learned of a higher ballot or could not get its no-op
  /// chosen: it stops at once and releases its lease votes (release_votes).
  void preempted(Replica& r);

  Task<bool> persist(Replica& r, const std::string& record);
  /// Proposes `e` at the next slot; true once it is chosen and applied under this ballot.
  Task<bool> propose(Replica& r, const Entry& e);
  void send_accepts(Replica& r, std::vector<std::pair<Slot, Entry>> entries, int only_peer = -1);
  void on_accepted(int group, Ballot ballot, int peer, const std::vector<Slot>& slots,
                   const world::RpcResult& res);
  void advance_commit(Replica& r);
  void apply_up_to(Replica& r, Slot upto, Ballot only_ballot);
  void apply(Replica& r, Slot slot, const Entry& e);
  void apply_move(Replica& r, const Entry& e);
  void step_down(Replica& r);
  Timestamp next_ts(Replica& r);
  /// A new leader takes the locks of transactions prepared in its log (they are held until
  /// the transactions resolve, whoever leads).
  void relock_prepared(Replica& r);
  void acted(Replica& r, Timestamp ts);

  Task<bool> lock(Replica& r, TxnId txn, Timestamp priority, const std::string& key, bool write);
  void wound(Replica& r, TxnId txn);
  void release_locks(Replica& r, TxnId txn);
  Task<bool> wait_safe(Replica& r, Timestamp ts, bool at_leader);
  Task<void> commit_wait(Timestamp ts);
  std::optional<std::int64_t> read_version(const Replica& r, const std::string& key,
                                           Timestamp ts) const;
  world::Reply not_leader(const Replica* r) const;
  void send_resolves(int coordinator_group, TxnId txn, const std::vector<int>& participants,
                     std::optional<Timestamp> ts);
  Task<void> in_doubt_loop();
  void ask_coordinator(int group, TxnId txn, int coordinator);

  Task<world::Reply> on_prepare_ballot(PrepareBallotReq req);
  Task<world::Reply> on_accept(AcceptReq req);
  Task<world::Reply> on_read_lock(ReadLockReq req);
  Task<world::Reply> on_commit(CommitReq req);
  Task<world::Reply> on_abort(AbortReq req);
  Task<world::Reply> on_read_at(ReadAtReq req);
  Task<world::Reply> on_resolve(ResolveReq req);
  Task<world::Reply> on_status(StatusReq req);
  Task<world::Reply> on_move_dir(MoveDirReq req);
  Task<world::Reply> on_move_data(MoveDataReq req);
  /// Sends to a group's leader from this server, trying each replica and following hints.
  Task<world::RpcResult> call_group(int group, world::Payload request, std::uint64_t bytes);

  Cluster* cluster_;
  world::Node* node_;
  std::map<int, std::unique_ptr<Replica>> replicas_;
  Rng rng_;
};

world::Reply make_reply(Resp r);
world::Reply status_reply(St st);

}  // namespace faultline::sim::spanner
