// Strict serializability from commit timestamps, and stale-read / lost-update detection.
#include <faultline/check/transactions.hpp>

#include "transactions_detail.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <string_view>

namespace faultline::check {

namespace {

using detail::Anomaly;
using detail::decide_placement;
using detail::kNoPlace;
using detail::PlacementInput;
using detail::VersionIndex;
using detail::VersionStep;

/// `undecided`: what the checker could not decide within its budget. Alone, they make the
/// verdict inconclusive; beside anomalies, they are listed after them.
CheckResult verdict(std::string name, std::string scope, std::vector<Anomaly> found,
                    std::size_t max_reported, const std::vector<Anomaly>& undecided = {}) {
  if (found.empty() && undecided.empty()) {
    return CheckResult::pass(std::move(name), scope + ": no anomalies");
  }
  const bool inconclusive = found.empty();
  found.insert(found.end(), undecided.begin(), undecided.end());
  std::map<std::string, std::size_t> counts;
  for (const Anomaly& a : found) {
    ++counts[a.kind];
  }
  std::vector<std::string> parts;
  for (const auto& [kind, n] : counts) {
    parts.push_back(fmt::format("{} {}", n, kind));
  }
  std::string details;
  for (std::size_t i = 0; i < found.size() && i < max_reported; ++i) {
    details += fmt::format("{}: {}\n", found[i].kind, found[i].text);
  }
  if (found.size() > max_reported) {
    details += fmt::format("... and {} more\n", found.size() - max_reported);
  }
  std::string summary = fmt::format("{}: {}", scope, fmt::join(parts, ", "));
  return inconclusive ? CheckResult::undecided(std::move(name), std::move(summary), details)
                      : CheckResult::fail(std::move(name), std::move(summary), details);
}

std::vector<MicroOp> steps_of(const Operation& op) {
  switch (op.op.kind) {
    case OpKind::kTxn:
      return op.op.txn;
    case OpKind::kRead:
    case OpKind::kWrite:
    case OpKind::kAppend:
      return {MicroOp{op.op.kind, op.op.key, op.op.value}};
    default:
      throw std::invalid_argument(fmt::format(
          "check_strict_serializable: operation {} is a {}; the checker takes txn, read, write "
          "and append operations",
          op.to_string(), to_string(op.op.kind)));
  }
}

Value apply(const Value& state, const MicroOp& m) {
  if (m.kind == OpKind::kWrite) {
    return m.value;
  }
  return state.appended(m.value.as_int());
}

}  // namespace

CheckResult check_strict_serializable(const History& history,
                                      const TransactionCheckOptions& options) {
  const std::vector<Operation> ops = history.operations();
  std::vector<const Operation*> committed;
  std::vector<std::vector<MicroOp>> steps(ops.size());
  for (const Operation& op : ops) {
    if (op.outcome == Outcome::kFail) {
      continue;
    }
    steps[op.id] = steps_of(op);
    if (op.ok()) {
      if (!op.commit_ts) {
        throw std::invalid_argument(fmt::format(
            "check_strict_serializable: ok operation {} has no commit_ts; record the store's "
            "commit timestamp with History::ok(client, t, result, commit_ts)",
            op.to_string()));
      }
      committed.push_back(&op);
    }
  }
  // With place_read_only, read-only transactions are judged by (5) alone; the rest by (1)-(4).
  std::vector<const Operation*> pinned;
  std::vector<const Operation*> read_only;
  for (const Operation* t : committed) {
    bool reads_only = options.place_read_only;
    for (const MicroOp& m : steps[t->id]) {
      reads_only = reads_only && m.kind == OpKind::kRead;
    }
    (reads_only ? read_only : pinned).push_back(t);
  }
  std::vector<Anomaly> found;
  std::vector<Anomaly> undecided;  // read-only transactions the budgeted search left open
  // (1) Real time: sweep invocations in time order; everything completed before an
  // invocation must carry a smaller timestamp.
  std::vector<const Operation*> by_invoke = pinned;
  std::vector<const Operation*> by_complete = pinned;
  std::sort(by_complete.begin(), by_complete.end(),
            [](const auto* a, const auto* b) { return a->complete_event < b->complete_event; });
  const Operation* max_done = nullptr;
  std::size_t done = 0;
  for (const Operation* t : by_invoke) {
    while (done < by_complete.size() && by_complete[done]->complete_event < t->invoke_event) {
      if (max_done == nullptr || *by_complete[done]->commit_ts > *max_done->commit_ts) {
        max_done = by_complete[done];
      }
      ++done;
    }
    if (max_done != nullptr && *t->commit_ts <= *max_done->commit_ts) {
      found.push_back({"real-time-order violation",
                       fmt::format("{}\n    began after {}\n    completed, but its commit "
                                   "timestamp {} is not greater than {}",
                                   t->to_string(), max_done->to_string(), *t->commit_ts,
                                   *max_done->commit_ts)});
    }
  }
  // Versions of each key in timestamp order (ties broken by completion, and reported).
  std::map<std::string, std::vector<VersionStep>> versions;
  for (const Operation* t : by_complete) {
    for (const MicroOp& m : steps[t->id]) {
      if (m.kind != OpKind::kRead) {
        versions[m.key].push_back({*t->commit_ts, t->id, m});
      }
    }
  }
  for (auto& [key, vs] : versions) {
    std::stable_sort(vs.begin(), vs.end(),
                     [](const VersionStep& a, const VersionStep& b) { return a.ts < b.ts; });
    for (std::size_t i = 1; i < vs.size(); ++i) {
      if (vs[i].ts == vs[i - 1].ts && vs[i].op != vs[i - 1].op) {
        found.push_back(
            {"timestamp collision",
             fmt::format("{}\n    and {}\n    both wrote \"{}\" at commit "
                         "timestamp {}",
                         ops[vs[i - 1].op].to_string(), ops[vs[i].op].to_string(), key, vs[i].ts)});
      }
    }
  }
  // Prefix states per key: state[i] = the value after the first i versions.
  std::map<std::string, std::vector<Value>> states;
  for (const auto& [key, vs] : versions) {
    std::vector<Value>& st = states[key];
    st.reserve(vs.size() + 1);
    st.emplace_back();
    for (const VersionStep& v : vs) {
      st.push_back(apply(st.back(), v.step));
    }
  }
  // Which operation wrote a value, for naming the write a bad read saw.
  auto writer_of = [&](const std::string& key, const Value& v) -> const Operation* {
    for (const Operation& op : ops) {
      for (const MicroOp& m : op.outcome == Outcome::kFail ? op.op.txn : steps[op.id]) {
        if (m.kind == OpKind::kWrite && m.key == key && m.value == v) {
          return &op;
        }
      }
      if (op.outcome == Outcome::kFail && op.op.kind == OpKind::kWrite && op.op.key == key &&
          op.op.value == v) {
        return &op;
      }
    }
    return nullptr;
  };
  // An in-doubt (unknown-outcome) write of this key and value whose timestamp could fit
  // before `ts`: a read of that value may have seen it. Values may repeat, so every writer of
  // the value counts, not only the first.
  std::map<std::string, std::vector<std::pair<const Operation*, const Value*>>> in_doubt;
  for (const Operation& op : ops) {
    if (op.unknown()) {
      for (const MicroOp& m : steps[op.id]) {
        if (m.kind == OpKind::kWrite) {
          in_doubt[m.key].emplace_back(&op, &m.value);
        }
      }
    }
  }
  auto in_doubt_writer = [&](const std::string& key, const Value& v,
                             std::int64_t ts) -> const Operation* {
    auto it = in_doubt.find(key);
    if (it == in_doubt.end()) {
      return nullptr;
    }
    for (const auto& [op, value] : it->second) {
      if (!(op->commit_ts && *op->commit_ts >= ts) && *value == v) {
        return op;
      }
    }
    return nullptr;
  };
  // Transactions that share a commit timestamp may commit in any order among themselves
  // (writers of one key at one timestamp are already an anomaly above). Each read of a key
  // that another transaction of the same timestamp wrote says which went first: it saw the
  // value before that write (reader first) or after it (writer first). Those orders must
  // have no cycle, or no serial order exists (write skew at one timestamp).
  std::map<std::int64_t, std::vector<std::pair<std::size_t, std::size_t>>> tie_orders;
  // (2) Reads see the latest version before their own timestamp.
  for (const Operation* t : pinned) {
    std::map<std::string, Value> own;  // this transaction's writes so far
    for (const MicroOp& m : steps[t->id]) {
      // The value this step sees: the transaction's own earlier write, else the latest version
      // committed before its timestamp.
      Value seen;
      bool from_own = false;
      std::size_t tie_lo = 0;
      std::size_t tie_hi = 0;
      if (auto it = own.find(m.key); it != own.end()) {
        seen = it->second;
        from_own = true;
      } else if (auto sit = states.find(m.key); sit != states.end()) {
        const auto& vs = versions[m.key];
        auto n = static_cast<std::size_t>(
            std::lower_bound(vs.begin(), vs.end(), *t->commit_ts,
                             [](const VersionStep& v, std::int64_t ts) { return v.ts < ts; }) -
            vs.begin());
        seen = sit->second[n];
        tie_lo = n;
        tie_hi = n;
        while (tie_hi < vs.size() && vs[tie_hi].ts == *t->commit_ts) {
          ++tie_hi;
        }
      }
      if (m.kind != OpKind::kRead) {
        own[m.key] = apply(seen, m);
        continue;
      }
      // Other transactions at this timestamp that wrote this key: at most one unless a
      // collision was reported. The read may see the state after any one's writes.
      const auto& vs = versions[m.key];
      std::vector<std::size_t> tied_writers;
      bool self_writes = false;
      for (std::size_t i = tie_lo; i < tie_hi; ++i) {
        self_writes = self_writes || vs[i].op == t->id;
        if (vs[i].op != t->id && (tied_writers.empty() || tied_writers.back() != vs[i].op)) {
          tied_writers.push_back(vs[i].op);
        }
      }
      if (!from_own && !self_writes && !tied_writers.empty() &&
          in_doubt_writer(m.key, m.value, *t->commit_ts) == nullptr) {
        const std::vector<Value>& st = states[m.key];
        const bool saw_before = m.value == seen;
        // The state right after the last step of writer u within the tie group.
        std::optional<std::size_t> saw_after;
        for (std::size_t i = tie_lo; i < tie_hi; ++i) {
          bool last_of_op = i + 1 == tie_hi || vs[i + 1].op != vs[i].op;
          if (last_of_op && vs[i].op != t->id && st[i + 1] == m.value) {
            saw_after = i;
            break;
          }
        }
        if (saw_before || saw_after) {
          if (!(saw_before && saw_after)) {
            auto& edges = tie_orders[*t->commit_ts];
            for (std::size_t i = tie_lo; i < tie_hi; ++i) {
              if (vs[i].op == t->id) {
                continue;
              }
              if (saw_before || i > *saw_after) {
                edges.emplace_back(t->id, vs[i].op);  // t read before u wrote
              } else {
                edges.emplace_back(vs[i].op, t->id);  // u wrote before t read
              }
            }
          }
          continue;
        }
      }
      const Value& expected = seen;
      if (m.value == expected) {
        continue;
      }
      if (in_doubt_writer(m.key, m.value, *t->commit_ts) != nullptr) {
        continue;  // an in-doubt write may have committed there
      }
      // Explain: which write did it see, and when was that committed?
      const Operation* w = m.value.is_int() ? writer_of(m.key, m.value) : nullptr;
      std::string kind = "stale read";
      std::string why;
      if (w == nullptr && m.value.is_int()) {
        kind = "read of a value never written";
        why = "no operation wrote it";
      } else if (w != nullptr && w->outcome == Outcome::kFail) {
        kind = "read of an aborted write";
        why = fmt::format("it was written by {}", w->to_string());
      } else if (w != nullptr && w->unknown()) {
        kind = "read from the future";
        why = fmt::format("it was written by {}", w->to_string());
      } else if (w != nullptr && w->commit_ts && *w->commit_ts > *t->commit_ts) {
        kind = "read from the future";
        why = fmt::format("it was written at commit timestamp {} by {}", *w->commit_ts,
                          w->to_string());
      } else if (w != nullptr && w->id == t->id) {
        kind = "read of own later write";
        why = "the transaction wrote it only after this read";
      } else {
        why = w != nullptr ? fmt::format("it was written by {}", w->to_string())
                           : std::string("the list or nil it returned is not that state");
      }
      found.push_back({kind, fmt::format("{}\n    read \"{}\" = {} at commit timestamp {}, but "
                                         "the latest committed version before it is {}; {}",
                                         t->to_string(), m.key, m.value.to_string(), *t->commit_ts,
                                         expected.to_string(), why)});
    }
  }
  // (5) Read-only transactions, placed: the earliest point x of the timestamp order (the state
  // after every version with timestamp <= x) that follows everything completed before the
  // transaction began and where every value it read is current. Earliest is best for the
  // read-only transactions that follow it in real time, so one sweep in invocation order
  // decides. x must stay below the timestamp of every read-write transaction that began
  // after it completed. A placement found this way is a serial order (timestamp order with the
  // read-only transactions put in), so when every one is placed the history passes.
  //
  // The timestamp order is one serial order, not the only one: read-write transactions on
  // disjoint keys commute. A Spanner read at LastTS() of one group misses a commit still in
  // commit wait there, while a commit with a higher timestamp on another group completed
  // before the read began; no timestamp has the read current, yet the read fits between the
  // two commits it does not relate to. So when the sweep leaves some unplaced, a
  // serialization graph decides (PlacementGraph): nodes are the committed transactions;
  // edges are ww (consecutive writers of a key, in timestamp order), wr and rw (a read-write
  // read sits at its timestamp among the key's writers; a read-only read after the writer of
  // the version it saw and before the next writer), and rt (completed before the other began,
  // in O(n) edges through a chain of completion nodes). Strictly serializable exactly when
  // some choice of versions leaves it acyclic (Adya's theorem, with real time). Values
  // repeat, so a read-only read may match several versions: real time rules some out; the
  // first guess is the version at the sweep's point (or the latest one real time allows);
  // only if that graph has a cycle does a search run, per strongly connected component of
  // the graph of all candidates' edges, backtracking over the choices with an incrementally
  // maintained topological order (ChoiceSearch). A cycle in the edges every choice implies
  // rejects without search; a search that exhausts its choices rejects; one that runs out of
  // TransactionCheckOptions::placement_search_budget reports the transactions as undecided.
  if (!read_only.empty()) {
    const VersionIndex index(versions, states);
    auto by_event = [](auto field) {
      return [field](const Operation* a, const Operation* b) { return a->*field < b->*field; };
    };
    std::vector<const Operation*> ro_by_invoke = read_only;
    std::sort(ro_by_invoke.begin(), ro_by_invoke.end(), by_event(&Operation::invoke_event));
    std::vector<const Operation*> ro_by_complete = read_only;
    std::sort(ro_by_complete.begin(), ro_by_complete.end(), by_event(&Operation::complete_event));
    std::vector<const Operation*> rw_by_invoke = pinned;
    std::sort(rw_by_invoke.begin(), rw_by_invoke.end(), by_event(&Operation::invoke_event));
    constexpr std::int64_t kNone = std::numeric_limits<std::int64_t>::min();
    constexpr std::int64_t kOpen = std::numeric_limits<std::int64_t>::max();
    // min_ts_from[i]: the least timestamp of the read-write transactions invoked i-th or later.
    std::vector<std::int64_t> min_ts_from(rw_by_invoke.size() + 1, kOpen);
    for (std::size_t i = rw_by_invoke.size(); i-- > 0;) {
      min_ts_from[i] = std::min(min_ts_from[i + 1], *rw_by_invoke[i]->commit_ts);
    }
    std::map<std::size_t, std::int64_t> placed;
    std::map<std::size_t, std::string> unplaced;  // the sweep's reason, by operation id
    std::size_t rw_done = 0;
    std::size_t ro_done = 0;
    std::int64_t rw_floor = kNone;
    std::int64_t ro_floor = kNone;
    for (const Operation* t : ro_by_invoke) {
      while (rw_done < by_complete.size() &&
             by_complete[rw_done]->complete_event < t->invoke_event) {
        rw_floor = std::max(rw_floor, *by_complete[rw_done++]->commit_ts);
      }
      while (ro_done < ro_by_complete.size() &&
             ro_by_complete[ro_done]->complete_event < t->invoke_event) {
        if (auto it = placed.find(ro_by_complete[ro_done]->id); it != placed.end()) {
          ro_floor = std::max(ro_floor, it->second);
        }
        ++ro_done;
      }
      auto later = std::upper_bound(
          rw_by_invoke.begin(), rw_by_invoke.end(), t->complete_event,
          [](std::size_t event, const Operation* o) { return event < o->invoke_event; });
      const std::int64_t ceiling =
          min_ts_from[static_cast<std::size_t>(later - rw_by_invoke.begin())];
      std::int64_t x = std::max(rw_floor, ro_floor);
      std::string why;
      for (bool moved = true; moved && why.empty();) {
        moved = false;
        for (const MicroOp& m : steps[t->id]) {
          if (in_doubt_writer(m.key, m.value, kOpen) != nullptr) {
            continue;  // an in-doubt write may have committed anywhere
          }
          const auto& vs = versions[m.key];
          auto n = static_cast<std::size_t>(
              std::upper_bound(vs.begin(), vs.end(), x,
                               [](std::int64_t ts, const VersionStep& v) { return ts < v.ts; }) -
              vs.begin());
          // The first version at or after x that holds the value read.
          const std::vector<std::size_t> first = index.holding(m.key, m.value, n, vs.size(), 1);
          if (first.empty()) {
            why = fmt::format("\"{}\" = {} is no version of the key at or after timestamp {}",
                              m.key, m.value.to_string(), x == kNone ? 0 : x);
            break;
          }
          if (first[0] > n) {
            x = vs[first[0] - 1].ts;
            moved = true;
          }
        }
      }
      if (why.empty() && x >= ceiling) {
        why = fmt::format(
            "its reads and what completed before it began place it at timestamp "
            "{} or later, but a read-write transaction that began after it "
            "completed committed at {}",
            x, ceiling);
      }
      if (!why.empty()) {
        unplaced[t->id] = fmt::format(
            "{} (read-write transactions completed before it reach "
            "timestamp {}, read-only ones before it {})",
            why, rw_floor == kNone ? 0 : rw_floor, ro_floor == kNone ? 0 : ro_floor);
        continue;
      }
      placed[t->id] = x;
    }
    if (!unplaced.empty()) {
      std::vector<bool> is_read_only(ops.size(), false);
      for (const Operation* t : read_only) {
        is_read_only[t->id] = true;
      }
      PlacementInput input{ops,
                           steps,
                           committed,
                           is_read_only,
                           versions,
                           states,
                           placed,
                           unplaced,
                           [&](const std::string& key, const Value& v, std::int64_t ts) {
                             return in_doubt_writer(key, v, ts) != nullptr;
                           },
                           index,
                           options.placement_search_budget};
      decide_placement(input, found, undecided);
    }
  }
  // (4) The orders among transactions of one timestamp must admit a serial order (Kahn's
  // algorithm; whatever is left has a cycle).
  for (auto& [ts, edges] : tie_orders) {
    std::sort(edges.begin(), edges.end());
    edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
    std::map<std::size_t, std::size_t> indegree;
    for (const auto& e : edges) {
      indegree.try_emplace(e.first, 0);
      ++indegree[e.second];
    }
    std::vector<std::size_t> ready;
    for (const auto& [node, d] : indegree) {
      if (d == 0) {
        ready.push_back(node);
      }
    }
    while (!ready.empty()) {
      std::size_t node = ready.back();
      ready.pop_back();
      indegree.erase(node);
      for (const auto& e : edges) {
        if (e.first == node && --indegree[e.second] == 0) {
          ready.push_back(e.second);
        }
      }
    }
    if (indegree.empty()) {
      continue;
    }
    std::vector<std::string> names;
    for (const auto& entry : indegree) {
      names.push_back(ops[entry.first].to_string());
    }
    found.push_back({"write skew at one timestamp",
                     fmt::format("these transactions have equal commit timestamps ({}), and "
                                 "each read of a key another of them wrote says which went "
                                 "first; those orders form a cycle, so no serial order exists:"
                                 "\n    {}",
                                 ts, fmt::join(names, "\n    "))});
  }
  return verdict(
      "strict-serializability",
      fmt::format("{} committed transactions on {} keys", committed.size(), versions.size()), found,
      options.max_reported, undecided);
}

CheckResult check_stale_reads_and_lost_updates(const History& history,
                                               const TransactionCheckOptions& options) {
  const std::vector<Operation> ops = history.operations();
  struct KeyOps {
    std::vector<const Operation*> reads;
    std::vector<const Operation*> writes;  // write, cas (new value), append
    std::vector<const Operation*> cas;
    std::map<std::int64_t, const Operation*> by_value;
  };
  std::map<std::string, KeyOps> keys;
  for (const Operation& op : ops) {
    KeyOps& k = keys[op.op.key];
    switch (op.op.kind) {
      case OpKind::kRead:
        if (op.ok()) {
          k.reads.push_back(&op);
        }
        break;
      case OpKind::kWrite:
      case OpKind::kCas:
      case OpKind::kAppend: {
        if (!op.op.value.is_int()) {
          throw std::invalid_argument(fmt::format(
              "check_stale_reads_and_lost_updates: {} must write an integer", op.to_string()));
        }
        auto [it, inserted] = k.by_value.emplace(op.op.value.as_int(), &op);
        if (!inserted) {
          throw std::invalid_argument(fmt::format(
              "check_stale_reads_and_lost_updates: value {} is written to \"{}\" twice ({} and "
              "{}); the checker identifies writes by value, so make written values unique per key",
              op.op.value.to_string(), op.op.key, it->second->to_string(), op.to_string()));
        }
        if (op.outcome != Outcome::kFail) {
          k.writes.push_back(&op);
        }
        if (op.op.kind == OpKind::kCas && op.ok()) {
          k.cas.push_back(&op);
        }
        break;
      }
      default:
        throw std::invalid_argument(fmt::format(
            "check_stale_reads_and_lost_updates: takes read, write, cas and append; got {}",
            op.to_string()));
    }
  }
  std::vector<Anomaly> found;
  for (auto& [key, k] : keys) {
    // Acknowledged writes by completion time, with the latest invocation among those that
    // completed so far: "some write that completed before t began after w completed".
    std::vector<const Operation*> acked;
    for (const Operation* w : k.writes) {
      if (w->ok()) {
        acked.push_back(w);
      }
    }
    std::sort(acked.begin(), acked.end(),
              [](const auto* a, const auto* b) { return a->complete_event < b->complete_event; });
    std::vector<const Operation*> latest_invoked(acked.size());
    for (std::size_t i = 0; i < acked.size(); ++i) {
      latest_invoked[i] = (i == 0 || acked[i]->invoke_event > latest_invoked[i - 1]->invoke_event)
                              ? acked[i]
                              : latest_invoked[i - 1];
    }
    // The newest write (by invocation) among those acknowledged before event e, or null.
    auto newest_done_before = [&](std::size_t e) -> const Operation* {
      auto n = static_cast<std::size_t>(std::lower_bound(acked.begin(), acked.end(), e,
                                                         [](const Operation* w, std::size_t ev) {
                                                           return w->complete_event < ev;
                                                         }) -
                                        acked.begin());
      return n == 0 ? nullptr : latest_invoked[n - 1];
    };
    std::map<const Operation*, std::size_t> times_seen;
    for (const Operation* r : k.reads) {
      const Value& v = r->op.value;
      if (v.is_list()) {
        std::map<std::int64_t, int> seen;
        for (std::int64_t e : v.as_list()) {
          if (++seen[e] == 2) {
            found.push_back({"duplicate effect",
                             fmt::format("{}\n    contains {} twice: one append took effect "
                                         "twice",
                                         r->to_string(), e)});
          }
          auto it = k.by_value.find(e);
          if (it == k.by_value.end()) {
            found.push_back({"read of a value never written",
                             fmt::format("{}\n    contains {}, which no operation appended",
                                         r->to_string(), e)});
          } else if (it->second->outcome == Outcome::kFail) {
            found.push_back({"read of a failed write",
                             fmt::format("{}\n    contains {}, appended by {}", r->to_string(), e,
                                         it->second->to_string())});
          } else if (it->second->invoke_event > r->complete_event) {
            found.push_back({"read from the future",
                             fmt::format("{}\n    contains {}, appended only later by {}",
                                         r->to_string(), e, it->second->to_string())});
          }
        }
        for (const Operation* a : acked) {
          if (a->op.kind == OpKind::kAppend && a->complete_event < r->invoke_event &&
              seen.count(a->op.value.as_int()) == 0) {
            found.push_back({"lost update",
                             fmt::format("{}\n    completed before {}\n    began, but the read "
                                         "does not contain {}",
                                         a->to_string(), r->to_string(), a->op.value.to_string())});
          }
        }
        continue;
      }
      const Operation* newer = newest_done_before(r->invoke_event);
      if (v.is_nil()) {
        if (newer != nullptr) {
          found.push_back(
              {"stale read", fmt::format("{}\n    returned nil, but {}\n    completed before it "
                                         "began",
                                         r->to_string(), newer->to_string())});
        }
        continue;
      }
      auto it = k.by_value.find(v.as_int());
      if (it == k.by_value.end()) {
        found.push_back(
            {"read of a value never written",
             fmt::format("{}\n    no operation wrote {}", r->to_string(), v.to_string())});
        continue;
      }
      const Operation* w = it->second;
      ++times_seen[w];
      if (w->outcome == Outcome::kFail) {
        found.push_back({"read of a failed write", fmt::format("{}\n    saw the value of {}",
                                                               r->to_string(), w->to_string())});
      } else if (w->invoke_event > r->complete_event) {
        found.push_back({"read from the future",
                         fmt::format("{}\n    saw the value of {}\n    which began only after "
                                     "the read ended",
                                     r->to_string(), w->to_string())});
      } else if (w->ok() && newer != nullptr && newer->invoke_event > w->complete_event) {
        found.push_back(
            {"stale read", fmt::format("{}\n    saw the value of {}\n    but {}\n    began after "
                                       "that write and completed before the read began",
                                       r->to_string(), w->to_string(), newer->to_string())});
      }
    }
    // Acknowledged writes that no read ever saw, while every read that began after them saw
    // something older: the write was lost, not merely overwritten.
    for (const Operation* w : acked) {
      if (w->op.kind == OpKind::kAppend || times_seen.count(w) > 0) {
        continue;
      }
      std::size_t later = 0;
      bool all_older = true;
      for (const Operation* r : k.reads) {
        if (r->invoke_event < w->complete_event || r->op.value.is_list()) {
          continue;
        }
        ++later;
        const Value& v = r->op.value;
        auto it = v.is_int() ? k.by_value.find(v.as_int()) : k.by_value.end();
        bool older =
            v.is_nil() || (it != k.by_value.end() && it->second->complete_event < w->invoke_event);
        all_older = all_older && older;
      }
      if (later > 0 && all_older) {
        found.push_back(
            {"lost update", fmt::format("{}\n    was acknowledged, but all {} reads that began "
                                        "after it returned older values",
                                        w->to_string(), later)});
      }
    }
    // Two compare-and-sets that succeeded from the same value: one read-modify-write was lost.
    std::map<std::uint64_t, const Operation*> cas_from;
    for (const Operation* c : k.cas) {
      auto [it, inserted] = cas_from.emplace(c->op.expected.hash(), c);
      if (!inserted && it->second->op.expected == c->op.expected) {
        found.push_back(
            {"lost update",
             fmt::format("{}\n    and {}\n    both succeeded from {}: one "
                         "overwrote the other without reading it",
                         it->second->to_string(), c->to_string(), c->op.expected.to_string())});
      }
    }
  }
  return verdict("stale-reads-and-lost-updates",
                 fmt::format("{} operations on {} keys", ops.size(), keys.size()), found,
                 options.max_reported);
}

}  // namespace faultline::check
