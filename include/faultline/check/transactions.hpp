// Transactional and weak-store checkers.
//
// Strict serializability with commit timestamps (the Spanner case): a store that exposes the
// commit timestamp of each transaction claims that timestamp order is a serial order that
// respects real time. That claim is checkable in O(n log n) without a search: (1) a
// transaction that began after another completed must have a larger timestamp; (2) every read
// must see the latest write committed before its transaction's timestamp (or its own earlier
// write); (3) two transactions writing one key must not share a timestamp; (4) transactions that
// share a timestamp may commit in any order among themselves, but some order must explain all
// their reads of each other's writes (two that each read what the other wrote, both seeing
// the old value, are write skew: no serial order exists).
//
// Read-only transactions placed by their reads (TransactionCheckOptions::place_read_only):
// (5) a sweep in invocation order places each at the earliest point of the timestamp order
// where its reads are current and real time allows. When that fails for some, the timestamp
// order is too strict (a read on one group may miss a commit that an unrelated commit with a
// higher timestamp does not depend on), and a serialization graph decides instead: every
// committed transaction is a node; edges say which must come first in any serial order
// (overwrote, read from, read a version the other overwrote, completed before the other
// began), with each key's versions in timestamp order; the history is strictly serializable
// exactly when, for some choice of the version each read-only read saw among those holding
// the value it returned, the graph has no cycle.
//
// Stale reads and lost updates in weaker stores (the Dynamo case): with unique values per key,
// each read names the write it saw, and real time alone convicts: a read that returns a value
// older than a write that completed before the read began is stale; a read of a value whose
// write began after the read ended comes from the future; an acknowledged write that no later
// read ever sees while every later read sees something older is lost; two compare-and-sets that
// both succeeded from the same value lost one update; an acknowledged append missing from a
// later read was lost, and an element that appears twice was applied twice.
#pragma once

#include <faultline/check/history.hpp>
#include <faultline/check/result.hpp>

#include <cstddef>

namespace faultline::check {

struct TransactionCheckOptions {
  /// How many anomalies the details list in full (all are counted in the summary).
  std::size_t max_reported = 10;
  /// Read-only transactions (every step a read) are placed, not pinned: each must fit into
  /// some serial order of all committed transactions that respects real time, in which every
  /// value it read is the latest version and the read-write transactions keep the places their
  /// timestamps give them among the writers of every key they touch (so versions of a key are
  /// in timestamp order and read-write reads are judged as without this option). Its own
  /// commit_ts is not used. This is strict serializability for a store whose read-only
  /// transactions read a snapshot without waiting for their timestamp to pass (Spanner's
  /// s_read = LastTS() or TT.now().latest, OSDI 2012 §4.1.4), whose timestamps may run ahead
  /// of real time or repeat, and whose read-write transactions on unrelated keys may commit
  /// out of timestamp order as far as a reader can tell (a LastTS read on one Paxos group may
  /// miss a lower-timestamp commit still waiting there, though a higher-timestamp commit on
  /// another group completed before it began). Decided by a sweep of the timestamp order
  /// first (linear), then, only when that fails, by a serialization graph (see
  /// check_strict_serializable). Off: every transaction is judged at its commit_ts.
  bool place_read_only = false;
  /// With place_read_only: when values repeat, a read may have seen any of several versions,
  /// and the checker searches for a choice that leaves the serialization graph acyclic. Each
  /// candidate tried and each edge followed costs one step; a search that runs out reports
  /// the transactions it could not decide (the verdict is inconclusive if nothing else
  /// failed), never a silent pass.
  std::size_t placement_search_budget = 10'000'000;
};

/// Checker name "strict-serializability". Takes txn operations, and read/write/append
/// operations as one-step transactions. Every ok operation must carry commit_ts (throws
/// std::invalid_argument naming the operation otherwise). Operations with unknown outcome
/// may have committed: reads may see their writes if their timestamp fits or is unknown.
CheckResult check_strict_serializable(const History& history,
                                      const TransactionCheckOptions& options = {});

/// Checker name "stale-reads-and-lost-updates". Takes read, write, cas and append operations;
/// values written to one key must be unique (throws std::invalid_argument otherwise).
CheckResult check_stale_reads_and_lost_updates(const History& history,
                                               const TransactionCheckOptions& options = {});

}  // namespace faultline::check
