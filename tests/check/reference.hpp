// Brute-force reference checkers and generators of small, nasty histories.
//
// The reference checkers decide by plain enumeration, with no pruning, caching or cleverness
// that could share a bug with the real checkers: every order of the operations that real time
// (and, for transactions, commit timestamps) allows, every subset of the operations whose
// outcome is unknown, run through the sequential model. They are exponential and only meant
// for histories of a handful of operations.
//
// The generators draw values from a small range (2-5 values, as Jepsen's clients do), so
// values repeat and the initial value gets written again; they make operations end as ok,
// fail, info (having taken effect or not) or pending, record compare-and-sets whose compare
// failed, and then sometimes corrupt one result so that about half the histories are wrong.
#pragma once

#include "generators.hpp"

#include <faultline/check/linearizability.hpp>
#include <faultline/rng.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace faultline::check::reference {

/// Linearizable by enumeration: place, one at a time, any operation that no unplaced
/// completed operation must precede (it returned before this one was invoked); stop when every
/// completed operation is placed (the unknown ones left out never took effect).
inline bool linearizable(const History& h, const Model& model) {
  std::vector<Operation> ops;
  for (const Operation& op : h.operations()) {
    if (op.outcome != Outcome::kFail) {
      ops.push_back(op);
    }
  }
  const std::size_t n = ops.size();
  std::vector<bool> placed(n, false);
  // One state per key for a map model, one for a single object: the model's step applied to
  // the state of the op's key.
  using State = std::map<std::string, Value>;
  auto key_of = [&](const Op& op) { return model.partition_by_key ? op.key : std::string(); };
  auto search = [&](auto& self, const State& state, std::size_t required_left) -> bool {
    if (required_left == 0) {
      return true;
    }
    for (std::size_t x = 0; x < n; ++x) {
      if (placed[x]) {
        continue;
      }
      bool eligible = true;
      for (std::size_t y = 0; y < n && eligible; ++y) {
        eligible = placed[y] || !ops[y].ok() || ops[y].complete_event > ops[x].invoke_event;
      }
      if (!eligible) {
        continue;
      }
      // An unknown read is invoked with no result: it constrains nothing whatever it returned.
      const std::string key = key_of(ops[x].op);
      auto it = state.find(key);
      const Value current = it == state.end() ? model.initial : it->second;
      std::optional<Value> next = ops[x].unknown() && ops[x].op.kind == OpKind::kRead
                                      ? std::optional<Value>(current)
                                      : model.step(current, ops[x].op);
      if (!next) {
        continue;
      }
      State after = state;
      after[key] = *next;
      placed[x] = true;
      bool found = self(self, after, required_left - (ops[x].ok() ? 1 : 0));
      placed[x] = false;
      if (found) {
        return true;
      }
    }
    return false;
  };
  std::size_t required = 0;
  for (const Operation& op : ops) {
    required += op.ok() ? 1 : 0;
  }
  return search(search, State{}, required);
}

/// The steps of an operation: a transaction's, or one step for a single read or write.
inline std::vector<MicroOp> reference_steps(const Operation& op) {
  return op.op.kind == OpKind::kTxn
             ? op.op.txn
             : std::vector<MicroOp>{MicroOp{op.op.kind, op.op.key, op.op.value}};
}

/// The search both enumerations share: is there a serial order of `ops` (failed ones already
/// removed) that respects real time and `must_precede(y, x)` (y before x) among ok operations,
/// places any subset of the unknown ones, and makes every read of an ok operation see the
/// latest write (or its own earlier one)?
inline bool serial_order_exists(const std::vector<Operation>& ops,
                                const std::function<bool(std::size_t, std::size_t)>& must_precede) {
  const std::size_t n = ops.size();
  auto steps = reference_steps;
  std::vector<bool> placed(n, false);
  using State = std::map<std::string, Value>;
  auto search = [&](auto& self, const State& state, std::size_t required_left) -> bool {
    if (required_left == 0) {
      return true;
    }
    for (std::size_t x = 0; x < n; ++x) {
      if (placed[x]) {
        continue;
      }
      bool eligible = true;
      for (std::size_t y = 0; y < n && eligible; ++y) {
        if (placed[y] || !ops[y].ok()) {
          continue;
        }
        eligible = ops[y].complete_event > ops[x].invoke_event && !must_precede(y, x);
      }
      if (!eligible) {
        continue;
      }
      State next = state;
      bool valid = true;
      for (const MicroOp& m : steps(ops[x])) {
        Value& v = next[m.key];
        if (m.kind == OpKind::kRead) {
          valid = valid && (!ops[x].ok() || m.value == v);
        } else if (m.kind == OpKind::kWrite) {
          v = m.value;
        } else {
          v = v.appended(m.value.as_int());
        }
      }
      if (!valid) {
        continue;
      }
      placed[x] = true;
      bool found = self(self, next, required_left - (ops[x].ok() ? 1 : 0));
      placed[x] = false;
      if (found) {
        return true;
      }
    }
    return false;
  };
  std::size_t required = 0;
  for (const Operation& op : ops) {
    required += op.ok() ? 1 : 0;
  }
  return search(search, State{}, required);
}

/// Strictly serializable by the commit-timestamp contract (see transactions.hpp), decided by
/// enumeration: (a) an operation that completed before another was invoked has a smaller
/// timestamp; (b) no two ok operations that write one key share a timestamp; (c) some serial
/// order of the ok operations by non-decreasing timestamp (ties in any order) that respects
/// real time, with any subset of the unknown ones placed anywhere real time allows, makes
/// every read of an ok operation see the latest write (or its own earlier one).
inline bool strictly_serializable(const History& h) {
  std::vector<Operation> ops;
  for (const Operation& op : h.operations()) {
    if (op.outcome != Outcome::kFail) {
      ops.push_back(op);
    }
  }
  auto steps = reference_steps;
  const std::size_t n = ops.size();
  for (std::size_t x = 0; x < n; ++x) {
    for (std::size_t y = 0; y < n; ++y) {
      if (x == y || !ops[x].ok() || !ops[y].ok()) {
        continue;
      }
      if (ops[y].complete_event < ops[x].invoke_event && *ops[y].commit_ts >= *ops[x].commit_ts) {
        return false;  // (a)
      }
      if (x < y && *ops[x].commit_ts == *ops[y].commit_ts) {
        for (const MicroOp& a : steps(ops[x])) {
          for (const MicroOp& b : steps(ops[y])) {
            if (a.kind != OpKind::kRead && b.kind != OpKind::kRead && a.key == b.key) {
              return false;  // (b)
            }
          }
        }
      }
    }
  }
  return serial_order_exists(ops, [&](std::size_t y, std::size_t x) {
    return ops[x].ok() && *ops[y].commit_ts < *ops[x].commit_ts;
  });
}

/// Strictly serializable with read-only transactions placed (TransactionCheckOptions::
/// place_read_only), by enumeration: (a) and (b) as above, for the read-write operations only
/// (an ok operation with a step that is not a read); (c) some serial order of the ok
/// operations that respects real time, in which any two ok read-write operations that conflict
/// (one writes a key the other reads or writes) keep their timestamp order (equal timestamps
/// either way), with any subset of the unknown ones placed anywhere real time allows, makes
/// every read of an ok operation see the latest write (or its own earlier one). Read-only
/// operations have no timestamp. `all_in_timestamp_order`: every two ok read-write operations
/// keep their timestamp order, conflicting or not: the stricter rule the timestamp sweep alone
/// used to apply, for tests that show histories where the two differ.
inline bool strictly_serializable_placed(const History& h, bool all_in_timestamp_order = false) {
  std::vector<Operation> ops;
  for (const Operation& op : h.operations()) {
    if (op.outcome != Outcome::kFail) {
      ops.push_back(op);
    }
  }
  auto steps = reference_steps;
  const std::size_t n = ops.size();
  std::vector<bool> read_write(n, false);
  for (std::size_t x = 0; x < n; ++x) {
    for (const MicroOp& m : steps(ops[x])) {
      read_write[x] = read_write[x] || (ops[x].ok() && m.kind != OpKind::kRead);
    }
  }
  // before[y][x]: y must precede x by timestamp.
  std::vector<std::vector<bool>> before(n, std::vector<bool>(n, false));
  for (std::size_t x = 0; x < n; ++x) {
    for (std::size_t y = 0; y < n; ++y) {
      if (x == y || !read_write[x] || !read_write[y]) {
        continue;
      }
      if (ops[y].complete_event < ops[x].invoke_event && *ops[y].commit_ts >= *ops[x].commit_ts) {
        return false;  // (a)
      }
      bool conflict = false;
      bool both_write = false;
      for (const MicroOp& a : steps(ops[x])) {
        for (const MicroOp& b : steps(ops[y])) {
          if (a.key == b.key && (a.kind != OpKind::kRead || b.kind != OpKind::kRead)) {
            conflict = true;
            both_write = both_write || (a.kind != OpKind::kRead && b.kind != OpKind::kRead);
          }
        }
      }
      if (both_write && *ops[x].commit_ts == *ops[y].commit_ts) {
        return false;  // (b)
      }
      before[y][x] = (conflict || all_in_timestamp_order) && *ops[y].commit_ts < *ops[x].commit_ts;
    }
  }
  return serial_order_exists(ops, [&](std::size_t y, std::size_t x) { return before[y][x]; });
}

enum class Shape { kRegister, kKeyValue, kListAppend };

struct SmallHistory {
  History history;
  Value initial;
};

/// A small random history on one register (or two keys), 2-7 operations from 3 clients.
/// Results come from a real execution at random linearization points; then, half the time,
/// one result is corrupted.
inline SmallHistory small_history(std::uint64_t seed, Shape shape, int max_ops = 7) {
  Rng rng(seed);
  const auto range = rng.uniform_int(2, 5);  // values 0 .. range-1
  auto any_value = [&]() { return Value::of(rng.uniform_int(0, range - 1)); };
  SmallHistory out;
  if (shape == Shape::kListAppend) {
    out.initial = rng.below(2) == 0 ? Value::nil() : Value::list({});
    if (rng.below(4) == 0) {
      out.initial = Value::list({rng.uniform_int(0, range - 1)});
    }
  } else {
    out.initial = rng.below(2) == 0 ? Value::nil() : any_value();
  }
  struct G {
    std::int64_t client, from, point, to;
    Op op;
    EventType end = EventType::kOk;
    bool applies = false;  // set below for every operation; initialised so copies are defined
  };
  std::vector<G> gen;
  std::vector<std::int64_t> free_at(3, 0);
  const auto n = rng.uniform_int(2, max_ops);
  for (std::int64_t i = 0; i < n; ++i) {
    auto c = static_cast<std::size_t>(rng.below(3));
    G g;
    g.client = static_cast<std::int64_t>(c);
    g.from = free_at[c] + rng.uniform_int(0, 4);
    g.point = g.from + rng.uniform_int(0, 4);
    g.to = g.point + rng.uniform_int(1, 4);
    free_at[c] = g.to + 1;
    std::string key = shape == Shape::kKeyValue && rng.below(2) == 0 ? "y" : "x";
    auto roll = rng.below(10);
    if (shape == Shape::kListAppend) {
      g.op = roll < 5 ? Op::read(key) : Op::append(key, rng.uniform_int(0, range - 1));
    } else if (roll < 4) {
      g.op = Op::read(key);
    } else if (roll < 7) {
      // Writes of the initial value are common when values are few; make them more so.
      g.op =
          Op::write(key, rng.below(3) == 0 && out.initial.is_int() ? out.initial.as_int()
                                                                   : rng.uniform_int(0, range - 1));
    } else {
      g.op = Op::cas(key, rng.below(5) == 0 ? Value::nil() : any_value(),
                     rng.uniform_int(0, range - 1));
    }
    auto outcome = rng.below(20);
    g.end = outcome < 14 ? EventType::kOk : outcome < 18 ? EventType::kInfo : EventType::kFail;
    gen.push_back(std::move(g));
  }
  // A client's last operation is sometimes still pending when the history ends.
  for (std::int64_t c = 0; c < 3; ++c) {
    for (std::size_t i = gen.size(); i-- > 0;) {
      if (gen[i].client == c) {
        if (rng.below(4) == 0) {
          gen[i].end = EventType::kInvoke;
        }
        break;
      }
    }
  }
  for (G& g : gen) {
    g.applies = g.end == EventType::kOk ||
                ((g.end == EventType::kInfo || g.end == EventType::kInvoke) && rng.below(2) == 0);
  }
  // Execute at the linearization points.
  std::vector<std::size_t> order(gen.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    order[i] = i;
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return gen[a].point < gen[b].point; });
  std::map<std::string, Value> store;
  auto at = [&](const std::string& k) -> Value& {
    return store.try_emplace(k, out.initial).first->second;
  };
  std::vector<Op> results(gen.size());
  for (std::size_t i : order) {
    G& g = gen[i];
    results[i] = g.op;
    if (!g.applies) {
      continue;
    }
    Value& v = at(g.op.key);
    switch (g.op.kind) {
      case OpKind::kRead:
        results[i].value = v;
        break;
      case OpKind::kWrite:
        v = g.op.value;
        break;
      case OpKind::kAppend:
        v = v.appended(g.op.value.as_int());
        break;
      case OpKind::kCas:
        if (v == g.op.expected) {
          v = g.op.value;
        } else if (g.end == EventType::kOk) {
          // The compare failed: recorded as such (a result), or as a plain fail (dropped).
          if (rng.below(2) == 0) {
            results[i].cas_failed = true;
          } else {
            g.end = EventType::kFail;
          }
        }
        break;
      default:
        break;
    }
  }
  // Corrupt one ok result half the time.
  if (rng.below(2) == 0) {
    std::vector<std::size_t> oks;
    for (std::size_t i = 0; i < gen.size(); ++i) {
      if (gen[i].end == EventType::kOk &&
          (gen[i].op.kind == OpKind::kRead || gen[i].op.kind == OpKind::kCas)) {
        oks.push_back(i);
      }
    }
    if (!oks.empty()) {
      std::size_t i = oks[rng.below(oks.size())];
      if (gen[i].op.kind == OpKind::kCas) {
        results[i].cas_failed = !results[i].cas_failed;
      } else if (shape == Shape::kListAppend) {
        std::vector<std::int64_t> items =
            results[i].value.is_list() ? results[i].value.as_list() : std::vector<std::int64_t>{};
        auto r = rng.below(3);
        if (r == 0 && !items.empty()) {
          items.erase(items.begin() + static_cast<std::ptrdiff_t>(rng.below(items.size())));
        } else if (r == 1 && items.size() > 1) {
          std::swap(items.front(), items.back());
        } else {
          items.push_back(rng.uniform_int(0, range - 1));
        }
        results[i].value = Value::list(std::move(items));
      } else {
        results[i].value = rng.below(4) == 0 ? Value::nil() : any_value();
      }
    }
  }
  testing_support::Builder b;
  for (std::size_t i = 0; i < gen.size(); ++i) {
    b.op(gen[i].client, gen[i].from, gen[i].to, gen[i].op, gen[i].end, results[i]);
  }
  out.history = b.build();
  return out;
}

/// A small random transactional history: 2-6 transactions of 1-3 steps on two keys, values
/// from a small range, commit timestamps from a real serial execution rounded coarsely so that
/// many tie; half the time one read result or one timestamp is corrupted. `with_info`: some
/// transactions end unknown (writes and reads only, no appends).
inline History small_txn_history(std::uint64_t seed, bool with_info) {
  Rng rng(seed);
  const auto range = rng.uniform_int(2, 5);
  struct G {
    std::int64_t client, from, point, to;
    Op op;
    EventType end;
  };
  std::vector<G> gen;
  std::vector<std::int64_t> free_at(3, 0);
  const auto n = rng.uniform_int(2, 6);
  for (std::int64_t i = 0; i < n; ++i) {
    auto c = static_cast<std::size_t>(rng.below(3));
    G g;
    g.client = static_cast<std::int64_t>(c);
    g.from = free_at[c] + rng.uniform_int(0, 4);
    g.point = g.from + rng.uniform_int(0, 4);
    g.to = g.point + rng.uniform_int(1, 4);
    free_at[c] = g.to + 1;
    std::vector<MicroOp> steps;
    auto len = rng.uniform_int(1, 3);
    for (std::int64_t s = 0; s < len; ++s) {
      std::string k = rng.below(2) == 0 ? "x" : "y";
      auto r = rng.below(with_info ? 2 : 3);
      steps.push_back(r == 0   ? MicroOp::read(k)
                      : r == 1 ? MicroOp::write(k, rng.uniform_int(0, range - 1))
                               : MicroOp::append(k, rng.uniform_int(0, range - 1)));
    }
    g.op = Op::transaction(std::move(steps));
    auto outcome = rng.below(10);
    g.end = !with_info || outcome < 7 ? EventType::kOk
            : outcome < 9             ? EventType::kInfo
                                      : EventType::kFail;
    gen.push_back(std::move(g));
  }
  std::vector<std::size_t> order(gen.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    order[i] = i;
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return gen[a].point < gen[b].point; });
  std::map<std::string, Value> store;
  std::vector<Op> results(gen.size());
  std::vector<std::int64_t> ts(gen.size(), 0);
  const auto grain = rng.uniform_int(1, 6);  // coarse timestamps: ties are common
  for (std::size_t i : order) {
    results[i] = gen[i].op;
    ts[i] = gen[i].point / grain;
    if (gen[i].end == EventType::kFail || (gen[i].end == EventType::kInfo && rng.below(2) == 0)) {
      continue;
    }
    for (MicroOp& m : results[i].txn) {
      Value& v = store[m.key];
      if (m.kind == OpKind::kRead) {
        m.value = v;
      } else if (m.kind == OpKind::kWrite) {
        v = m.value;
      } else {
        v = v.appended(m.value.as_int());
      }
    }
  }
  if (rng.below(2) == 0) {
    std::size_t i = rng.below(gen.size());
    if (rng.below(3) == 0) {
      ts[i] += rng.below(2) == 0 ? -grain : grain;
    } else {
      for (MicroOp& m : results[i].txn) {
        if (m.kind == OpKind::kRead) {
          m.value = rng.below(3) == 0 ? Value::nil() : Value::of(rng.uniform_int(0, range - 1));
          break;
        }
      }
    }
  }
  testing_support::Builder b;
  for (std::size_t i = 0; i < gen.size(); ++i) {
    b.op(gen[i].client, gen[i].from, gen[i].to, gen[i].op, gen[i].end, results[i],
         gen[i].end == EventType::kOk ? std::optional<std::int64_t>(ts[i]) : std::nullopt);
  }
  return b.build();
}

/// A small random history of read-only and read-write transactions as a Spanner-like store
/// makes them: 2-8 transactions from 4 clients on 2-3 keys (think of each key as its own
/// Paxos group), values from a small range so that they repeat. A read-write transaction gets
/// a commit timestamp inside its interval (coarsened, so that some tie), sees the state in
/// timestamp order, and becomes visible to read-only ones at a point between its timestamp and
/// its completion (commit wait). A read-only transaction reads, per key, the latest visible
/// version (a LastTS() read: it may miss a commit still waiting on one group while it sees a
/// later-timestamp one on another, which is fine when they are unrelated and an anomaly when
/// they are not), or at times the state as of its own timestamp. Its commit_ts is the LastTS
/// of what it saw (unused when read-only transactions are placed). A third of the time one
/// read result or one read-write timestamp is then corrupted. `with_info`: some read-write
/// transactions end unknown or failed (writes and reads only, no appends).
inline History small_placed_txn_history(std::uint64_t seed, bool with_info) {
  Rng rng(seed);
  // Half the histories are crowded: 4-8 transactions on two keys with two values,
  // read-write ones that only write and overlap for long, read-only ones that read twice, so
  // that a read matches several versions that real time all allows, and which one it saw
  // decides.
  const bool crowded = rng.below(2) == 0;
  const auto range = crowded ? 2 : rng.uniform_int(2, 4);
  const auto keys = crowded ? 2 : rng.uniform_int(2, 3);
  auto any_key = [&]() {
    return std::string(1, static_cast<char>('x' + rng.below(static_cast<std::uint64_t>(keys))));
  };
  struct G {
    std::int64_t client, from, point, to, visible;
    bool read_only;
    Op op;
    EventType end;
    bool applies;
  };
  std::vector<G> gen;
  std::vector<std::int64_t> free_at(4, 0);
  // A third of the histories open with the LastTS shape: a read-write transaction in a long
  // commit wait (client 0), a short one that commits later and completes inside that wait
  // (client 1), then a read-only one inside it too (client 2). Their steps are random like
  // the rest; random timing alone makes the shape rare.
  const bool last_ts_shape = rng.below(3) == 0;
  const auto n = crowded ? rng.uniform_int(4, 8) : rng.uniform_int(last_ts_shape ? 3 : 2, 7);
  for (std::int64_t i = 0; i < n; ++i) {
    G g{};
    if (last_ts_shape && i < 3) {
      g.client = i;
      g.read_only = i == 2;
      g.from = i == 0 ? 0 : i == 1 ? rng.uniform_int(1, 2) : free_at[1] + rng.uniform_int(0, 1);
      g.point = i == 0 ? 1 : g.from + rng.uniform_int(0, 1);
      g.to = i == 0 ? rng.uniform_int(10, 14) : g.point + rng.uniform_int(1, 2);
      g.visible = i == 0 ? g.to : g.point;
    } else {
      g.client = static_cast<std::int64_t>(rng.below(4));
      g.read_only = rng.below(2) == 0;
      const std::int64_t free = free_at[static_cast<std::size_t>(g.client)];
      g.from = free + rng.uniform_int(0, crowded && !g.read_only ? 1 : 4);
      g.point = g.from + rng.uniform_int(0, 4);
      // Read-write transactions may wait long to commit, and become visible when they
      // complete at the latest; read-only ones are short.
      g.to = g.point + (g.read_only ? rng.uniform_int(1, 3)
                                    : rng.uniform_int(crowded ? 4 : 1, crowded ? 12 : 10));
      auto wait = rng.below(3);
      g.visible = wait == 0 ? g.point : wait == 1 ? rng.uniform_int(g.point, g.to) : g.to;
    }
    free_at[static_cast<std::size_t>(g.client)] = g.to + 1;
    std::vector<MicroOp> steps;
    auto len = crowded && g.read_only ? 2 : rng.uniform_int(1, 3);
    for (std::int64_t s = 0; s < len; ++s) {
      auto r = g.read_only ? 0 : crowded ? 1 : rng.below(with_info ? 2 : 3);
      if (r == 0 && !g.read_only && s == len - 1 &&
          std::all_of(steps.begin(), steps.end(),
                      [](const MicroOp& m) { return m.kind == OpKind::kRead; })) {
        r = 1;  // a read-write transaction writes something
      }
      steps.push_back(r == 0   ? MicroOp::read(any_key())
                      : r == 1 ? MicroOp::write(any_key(), rng.uniform_int(0, range - 1))
                               : MicroOp::append(any_key(), rng.uniform_int(0, range - 1)));
    }
    g.op = Op::transaction(std::move(steps));
    auto outcome = rng.below(10);
    g.end = !with_info || g.read_only || outcome < 7 ? EventType::kOk
            : outcome < 9                            ? EventType::kInfo
                                                     : EventType::kFail;
    g.applies = g.end == EventType::kOk || (g.end == EventType::kInfo && rng.below(2) == 0);
    gen.push_back(std::move(g));
  }
  const auto grain = rng.uniform_int(1, 3);
  // Read-write transactions in timestamp order; each key's versions as (timestamp, visible
  // from, state).
  std::vector<std::size_t> order(gen.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    order[i] = i;
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return gen[a].point < gen[b].point; });
  struct Version {
    std::int64_t ts, visible;
    Value state;
  };
  std::map<std::string, std::vector<Version>> versions;
  std::map<std::string, Value> store;
  std::vector<Op> results(gen.size());
  std::vector<std::int64_t> ts(gen.size(), 0);
  for (std::size_t i : order) {
    results[i] = gen[i].op;
    ts[i] = gen[i].point / grain;
    if (gen[i].read_only || !gen[i].applies) {
      continue;
    }
    std::map<std::string, Value> written;
    for (MicroOp& m : results[i].txn) {
      Value& v = store[m.key];
      if (m.kind == OpKind::kRead) {
        m.value = v;
        continue;
      }
      v = m.kind == OpKind::kWrite ? m.value : v.appended(m.value.as_int());
      written[m.key] = v;
    }
    for (auto& [key, v] : written) {
      versions[key].push_back({ts[i], gen[i].visible, v});
    }
  }
  for (std::size_t i = 0; i < gen.size(); ++i) {
    if (!gen[i].read_only) {
      continue;
    }
    const bool last_visible = rng.below(3) != 0;
    std::int64_t last_ts = 0;
    for (MicroOp& m : results[i].txn) {
      Value seen;
      for (const Version& v : versions[m.key]) {
        if (last_visible ? v.visible <= gen[i].point : v.ts <= gen[i].point / grain) {
          seen = v.state;
          last_ts = std::max(last_ts, v.ts);
        }
      }
      m.value = seen;
    }
    ts[i] = last_visible ? last_ts : gen[i].point / grain;
  }
  if (rng.below(3) == 0) {
    std::size_t i = rng.below(gen.size());
    bool changed = false;
    for (MicroOp& m : results[i].txn) {
      if (m.kind == OpKind::kRead && !changed) {
        m.value = rng.below(4) == 0 ? Value::nil() : Value::of(rng.uniform_int(0, range - 1));
        changed = true;
      }
    }
    if (!changed) {
      ts[i] += rng.below(2) == 0 ? -grain : grain;
    }
  }
  testing_support::Builder b;
  for (std::size_t i = 0; i < gen.size(); ++i) {
    b.op(gen[i].client, gen[i].from, gen[i].to, gen[i].op, gen[i].end, results[i],
         gen[i].end == EventType::kOk ? std::optional<std::int64_t>(ts[i]) : std::nullopt);
  }
  return b.build();
}

}  // namespace faultline::check::reference
