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
  /// Read-only transactions (every step a read) are placed, not pinned: each may sit at any
  /// point of the read-write transactions' timestamp order where every value it read was the
  /// latest version, after every transaction that completed before it began (read-only ones
  /// included) and before every read-write transaction that began after it completed. Its own
  /// commit_ts is not used. This is strict serializability for a store whose read-only
  /// transactions read a snapshot without waiting for their timestamp to pass (Spanner's
  /// s_read = LastTS() or TT.now().latest, OSDI 2012 §4.1.4), whose timestamps may run ahead
  /// of real time or repeat. Off: every transaction is judged at its commit_ts.
  bool place_read_only = false;
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
