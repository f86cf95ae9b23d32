// The Wing–Gong/Lowe search, its state space and its configuration cache.
#include "lin_search.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <stdexcept>

namespace faultline::check::detail {

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
      if (op.cas_failed) {
        // The compare failed: a read that saw anything but `expected`.
        if (state == op.expected) {
          return std::nullopt;
        }
        return state;
      }
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

// ---------------------------------------------------------------------------------------------
// StateSpace

namespace {
// Rough per-entry costs of a node-based hash map entry and a vector slot, for the account.
constexpr std::size_t kMapEntryBytes = 48;
}  // namespace

StateSpace::StateSpace(const Model& model, std::size_t op_count)
    : model_(model), fast_(model.builtin_register) {
  if (fast_) {
    compiled_.resize(op_count);
    bytes_ += op_count * sizeof(Compiled);
  }
}

std::uint32_t StateSpace::add_node(Node n) {
  auto id = static_cast<std::uint32_t>(nodes_.size());
  nodes_.push_back(n);
  bytes_ += sizeof(Node) + kMapEntryBytes;
  return id;
}

std::uint32_t StateSpace::list_child(std::uint32_t parent, std::int64_t element) {
  auto [it, inserted] = children_.try_emplace(ChildKey{parent, element}, kNoState);
  if (inserted) {
    it->second = add_node(Node{element, parent, static_cast<std::uint8_t>(Value::Kind::kList)});
  }
  return it->second;
}

std::uint32_t StateSpace::intern(const Value& v) {
  if (!fast_) {
    std::uint64_t h = v.hash();
    auto [it, inserted] = by_hash_.try_emplace(h);
    for (std::uint32_t id : it->second) {
      if (values_[id] == v) {
        return id;
      }
    }
    auto id = static_cast<std::uint32_t>(values_.size());
    values_.push_back(v);
    it->second.push_back(id);
    bytes_ += sizeof(Value) + v.as_list().size() * sizeof(std::int64_t) + 2 * kMapEntryBytes;
    return id;
  }
  switch (v.kind()) {
    case Value::Kind::kNil:
      if (nodes_.empty()) {
        add_node(Node{0, kNoState, static_cast<std::uint8_t>(Value::Kind::kNil)});
      }
      return 0;
    case Value::Kind::kInt: {
      intern(Value::nil());  // node 0 is always nil
      auto [it, inserted] = ints_.try_emplace(v.as_int(), kNoState);
      if (inserted) {
        it->second =
            add_node(Node{v.as_int(), kNoState, static_cast<std::uint8_t>(Value::Kind::kInt)});
      }
      return it->second;
    }
    case Value::Kind::kList: {
      intern(Value::nil());
      if (empty_list_ == kNoState) {
        empty_list_ = add_node(Node{0, kNoState, static_cast<std::uint8_t>(Value::Kind::kList)});
      }
      std::uint32_t id = empty_list_;
      for (std::int64_t x : v.as_list()) {
        id = list_child(id, x);
      }
      return id;
    }
  }
  return kNoState;
}

Value StateSpace::value(std::uint32_t id) const {
  if (!fast_) {
    return values_[id];
  }
  const Node& n = nodes_[id];
  switch (static_cast<Value::Kind>(n.kind)) {
    case Value::Kind::kNil:
      return Value::nil();
    case Value::Kind::kInt:
      return Value::of(n.value);
    case Value::Kind::kList:
      break;
  }
  std::vector<std::int64_t> items;
  for (std::uint32_t x = id; nodes_[x].parent != kNoState; x = nodes_[x].parent) {
    items.push_back(nodes_[x].value);
  }
  std::reverse(items.begin(), items.end());
  return Value::list(std::move(items));
}

const StateSpace::Compiled& StateSpace::compile(const Op& op, std::size_t op_id) {
  Compiled& c = compiled_[op_id];
  if (c.ready) {
    return c;
  }
  switch (op.kind) {
    case OpKind::kRead:
    case OpKind::kWrite:
      c.a = intern(op.value);
      break;
    case OpKind::kCas:
      c.a = intern(op.expected);
      c.b = intern(op.value);
      break;
    case OpKind::kAppend:
      break;
    case OpKind::kTxn:
    case OpKind::kRequest:
      register_step(Value::nil(), op);  // throws the clear error
      break;
  }
  c.ready = true;
  return c;
}

std::uint32_t StateSpace::step(std::uint32_t state, const Op& op, std::size_t op_id) {
  if (!fast_) {
    std::uint64_t key = (static_cast<std::uint64_t>(state) << 32) ^ op_id;
    auto it = step_cache_.find(key);
    if (it != step_cache_.end()) {
      return it->second;
    }
    std::optional<Value> next = model_.step(values_[state], op);
    std::uint32_t id = next ? intern(*next) : kNoState;
    step_cache_.emplace(key, id);
    bytes_ += kMapEntryBytes;
    return id;
  }
  const Compiled& c = compile(op, op_id);
  switch (op.kind) {
    case OpKind::kRead:
      return state == c.a ? state : kNoState;
    case OpKind::kWrite:
      return c.a;
    case OpKind::kCas:
      if (op.cas_failed) {
        return state == c.a ? kNoState : state;
      }
      return state == c.a ? c.b : kNoState;
    case OpKind::kAppend: {
      const Node& n = nodes_[state];
      if (!op.value.is_int() || n.kind == static_cast<std::uint8_t>(Value::Kind::kInt)) {
        return kNoState;
      }
      std::uint32_t list = state;
      if (n.kind == static_cast<std::uint8_t>(Value::Kind::kNil)) {
        list = empty_list_ != kNoState ? empty_list_ : intern(Value::list({}));
      }
      return list_child(list, op.value.as_int());
    }
    default:
      return kNoState;
  }
}

// ---------------------------------------------------------------------------------------------
// ConfigCache

std::optional<bool> ConfigCache::insert(const Key& k, std::size_t max_bytes,
                                        std::size_t other_bytes) {
  if (2 * (used_ + 1) > slots_.size()) {
    std::size_t cap = std::max<std::size_t>(1024, 2 * slots_.size());
    // Both tables are alive while rehashing.
    if (other_bytes + (cap + slots_.size()) * sizeof(Key) > max_bytes) {
      return std::nullopt;
    }
    std::vector<Key> old = std::move(slots_);
    slots_.assign(cap, Key{});
    used_ = 0;
    for (const Key& o : old) {
      if (o.state != kNoState) {
        insert(o, static_cast<std::size_t>(-1), 0);
      }
    }
  }
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = static_cast<std::size_t>(k.h1 ^ hash64(k.state)) & mask;; i = (i + 1) & mask) {
    Key& s = slots_[i];
    if (s.state == kNoState) {
      s = k;
      ++used_;
      return true;
    }
    if (s.h1 == k.h1 && s.h2 == k.h2 && s.state == k.state) {
      return false;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Searcher

SearchVerdict Searcher::run(const std::vector<PartOp>& ops) {
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
  // Zobrist hashes of the linearized set: XOR of one random word per operation, twice. Two
  // different sets share both words with probability about 2^-128 per pair.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> zobrist(n);
  std::vector<bool> read_only(n);
  for (std::size_t i = 0; i < n; ++i) {
    zobrist[i] = {hash64(2 * i + 1), hash64(~(2 * i + 2))};
    read_only[i] = model_.is_read_only(ops[i].src->op);
  }
  const std::size_t fixed_bytes = n * 96 + m * 40;
  std::uint64_t set_h1 = 0;
  std::uint64_t set_h2 = 0;
  ConfigCache cache;
  std::uint32_t state = states_.initial();
  struct Choice {
    std::size_t call;     ///< the call node lifted
    std::uint32_t state;  ///< the state before it
    bool forced;          ///< a read-only op that fit: no alternative needs trying
    bool late;            ///< lifted in the second pass (operations of unknown outcome)
  };
  std::vector<Choice> stack;
  stack.reserve(n);
  std::uint64_t explored = 0;
  auto finish = [&](SearchVerdict v) {
    explored_total_ += explored;
    peak_bytes_ = std::max(peak_bytes_, fixed_bytes + cache.bytes() + states_.bytes());
    return v;
  };
  // The candidates at a configuration are the calls before the first return entry. They are
  // tried in two passes: first the operations that completed, then those of unknown outcome
  // (which may also never take effect). The same candidates are tried either way; trying the
  // optional ones last finds a linearization of a correct history without first wandering
  // through the subsets of in-doubt operations.
  std::size_t node = next[0];
  bool late = false;
  while (remaining > 0) {
    // Every return entry lies after the scan position (the scan only passes calls), so the
    // tail is unreachable while required operations remain; treat it as a return anyway.
    bool dead_end = node == tail || !entries[node - 1].call;
    if (dead_end && !late) {
      late = true;
      node = next[0];
      continue;
    }
    if (!dead_end && ops[entries[node - 1].op].required() == late) {
      node = next[node];
      continue;
    }
    if (!dead_end) {
      std::uint32_t op = entries[node - 1].op;
      std::uint32_t after = states_.step(state, ops[op].src->op, ops[op].src->id);
      if (after != kNoState) {
        // A read-only operation that fits can always go first: moving it to the front of
        // any linearization from here keeps that linearization valid (it changes no state
        // that later operations see). So it is taken without trying alternatives, and if its
        // configuration was already explored (and so failed), this one fails too. A write
        // that merely leaves the state unchanged here (a write of the value held) is not
        // read-only: moved to the front it would no longer restore its value later, so it
        // stays a choice like any other.
        const bool forced = after == state && read_only[op];
        set_h1 ^= zobrist[op].first;
        set_h2 ^= zobrist[op].second;
        std::optional<bool> fresh = cache.insert(ConfigCache::Key{set_h1, set_h2, after},
                                                 limits_.max_bytes, fixed_bytes + states_.bytes());
        if (!fresh) {
          return finish(SearchVerdict::kMemoryUp);
        }
        if (*fresh) {
          if (++explored > limits_.max_configurations) {
            return finish(SearchVerdict::kBudgetExceeded);
          }
          if ((explored & 0x3ff) == 0 &&
              (past_deadline() || fixed_bytes + cache.bytes() + states_.bytes() > limits_.max_bytes)) {
            return finish(past_deadline() ? SearchVerdict::kTimeUp : SearchVerdict::kMemoryUp);
          }
          stack.push_back({node, state, forced, late});
          state = after;
          if (ops[op].required()) {
            --remaining;
          }
          unlink(node);
          if (return_node[op] != kNone) {
            unlink(return_node[op]);
          }
          node = next[0];
          late = false;
          continue;
        }
        set_h1 ^= zobrist[op].first;
        set_h2 ^= zobrist[op].second;
        dead_end = forced;
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
        return finish(SearchVerdict::kNotLinearizable);
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
        late = c.late;
        break;
      }
    }
  }
  return finish(SearchVerdict::kLinearizable);
}

}  // namespace faultline::check::detail
