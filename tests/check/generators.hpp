// Test helpers: hand-built histories and randomised histories from a correct sequential model.
//
// The generator runs `clients` sequential clients against one true key-value store. Each op
// has an invocation, a linearization point strictly inside its interval, and a completion;
// the store applies ops at their linearization points, so the history it records is
// linearizable (and, with commit_ts = linearization point, strictly serializable) by
// construction. Some ops end as `info` (crash, timeout) after really taking effect or not.
#pragma once

#include <faultline/check/history.hpp>
#include <faultline/rng.hpp>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace faultline::check::testing_support {

inline Time ms(std::int64_t n) { return Time::zero() + Duration::millis(n); }

/// Builds a history from operations given as intervals, in any order: the events are sorted
/// into true-time order (completions before invocations at equal times).
class Builder {
public:
  /// `end` kInvoke leaves the operation pending. `result` defaults to the invoked op.
  Builder& op(std::int64_t client, std::int64_t from_ms, std::int64_t to_ms, Op invoked,
              EventType end = EventType::kOk, std::optional<Op> result = std::nullopt,
              std::optional<std::int64_t> commit_ts = std::nullopt) {
    std::size_t n = evs_.size();
    evs_.push_back({ms(from_ms), 1, n, Event{EventType::kInvoke, client, ms(from_ms), invoked, {}}});
    if (end != EventType::kInvoke) {
      evs_.push_back({ms(to_ms), 0, n + 1,
                      Event{end, client, ms(to_ms), result ? *result : invoked, commit_ts}});
    }
    return *this;
  }
  History build() const {
    std::vector<Pending> sorted = evs_;
    std::sort(sorted.begin(), sorted.end(), [](const Pending& a, const Pending& b) {
      if (a.t != b.t) {
        return a.t < b.t;
      }
      return a.kind != b.kind ? a.kind < b.kind : a.seq < b.seq;
    });
    History h;
    for (const Pending& p : sorted) {
      h.add(p.e);
    }
    return h;
  }

private:
  struct Pending {
    Time t;
    int kind;
    std::size_t seq;
    Event e;
  };
  std::vector<Pending> evs_;
};

/// A committed transaction at commit timestamp `ts`: the invocation carries its steps with the
/// reads' values unknown, the completion the steps as they ran.
inline void txn(Builder& b, std::int64_t client, std::int64_t from_ms, std::int64_t to_ms,
                std::int64_t ts, std::vector<MicroOp> steps) {
  std::vector<MicroOp> invoked = steps;
  for (MicroOp& m : invoked) {
    if (m.kind == OpKind::kRead) {
      m.value = Value::nil();
    }
  }
  b.op(client, from_ms, to_ms, Op::transaction(invoked), EventType::kOk,
       Op::transaction(std::move(steps)), ts);
}

struct GenOptions {
  int clients = 5;
  int ops = 200;
  int keys = 3;
  /// Percent of ops that are reads, writes (the rest are cas on the register model).
  int read_pct = 50;
  int write_pct = 40;
  /// Percent of non-read ops that end as info (half of them took effect).
  int info_pct = 5;
  bool transactions = false;  ///< each op is a 1–3 step txn with commit_ts
};

struct GenOp {
  std::int64_t client;
  std::int64_t invoke;
  std::int64_t point;
  std::int64_t complete;
  Op op;
  bool applies = true;  ///< false: an info op that did not take effect
  bool info = false;
};

/// A history linearizable with respect to Model::key_value() by construction.
inline History generate(std::uint64_t seed, const GenOptions& o) {
  Rng rng(seed);
  std::vector<GenOp> gen;
  std::vector<std::int64_t> free_at(static_cast<std::size_t>(o.clients), 0);
  std::int64_t next_value = 1;
  for (int i = 0; i < o.ops; ++i) {
    auto c = static_cast<std::size_t>(rng.below(static_cast<std::uint64_t>(o.clients)));
    GenOp g;
    g.client = static_cast<std::int64_t>(c);
    g.invoke = free_at[c] + rng.uniform_int(0, 3000);
    g.point = g.invoke + rng.uniform_int(1, 4000);
    g.complete = g.point + rng.uniform_int(1, 4000);
    free_at[c] = g.complete + 1;
    std::string key = "k" + std::to_string(rng.below(static_cast<std::uint64_t>(o.keys)));
    if (o.transactions) {
      std::vector<MicroOp> steps;
      int n = static_cast<int>(rng.uniform_int(1, 3));
      for (int s = 0; s < n; ++s) {
        std::string k = "k" + std::to_string(rng.below(static_cast<std::uint64_t>(o.keys)));
        if (rng.below(2) == 0) {
          steps.push_back(MicroOp::read(k));
        } else {
          steps.push_back(MicroOp::write(k, next_value++));
        }
      }
      g.op = Op::transaction(std::move(steps));
    } else {
      auto roll = static_cast<int>(rng.below(100));
      if (roll < o.read_pct) {
        g.op = Op::read(key);
      } else if (roll < o.read_pct + o.write_pct) {
        g.op = Op::write(key, next_value++);
      } else {
        g.op = Op::cas(key, Value::nil(), next_value++);  // expected filled in at its point
      }
    }
    if (g.op.kind != OpKind::kRead && rng.below(100) < static_cast<std::uint64_t>(o.info_pct)) {
      g.info = true;
      g.applies = rng.below(2) == 0;
    }
    gen.push_back(std::move(g));
  }
  // Apply at linearization points, in time order.
  std::vector<std::size_t> order(gen.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    order[i] = i;
  }
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return gen[a].point < gen[b].point; });
  std::map<std::string, Value> store;
  for (std::size_t i : order) {
    GenOp& g = gen[i];
    if (!g.applies) {
      continue;
    }
    Op& op = g.op;
    switch (op.kind) {
      case OpKind::kRead:
        op.value = store[op.key];
        break;
      case OpKind::kWrite:
        store[op.key] = op.value;
        break;
      case OpKind::kCas:
        // Succeeds from whatever is there: a correct client read it just before.
        op.expected = store[op.key];
        store[op.key] = op.value;
        break;
      case OpKind::kTxn:
        for (MicroOp& m : op.txn) {
          if (m.kind == OpKind::kRead) {
            m.value = store[m.key];
          } else {
            store[m.key] = m.value;
          }
        }
        break;
      default:
        break;
    }
  }
  // Emit invoke and completion events in time order (ties: by op index, invokes first).
  struct Ev {
    std::int64_t t;
    int kind;  // 0 complete, 1 invoke: completions first at equal times
    std::size_t op;
  };
  std::vector<Ev> evs;
  for (std::size_t i = 0; i < gen.size(); ++i) {
    evs.push_back({gen[i].invoke, 1, i});
    evs.push_back({gen[i].complete, 0, i});
  }
  std::sort(evs.begin(), evs.end(), [](const Ev& a, const Ev& b) {
    return a.t != b.t ? a.t < b.t : a.kind != b.kind ? a.kind < b.kind : a.op < b.op;
  });
  History h;
  for (const Ev& e : evs) {
    const GenOp& g = gen[e.op];
    Time t = Time::from_ns(e.t * 1000);
    if (e.kind == 1) {
      Op invoked = g.op;
      if (invoked.kind == OpKind::kRead) {
        invoked.value = Value::nil();
      }
      for (MicroOp& m : invoked.txn) {
        if (m.kind == OpKind::kRead) {
          m.value = Value::nil();
        }
      }
      h.invoke(g.client, t, invoked);
    } else if (g.info) {
      h.info(g.client, t);
    } else {
      h.ok(g.client, t, g.op,
           o.transactions ? std::optional<std::int64_t>(g.point) : std::nullopt);
    }
  }
  return h;
}

/// Rebuilds a history with one event's op replaced (mutations for must-fail tests).
inline History with_event(const History& h, std::size_t index, const Event& replacement) {
  History out;
  for (std::size_t i = 0; i < h.events().size(); ++i) {
    out.add(i == index ? replacement : h.events()[i]);
  }
  return out;
}

/// Makes a read stale: finds an ok read R on key k and writes W1, W2 on k with
/// W1 → W2 → R in real time, and makes R return W1's value. Returns false if none exists.
inline bool make_stale_read(History& h) {
  std::vector<Operation> ops = h.operations();
  for (const Operation& r : ops) {
    if (!r.ok() || r.op.kind != OpKind::kRead) {
      continue;
    }
    for (const Operation& w2 : ops) {
      if (!w2.ok() || w2.op.kind != OpKind::kWrite || w2.op.key != r.op.key ||
          w2.complete_event > r.invoke_event) {
        continue;
      }
      for (const Operation& w1 : ops) {
        if (!w1.ok() || w1.op.kind != OpKind::kWrite || w1.op.key != r.op.key ||
            w1.complete_event > w2.invoke_event) {
          continue;
        }
        Event e = h.events()[r.complete_event];
        e.op.value = w1.op.value;
        h = with_event(h, r.complete_event, e);
        return true;
      }
    }
  }
  return false;
}

/// Makes a read return the value of a write invoked only after the read completed.
inline bool make_future_read(History& h) {
  std::vector<Operation> ops = h.operations();
  for (const Operation& r : ops) {
    if (!r.ok() || r.op.kind != OpKind::kRead) {
      continue;
    }
    for (const Operation& w : ops) {
      if (w.op.kind == OpKind::kWrite && w.outcome != Outcome::kFail && w.op.key == r.op.key &&
          w.invoke_event > r.complete_event) {
        Event e = h.events()[r.complete_event];
        e.op.value = w.op.value;
        h = with_event(h, r.complete_event, e);
        return true;
      }
    }
  }
  return false;
}

}  // namespace faultline::check::testing_support
