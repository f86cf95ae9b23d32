// Wing–Gong/Lowe linearizability search with Porcupine-style partitioning and memoisation,
// plus shrinking of a failing key to a small sub-history and an explanation of it.
#include <faultline/check/linearizability.hpp>

#include <algorithm>
#include <fmt/format.h>
#include <map>
#include <set>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

namespace faultline::check {

namespace {

constexpr std::size_t kNone = static_cast<std::size_t>(-1);
constexpr std::uint32_t kNoState = static_cast<std::uint32_t>(-1);

std::uint64_t mix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::optional<Value> register_step(const Value& state, const Op& op) {
  switch (op.kind) {
    case OpKind::kRead:
      if (op.value == state) {
        return state;
      }
      return std::nullopt;
    case OpKind::kWrite:
      return op.value;
    case OpKind::kCas:
      if (state == op.expected) {
        return op.value;
      }
      return std::nullopt;
    case OpKind::kAppend:
      if (!op.value.is_int() || state.is_int()) {
        return std::nullopt;
      }
      return state.appended(op.value.as_int());
    case OpKind::kTxn:
    case OpKind::kRequest:
      break;
  }
  throw std::invalid_argument(fmt::format(
      "linearizability: the register and key-value models take read, write, cas and append; "
      "got {} (check transactions with check_strict_serializable)",
      to_string(op.kind)));
}

/// One operation of one partition, as the search sees it.
struct PartOp {
  const Operation* src = nullptr;
  std::size_t call_order = 0;
  std::size_t return_order = kNone;  ///< kNone: outcome unknown, may never take effect.
  bool required() const { return return_order != kNone; }
};

enum class Verdict { kLinearizable, kNotLinearizable, kBudgetExceeded };

/// Interns model states so the search compares and hashes 32-bit ids.
class StateTable {
public:
  std::uint32_t intern(Value v) {
    std::uint64_t h = v.hash();
    auto [it, inserted] = by_hash_.try_emplace(h);
    for (std::uint32_t id : it->second) {
      if (values_[id] == v) {
        return id;
      }
    }
    auto id = static_cast<std::uint32_t>(values_.size());
    values_.push_back(std::move(v));
    it->second.push_back(id);
    return id;
  }
  const Value& value(std::uint32_t id) const { return values_[id]; }
  std::size_t size() const { return values_.size(); }

private:
  std::vector<Value> values_;
  std::unordered_map<std::uint64_t, std::vector<std::uint32_t>> by_hash_;
};

/// A configuration: the set of linearized operations, as a 128-bit Zobrist fingerprint (two
/// independent 64-bit XOR hashes), and the model state. Comparing fingerprints instead of
/// bitsets keeps an entry at 24 bytes whatever the history's length; two different sets share
/// a fingerprint with probability about 2^-128 per pair, far below any hardware error rate.
struct CacheKey {
  std::uint64_t h1;
  std::uint64_t h2;
  std::uint32_t state;
  bool operator==(const CacheKey& o) const {
    return h1 == o.h1 && h2 == o.h2 && state == o.state;
  }
};
struct CacheKeyHash {
  std::size_t operator()(const CacheKey& k) const {
    return static_cast<std::size_t>(k.h1 ^ mix64(k.state));
  }
};

class Searcher {
public:
  Searcher(const Model& model, std::uint64_t budget) : model_(model), budget_(budget) {}

  std::uint64_t explored() const { return explored_total_; }
  StateTable& states() { return states_; }

  /// The next state id, or kNoState if the model rejects the op in that state.
  std::uint32_t step(std::uint32_t state, const Op& op, std::size_t op_key) {
    std::uint64_t key = (static_cast<std::uint64_t>(state) << 32) ^ op_key;
    auto it = step_cache_.find(key);
    if (it != step_cache_.end()) {
      return it->second;
    }
    std::optional<Value> next = model_.step(states_.value(state), op);
    std::uint32_t id = next ? states_.intern(std::move(*next)) : kNoState;
    step_cache_.emplace(key, id);
    return id;
  }

  /// The furthest return entry a failed search reached. Linearizability is prefix-closed, so
  /// this is the return of the operation that ends the shortest failing prefix: the search
  /// reaches it (everything before is linearizable) and never gets past it.
  std::size_t max_return_hit() const { return max_return_hit_; }
  void set_budget(std::uint64_t budget) { budget_ = budget; }

  Verdict run(const std::vector<PartOp>& ops) {
    const std::size_t n = ops.size();
    max_return_hit_ = 0;
    struct Entry {
      std::size_t order;
      std::uint32_t op;
      bool call;
    };
    std::vector<Entry> entries;
    entries.reserve(2 * n);
    std::size_t remaining = 0;
    for (std::size_t i = 0; i < n; ++i) {
      entries.push_back({ops[i].call_order, static_cast<std::uint32_t>(i), true});
      if (ops[i].required()) {
        entries.push_back({ops[i].return_order, static_cast<std::uint32_t>(i), false});
        ++remaining;
      }
    }
    // Stable: an observed unknown write shares its deadline with its first observer.
    std::stable_sort(entries.begin(), entries.end(),
                     [](const Entry& a, const Entry& b) { return a.order < b.order; });
    // Nodes: 0 = head, 1..m = entries, m+1 = tail.
    const std::size_t m = entries.size();
    const std::size_t tail = m + 1;
    std::vector<std::size_t> next(m + 2);
    std::vector<std::size_t> prev(m + 2);
    std::vector<std::size_t> call_node(n, kNone);
    std::vector<std::size_t> return_node(n, kNone);
    for (std::size_t i = 0; i <= m; ++i) {
      next[i] = i + 1;
      prev[i + 1] = i;
    }
    for (std::size_t i = 0; i < m; ++i) {
      (entries[i].call ? call_node : return_node)[entries[i].op] = i + 1;
    }
    auto unlink = [&](std::size_t x) {
      next[prev[x]] = next[x];
      prev[next[x]] = prev[x];
    };
    auto relink = [&](std::size_t x) {
      next[prev[x]] = x;
      prev[next[x]] = x;
    };
    // Zobrist hashes of the linearized set: XOR of one random word per operation, twice.
    std::vector<std::pair<std::uint64_t, std::uint64_t>> zobrist(n);
    for (std::size_t i = 0; i < n; ++i) {
      zobrist[i] = {mix64(2 * i + 1), mix64(~(2 * i + 2))};
    }
    std::uint64_t set_h1 = 0;
    std::uint64_t set_h2 = 0;
    std::unordered_set<CacheKey, CacheKeyHash> cache;
    std::uint32_t state = states_.intern(model_.initial);
    struct Choice {
      std::size_t call;     ///< the call node lifted
      std::uint32_t state;  ///< the state before it
      bool forced;          ///< it left the state unchanged: no alternative needs trying
    };
    std::vector<Choice> stack;
    std::uint64_t explored = 0;
    std::size_t node = next[0];
    while (remaining > 0) {
      // Every return entry lies after the scan position (the scan only passes calls), so the
      // tail is unreachable while required operations remain; treat it as a return anyway.
      bool dead_end = node == tail || !entries[node - 1].call;
      if (!dead_end) {
        std::uint32_t op = entries[node - 1].op;
        std::uint32_t after = step(state, ops[op].src->op, ops[op].src->id);
        if (after != kNoState) {
          // An operation that leaves the state unchanged (a read that fits) can always go
          // first: moving it to the front of any linearization from here keeps that
          // linearization valid. So it is taken without trying alternatives, and if its
          // configuration was already explored (and so failed), this one fails too.
          const bool no_change = after == state;
          set_h1 ^= zobrist[op].first;
          set_h2 ^= zobrist[op].second;
          if (cache.insert(CacheKey{set_h1, set_h2, after}).second) {
            if (++explored > budget_) {
              explored_total_ += explored;
              return Verdict::kBudgetExceeded;
            }
            stack.push_back({node, state, no_change});
            state = after;
            if (ops[op].required()) {
              --remaining;
            }
            unlink(node);
            if (return_node[op] != kNone) {
              unlink(return_node[op]);
            }
            node = next[0];
            continue;
          }
          set_h1 ^= zobrist[op].first;
          set_h2 ^= zobrist[op].second;
          dead_end = no_change;
        }
        if (!dead_end) {
          node = next[node];
          continue;
        }
      } else if (node != tail) {
        max_return_hit_ = std::max(max_return_hit_, entries[node - 1].order);
      }
      // A return entry whose operation was not linearized in time (or a dead end): undo the
      // most recent free choice and try the next candidate after it.
      while (true) {
        if (stack.empty()) {
          explored_total_ += explored;
          return Verdict::kNotLinearizable;
        }
        Choice c = stack.back();
        stack.pop_back();
        std::uint32_t op = entries[c.call - 1].op;
        state = c.state;
        set_h1 ^= zobrist[op].first;
        set_h2 ^= zobrist[op].second;
        if (ops[op].required()) {
          ++remaining;
        }
        if (return_node[op] != kNone) {
          relink(return_node[op]);
        }
        relink(c.call);
        if (!c.forced) {
          node = next[c.call];
          break;
        }
      }
    }
    explored_total_ += explored;
    return Verdict::kLinearizable;
  }

private:
  const Model& model_;
  std::uint64_t budget_;
  std::uint64_t explored_total_ = 0;
  std::size_t max_return_hit_ = 0;
  StateTable states_;
  std::unordered_map<std::uint64_t, std::uint32_t> step_cache_;
};

/// The prefix of a partition up to (and including) the k-th return: operations invoked before
/// that return; those still in flight at it become unknown (reads among them are dropped).
std::vector<PartOp> prefix_of(const std::vector<PartOp>& ops, std::size_t cutoff) {
  std::vector<PartOp> out;
  for (const PartOp& p : ops) {
    if (p.call_order > cutoff) {
      continue;
    }
    PartOp q = p;
    if (q.return_order != kNone && q.return_order > cutoff) {
      q.return_order = kNone;
      if (q.src->op.kind == OpKind::kRead) {
        continue;
      }
    }
    out.push_back(q);
  }
  return out;
}

struct Shrunk {
  std::vector<PartOp> ops;  ///< Small failing sub-history, in invocation order.
  std::size_t culprit = 0;  ///< Index in ops of the operation that cannot take effect.
};

/// `culprit_return`: max_return_hit() of the failed search over `ops`. Each shrinking trial
/// gets `trial_budget` configurations; one that runs out keeps its operations (only proven
/// failures shrink the sub-history), so shrinking costs a bounded multiple of the search.
Shrunk shrink(const std::vector<PartOp>& ops, Searcher& searcher, std::size_t culprit_return,
              std::uint64_t trial_budget, bool by_value) {
  searcher.set_budget(trial_budget);
  auto fails = [&](const std::vector<PartOp>& sub) {
    return searcher.run(sub) == Verdict::kNotLinearizable;
  };
  // 1. The shortest failing prefix ends at the culprit's return.
  std::vector<PartOp> current = prefix_of(ops, culprit_return);
  // 2. Remove chunks, then single operations, while the rest still fails (ddmin-like). The
  // culprit stays, and so do its supporters: operations that can move the object into a
  // state where the culprit's result is possible (the write whose value a read returned).
  // Without them the sub-history would fail for a different, misleading reason ("that value
  // was never written").
  std::size_t culprit_src = kNone;
  for (const PartOp& p : current) {
    if (p.return_order == culprit_return && p.src->ok()) {
      culprit_src = p.src->id;
    }
  }
  if (culprit_src == kNone) {
    // Defensive: should the furthest return not name a completed operation, report the whole
    // key unshrunk with its last completed operation rather than a wrong culprit.
    Shrunk whole;
    whole.ops = ops;
    for (std::size_t i = 0; i < ops.size(); ++i) {
      if (ops[i].src->ok() &&
          (!whole.ops[whole.culprit].src->ok() ||
           ops[i].return_order > whole.ops[whole.culprit].return_order)) {
        whole.culprit = i;
      }
    }
    return whole;
  }
  std::vector<std::size_t> supporters;
  {
    const Op& c = std::find_if(current.begin(), current.end(), [&](const PartOp& p) {
                    return p.src->id == culprit_src;
                  })->src->op;
    if (by_value) {
      // Register semantics: the supporters are the writers of the value the culprit needs.
      std::vector<std::int64_t> needed;
      if (c.kind == OpKind::kRead && c.value.is_int()) {
        needed.push_back(c.value.as_int());
      } else if (c.kind == OpKind::kRead && c.value.is_list()) {
        needed = c.value.as_list();
      } else if (c.kind == OpKind::kCas && c.expected.is_int()) {
        needed.push_back(c.expected.as_int());
      } else if (c.kind == OpKind::kCas && c.expected.is_list()) {
        needed = c.expected.as_list();
      }
      std::sort(needed.begin(), needed.end());
      for (const PartOp& p : current) {
        const Op& op = p.src->op;
        if (p.src->id != culprit_src && op.kind != OpKind::kRead && op.value.is_int() &&
            std::binary_search(needed.begin(), needed.end(), op.value.as_int())) {
          supporters.push_back(p.src->id);
        }
      }
    } else {
      // Any model: an operation that can move some known state into one where the culprit
      // is possible. Bounded: a few dozen states are enough to find the usual writer.
      const std::size_t known = std::min<std::size_t>(searcher.states().size(), 64);
      for (const PartOp& p : current) {
        if (p.src->id == culprit_src) {
          continue;
        }
        for (std::uint32_t st = 0; st < known; ++st) {
          std::uint32_t after = searcher.step(st, p.src->op, p.src->id);
          if (after != kNoState && after != st &&
              searcher.step(after, c, culprit_src) != kNoState) {
            supporters.push_back(p.src->id);
            break;
          }
        }
      }
    }
    std::sort(supporters.begin(), supporters.end());
  }
  auto is_culprit = [&](const PartOp& p) {
    return p.src->id == culprit_src ||
           std::binary_search(supporters.begin(), supporters.end(), p.src->id);
  };
  // 2a. Most violations involve the culprit, its supporters and a few operations just before
  // it (the write that overwrote what a stale read returned): try growing windows of the
  // latest other operations first, which is cheap, before the general ddmin pass.
  {
    std::vector<std::size_t> others;
    for (std::size_t i = 0; i < current.size(); ++i) {
      if (!is_culprit(current[i])) {
        others.push_back(i);
      }
    }
    for (std::size_t w = 4; w < others.size(); w *= 2) {
      std::vector<bool> in(current.size(), true);
      for (std::size_t j = 0; j + w < others.size(); ++j) {
        in[others[j]] = false;
      }
      std::vector<PartOp> trial;
      for (std::size_t i = 0; i < current.size(); ++i) {
        if (in[i]) {
          trial.push_back(current[i]);
        }
      }
      if (fails(trial)) {
        current = std::move(trial);
        break;
      }
    }
  }
  // 2b. ddmin-like: remove chunks, then single operations, within a total budget.
  const std::uint64_t explored_at_start = searcher.explored();
  const std::uint64_t total_budget = 20 * trial_budget;
  for (std::size_t chunk = std::max<std::size_t>(1, current.size() / 2);; chunk /= 2) {
    for (std::size_t start = 0;
         start < current.size() && searcher.explored() - explored_at_start < total_budget;) {
      std::vector<PartOp> trial;
      bool removed_any = false;
      for (std::size_t i = 0; i < current.size(); ++i) {
        if (i >= start && i < start + chunk && !is_culprit(current[i])) {
          removed_any = true;
          continue;
        }
        trial.push_back(current[i]);
      }
      if (removed_any && fails(trial)) {
        current = std::move(trial);
      } else {
        start += chunk;
      }
    }
    if (chunk == 1) {
      break;
    }
  }
  Shrunk s;
  s.ops = std::move(current);
  for (std::size_t i = 0; i < s.ops.size(); ++i) {
    if (s.ops[i].src->id == culprit_src) {
      s.culprit = i;
    }
  }
  return s;
}

/// The states the object could hold at the moments when the culprit could take effect: every
/// operation that returned before the culprit's call is already linearized, and none
/// linearized was invoked after the culprit returned.
std::vector<std::string> states_at_culprit(const Shrunk& s, Searcher& searcher,
                                           const Model& model) {
  const std::size_t n = s.ops.size();
  if (n > 62) {
    return {};
  }
  const PartOp& c = s.ops[s.culprit];
  std::set<std::pair<std::uint64_t, std::uint32_t>> seen;
  std::set<std::uint32_t> found;
  std::vector<std::pair<std::uint64_t, std::uint32_t>> todo;
  todo.emplace_back(0, searcher.states().intern(model.initial));
  while (!todo.empty() && seen.size() < 200'000) {
    auto [mask, state] = todo.back();
    todo.pop_back();
    if (!seen.insert({mask, state}).second) {
      continue;
    }
    auto eligible = [&](std::size_t x) {
      for (std::size_t y = 0; y < n; ++y) {
        if (y != x && !(mask & (std::uint64_t{1} << y)) && s.ops[y].required() &&
            s.ops[y].return_order < s.ops[x].call_order) {
          return false;
        }
      }
      return true;
    };
    if (eligible(s.culprit)) {
      found.insert(state);
    }
    for (std::size_t x = 0; x < n; ++x) {
      if (x == s.culprit || (mask & (std::uint64_t{1} << x)) ||
          s.ops[x].call_order > c.return_order || !eligible(x)) {
        continue;
      }
      std::uint32_t after = searcher.step(state, s.ops[x].src->op, s.ops[x].src->id);
      if (after != kNoState) {
        todo.emplace_back(mask | (std::uint64_t{1} << x), after);
      }
    }
  }
  std::vector<std::string> out;
  for (std::uint32_t id : found) {
    out.push_back(searcher.states().value(id).to_string());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string explain(const std::string& key, std::size_t key_ops, const Shrunk& s,
                    Searcher& searcher, const Model& model) {
  const Operation& c = *s.ops[s.culprit].src;
  std::string out = fmt::format(
      "key \"{}\": not linearizable. Minimal failing sub-history ({} of {} operations on this "
      "key; the others are not needed to show the violation):\n",
      key, s.ops.size(), key_ops);
  std::vector<const PartOp*> by_time;
  for (const PartOp& p : s.ops) {
    by_time.push_back(&p);
  }
  std::sort(by_time.begin(), by_time.end(),
            [](const PartOp* a, const PartOp* b) { return a->call_order < b->call_order; });
  for (const PartOp* p : by_time) {
    out += fmt::format("  {}{}\n", p->src->to_string(),
                       p == &s.ops[s.culprit] ? "   <== cannot take effect" : "");
  }
  std::vector<std::string> states = states_at_culprit(s, searcher, model);
  std::string held = states.empty() ? std::string("(no state: the other operations already "
                                                  "conflict)")
                    : s.ops.size() == 1
                        ? fmt::format("{} (no operation produced the value it needs)",
                                      fmt::join(states, ", "))
                                    : fmt::format("{}", fmt::join(states, ", "));
  if (c.op.kind == OpKind::kRead) {
    out += fmt::format(
        "Why: client {}'s read returned {}, but while it was in flight ({} to {}) \"{}\" could "
        "only hold: {}",
        c.client, c.op.value.to_string(), c.invoke_time.to_string(), c.complete_time.to_string(),
        key, held);
  } else {
    out += fmt::format(
        "Why: client {}'s {} cannot take effect in any order the real-time constraints allow; "
        "while it was in flight ({} to {}) \"{}\" could only hold: {}",
        c.client, c.op.to_string(), c.invoke_time.to_string(), c.complete_time.to_string(), key,
        held);
  }
  bool needed_seen = c.op.kind == OpKind::kRead &&
                     std::find(states.begin(), states.end(), c.op.value.to_string()) !=
                         states.end();
  if (needed_seen) {
    out += "\n     (each order that lets it return that value leaves a later operation with no "
           "valid place)";
  }
  return out;
}

/// Operations with unknown outcome that write a value (write, cas, append): with a unique
/// writer per value, an unobserved one cannot matter and is dropped, and an observed one must
/// take effect before its first observer returned, so it gets that deadline.
void prune_unknown_writes(std::vector<PartOp>& part) {
  std::map<std::int64_t, std::size_t> writers;
  std::map<std::int64_t, std::size_t> first_seen;  // value → earliest ok observer's return
  std::set<std::int64_t> referenced;               // values any kept operation depends on
  auto observe = [&](std::int64_t v, const PartOp& p) {
    referenced.insert(v);
    if (!p.src->ok()) {
      return;  // an in-doubt cas needs the value only if it took effect: no deadline
    }
    auto [it, inserted] = first_seen.emplace(v, p.return_order);
    if (!inserted) {
      it->second = std::min(it->second, p.return_order);
    }
  };
  for (const PartOp& p : part) {
    const Op& op = p.src->op;
    if (op.kind == OpKind::kWrite || op.kind == OpKind::kCas || op.kind == OpKind::kAppend) {
      if (op.value.is_int()) {
        ++writers[op.value.as_int()];
      }
    }
    const Value* seen = op.kind == OpKind::kRead  ? &op.value
                        : op.kind == OpKind::kCas ? &op.expected
                                                  : nullptr;
    if (seen != nullptr && seen->is_int()) {
      observe(seen->as_int(), p);
    } else if (seen != nullptr && seen->is_list()) {
      for (std::int64_t v : seen->as_list()) {
        observe(v, p);
      }
    }
  }
  std::vector<PartOp> kept;
  kept.reserve(part.size());
  for (PartOp& p : part) {
    const Op& op = p.src->op;
    bool writes = op.kind == OpKind::kWrite || op.kind == OpKind::kCas ||
                  op.kind == OpKind::kAppend;
    if (!p.src->unknown() || !writes || !op.value.is_int() ||
        writers[op.value.as_int()] != 1) {
      kept.push_back(p);
      continue;
    }
    if (referenced.count(op.value.as_int()) == 0) {
      continue;  // never observed: taking effect could not have helped any operation
    }
    auto seen = first_seen.find(op.value.as_int());
    if (seen != first_seen.end() && seen->second > p.call_order) {
      p.return_order = seen->second;  // must take effect before its first observer returned
    }
    kept.push_back(p);
  }
  part = std::move(kept);
}

}  // namespace

Model Model::register_model(Value initial) {
  return Model{"register", false, std::move(initial), register_step, true};
}

Model Model::key_value(Value initial) {
  return Model{"key-value", true, std::move(initial), register_step, true};
}

CheckResult check_linearizable(const History& history, const Model& model,
                               const LinearizabilityOptions& options) {
  const std::string name = "linearizability";
  if (!model.step) {
    throw std::invalid_argument("check_linearizable: the model has no step function");
  }
  std::vector<Operation> ops = history.operations();
  std::map<std::string, std::vector<PartOp>> parts;
  for (const Operation& op : ops) {
    if (op.outcome == Outcome::kFail) {
      continue;  // certainly did not happen
    }
    if (op.unknown() && op.op.kind == OpKind::kRead) {
      continue;  // an unanswered read has no effect and tells nothing
    }
    PartOp p;
    p.src = &op;
    p.call_order = op.invoke_event;
    p.return_order = op.ok() ? op.complete_event : kNone;
    parts[model.partition_by_key ? op.op.key : std::string()].push_back(p);
  }
  if (model.observed_by_value) {
    for (auto& [key, part] : parts) {
      prune_unknown_writes(part);
    }
  }
  std::size_t failed_keys = 0;
  std::size_t inconclusive_keys = 0;
  std::string first_details;
  Time first_failure = Time::max();
  std::uint64_t explored = 0;
  for (const auto& [key, part] : parts) {
    Searcher searcher(model, options.max_configurations_per_key);
    Verdict v = searcher.run(part);
    explored += searcher.explored();
    if (v == Verdict::kLinearizable) {
      continue;
    }
    if (v == Verdict::kBudgetExceeded) {
      ++inconclusive_keys;
      if (first_details.empty()) {
        first_details = fmt::format(
            "key \"{}\": search budget of {} configurations exceeded on {} operations; raise "
            "LinearizabilityOptions::max_configurations_per_key or lower the concurrency per key",
            key, options.max_configurations_per_key, part.size());
      }
      continue;
    }
    ++failed_keys;
    if (!options.minimise) {
      if (first_failure == Time::max()) {
        first_failure = Time::zero();
        first_details = fmt::format("key \"{}\": not linearizable ({} operations)", key,
                                    part.size());
      }
      continue;
    }
    Shrunk s = shrink(part, searcher, searcher.max_return_hit(),
                      std::max<std::uint64_t>(200'000, 2 * searcher.explored()),
                      model.observed_by_value);
    Time t = s.ops[s.culprit].src->complete_time;
    if (t < first_failure) {
      first_failure = t;
      first_details = explain(key, part.size(), s, searcher, model);
    }
  }
  std::string scope = fmt::format("{} operations on {} {} ({} model)", ops.size(), parts.size(),
                                  model.partition_by_key ? "keys" : "object", model.name);
  if (failed_keys == 0 && inconclusive_keys == 0) {
    return CheckResult::pass(name, fmt::format("{}: linearizable ({} configurations explored)",
                                               scope, explored));
  }
  if (failed_keys == 0) {
    return CheckResult::fail(name,
                             fmt::format("{}: inconclusive on {} keys", scope, inconclusive_keys),
                             first_details);
  }
  return CheckResult::fail(
      name, fmt::format("{}: not linearizable on {} key(s){}", scope, failed_keys,
                        inconclusive_keys ? fmt::format(", inconclusive on {}", inconclusive_keys)
                                          : std::string()),
      first_details);
}

}  // namespace faultline::check
