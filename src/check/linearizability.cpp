// Wing–Gong/Lowe linearizability search with Porcupine-style partitioning and memoisation,
// plus shrinking of a failing key to a small sub-history and an explanation of it.
#include <faultline/check/linearizability.hpp>

#include "lin_search.hpp"

#include <faultline/assert.hpp>

#include <algorithm>
#include <atomic>
#include <exception>
#include <fmt/format.h>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

namespace faultline::check {

namespace {

using detail::kNoState;
using detail::kNone;
using detail::PartOp;
using detail::Searcher;
using detail::SearchVerdict;

void prune_unknown_writes(std::vector<PartOp>& part, const Value& initial);

/// The operations of a partition invoked no later than `cutoff` (a return entry), with their
/// real outcomes: those invoked after it cannot be linearized before it.
std::vector<PartOp> invoked_by(const std::vector<PartOp>& ops, std::size_t cutoff) {
  std::vector<PartOp> out;
  for (const PartOp& p : ops) {
    if (p.call_order <= cutoff) {
      out.push_back(p);
    }
  }
  return out;
}

struct Shrunk {
  std::vector<PartOp> ops;  ///< Small failing sub-history, in invocation order.
  std::size_t culprit = 0;  ///< Index in ops of the operation that cannot take effect.
};

/// `ops`: the partition as recorded (before pruning); `culprit_return`: max_return_hit() of
/// the failed search. Each trial is pruned afresh, exactly as a check of that sub-history
/// alone would be, so the witness printed fails on its own. Each shrinking trial gets
/// `trial_budget` configurations; one that runs out keeps its operations (only proven failures
/// shrink the sub-history), so shrinking costs a bounded multiple of the search.
Shrunk shrink(const std::vector<PartOp>& ops, Searcher& searcher, std::size_t culprit_return,
              std::uint64_t trial_budget, const Model& model) {
  const bool by_value = model.observed_by_value;
  searcher.set_max_configurations(trial_budget);
  std::vector<PartOp> prepared;
  // A trial sub-history is kept only if it fails *for the same operation*: its shortest
  // failing prefix ends at the culprit's return. Failing for another reason (a kept cas whose
  // expected value nothing in the trial writes any more) would make a misleading witness.
  auto fails = [&](const std::vector<PartOp>& sub) {
    prepared = sub;
    if (by_value) {
      prune_unknown_writes(prepared, model.initial);
    }
    return searcher.run(prepared) == SearchVerdict::kNotLinearizable &&
           searcher.max_return_hit() == culprit_return;
  };
  // 1. The shortest failing prefix ends at the culprit's return: nothing invoked after it
  // matters. (Should that not fail alone, which pruning differences could cause, the whole
  // partition is the starting point.)
  std::vector<PartOp> current = invoked_by(ops, culprit_return);
  if (!fails(current)) {
    current = ops;
  }
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
          std::uint32_t after = searcher.states().step(st, p.src->op, p.src->id);
          if (after != kNoState && after != st &&
              searcher.states().step(after, c, culprit_src) != kNoState) {
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
    for (std::size_t w = 4; w < others.size() && !searcher.past_deadline(); w *= 2) {
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
         start < current.size() && searcher.explored() - explored_at_start < total_budget &&
         !searcher.past_deadline();) {
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
      std::uint32_t after = searcher.states().step(state, s.ops[x].src->op, s.ops[x].src->id);
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
void prune_unknown_writes(std::vector<PartOp>& part, const Value& initial) {
  std::map<std::int64_t, std::size_t> writers;
  // The initial state is a writer of its value(s) too: an unknown write of the initial value
  // is not the only way a read of that value can be explained, so it gets no deadline.
  if (initial.is_int()) {
    ++writers[initial.as_int()];
  }
  for (std::int64_t v : initial.is_list() ? initial.as_list() : std::vector<std::int64_t>{}) {
    ++writers[v];
  }
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
    if (op.kind == OpKind::kCas && op.cas_failed) {
      continue;  // wrote nothing, and saw something other than a value: no constraint here
    }
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
  // A cas whose compare failed saw "anything but its expected value": any write may be what
  // it saw, so with one in the partition no unknown write is dropped as unobserved.
  const bool any_failed_cas = std::any_of(part.begin(), part.end(), [](const PartOp& p) {
    return p.src->ok() && p.src->op.kind == OpKind::kCas && p.src->op.cas_failed;
  });
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
      if (!any_failed_cas) {
        continue;  // never observed: taking effect could not have helped any operation
      }
      kept.push_back(p);
      continue;
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

namespace {
bool register_read_only(const Op& op) {
  return op.kind == OpKind::kRead || (op.kind == OpKind::kCas && op.cas_failed);
}

}  // namespace

Model Model::register_model(Value initial) {
  return Model{"register", false, std::move(initial), detail::register_step, true,
               register_read_only, true};
}

Model Model::key_value(Value initial) {
  return Model{"key-value", true, std::move(initial), detail::register_step, true,
               register_read_only, true};
}

Model Model::list_append(Value initial) {
  return Model{"list-append", true, std::move(initial), detail::register_step, true,
               register_read_only, true};
}

namespace {

/// What one key's search found, kept so that keys searched in parallel are judged afterwards
/// in key order, exactly as the sequential loop would judge them.
struct KeySearch {
  bool done = false;
  SearchVerdict verdict = SearchVerdict::kLinearizable;
  std::uint64_t explored = 0;
  std::size_t max_return_hit = 0;
};

/// Searches the keys of `parts` on `threads` threads. Keys are handed out in key order; once
/// a key fails (and only the first failure matters), keys after it are skipped, so every key
/// before the first failing one is searched. Each search gets `limits` (whose memory share the
/// caller has already divided).
std::vector<KeySearch> search_keys_in_parallel(
    const std::vector<const std::vector<PartOp>*>& parts, const Model& model,
    std::size_t op_count, const detail::SearchLimits& limits, bool all_keys, unsigned threads) {
  std::vector<KeySearch> out(parts.size());
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> first_failure{parts.size()};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    for (;;) {
      const std::size_t i = next.fetch_add(1);
      if (i >= parts.size()) {
        return;
      }
      if (!all_keys && i > first_failure.load()) {
        continue;
      }
      try {
        Searcher searcher(model, op_count, limits);
        KeySearch& k = out[i];
        k.verdict = searcher.run(*parts[i]);
        k.explored = searcher.explored();
        k.max_return_hit = searcher.max_return_hit();
        k.done = true;
        if (k.verdict == SearchVerdict::kNotLinearizable) {
          std::size_t seen = first_failure.load();
          while (i < seen && !first_failure.compare_exchange_weak(seen, i)) {
          }
        }
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) {
          error = std::current_exception();
        }
        next.store(parts.size());
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) {
    pool.emplace_back(work);
  }
  work();
  for (auto& th : pool) {
    th.join();
  }
  if (error) {
    std::rethrow_exception(error);
  }
  return out;
}

}  // namespace

CheckResult check_linearizable(const History& history, const Model& model,
                               const LinearizabilityOptions& options) {
  const std::string name = "linearizability";
  if (!model.step) {
    throw std::invalid_argument("check_linearizable: the model has no step function");
  }
  std::vector<Operation> ops = history.operations();
  std::map<std::string, std::vector<PartOp>> parts;
  std::map<std::string, std::vector<PartOp>> recorded;  // before pruning, for the witnesses
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
  recorded = parts;
  if (model.observed_by_value) {
    for (auto& [key, part] : parts) {
      prune_unknown_writes(part, model.initial);
    }
  }
  detail::SearchLimits limits;
  limits.max_configurations = options.max_configurations_per_key;
  limits.max_bytes = options.memory_limit_bytes;
  if (options.time_limit.count() > 0) {
    limits.deadline = std::chrono::steady_clock::now() +  // determinism-ok: opt-in time limit
                      options.time_limit;
  }
  std::size_t failed_keys = 0;
  std::size_t inconclusive_keys = 0;
  std::size_t checked_keys = 0;
  std::vector<std::string> failures;
  std::vector<std::size_t> witness;
  std::optional<std::size_t> culprit;
  std::string inconclusive_details;
  std::uint64_t explored = 0;
  const unsigned threads = static_cast<unsigned>(
      std::min<std::size_t>(std::max(1u, options.threads), parts.size()));
  std::vector<KeySearch> searched;
  if (threads > 1) {
    std::vector<const std::vector<PartOp>*> in_order;
    for (const auto& kv : parts) {
      in_order.push_back(&kv.second);
    }
    detail::SearchLimits shared = limits;
    shared.max_bytes = limits.max_bytes / threads;
    searched = search_keys_in_parallel(in_order, model, ops.size(), shared, options.all_keys,
                                       threads);
  }
  std::size_t index = 0;
  for (const auto& [key, part] : parts) {
    ++checked_keys;
    Searcher searcher(model, ops.size(), limits);
    SearchVerdict v;
    std::uint64_t key_explored = 0;
    std::size_t max_return_hit = 0;
    if (threads > 1) {
      // Judged in key order from the parallel searches; every key up to the first failing
      // one was searched (see search_keys_in_parallel). Shrinking runs on this thread.
      const KeySearch& k = searched[index++];
      FAULTLINE_ASSERT(k.done, "a key before the first failure was not searched");
      v = k.verdict;
      key_explored = k.explored;
      max_return_hit = k.max_return_hit;
    } else {
      v = searcher.run(part);
      key_explored = searcher.explored();
      max_return_hit = searcher.max_return_hit();
    }
    explored += key_explored;
    if (v == SearchVerdict::kLinearizable) {
      continue;
    }
    if (v != SearchVerdict::kNotLinearizable) {
      ++inconclusive_keys;
      if (inconclusive_details.empty()) {
        std::string why =
            v == SearchVerdict::kBudgetExceeded
                ? fmt::format("the budget of {} configurations ran out (raise "
                              "max_configurations_per_key)",
                              options.max_configurations_per_key)
            : v == SearchVerdict::kTimeUp
                ? fmt::format("the time limit of {} ms ran out (raise it with --time-limit)",
                              options.time_limit.count())
                : fmt::format("the memory limit of {} MB was reached{} (raise it with "
                              "--memory-limit)",
                              options.memory_limit_bytes >> 20,
                              threads > 1 ? fmt::format(", {} MB for each of {} keys searched "
                                                        "at once",
                                                        (options.memory_limit_bytes / threads) >> 20,
                                                        threads)
                                          : std::string());
        inconclusive_details = fmt::format(
            "key \"{}\": undecided after {} configurations on {} operations: {}. Nothing is "
            "known about this key either way; lowering the concurrency per key also helps.",
            key, key_explored, part.size(), why);
      }
      if (v == SearchVerdict::kTimeUp) {
        break;  // the deadline is shared: every later key would stop at once
      }
      continue;
    }
    ++failed_keys;
    if (!options.minimise) {
      failures.push_back(fmt::format("key \"{}\": not linearizable ({} operations)", key,
                                     part.size()));
    } else {
      Shrunk s = shrink(recorded[key], searcher, max_return_hit,
                        std::max<std::uint64_t>(20'000, 4 * key_explored), model);
      failures.push_back(explain(key, part.size(), s, searcher, model));
      if (witness.empty()) {
        for (const PartOp& p : s.ops) {
          witness.push_back(p.src->id);
        }
        std::sort(witness.begin(), witness.end());
        culprit = s.ops[s.culprit].src->id;
      }
    }
    if (!options.all_keys) {
      break;  // one failing key decides the verdict (Porcupine stops here too)
    }
  }
  std::string scope = fmt::format("{} operations on {} {} ({} model)", ops.size(), parts.size(),
                                  model.partition_by_key ? "keys" : "object", model.name);
  if (failed_keys == 0 && inconclusive_keys == 0) {
    return CheckResult::pass(name, fmt::format("{}: linearizable ({} configurations explored)",
                                               scope, explored));
  }
  if (failed_keys == 0) {
    return CheckResult::undecided(
        name, fmt::format("{}: inconclusive on {} key(s)", scope, inconclusive_keys),
        inconclusive_details);
  }
  std::string unchecked = checked_keys < parts.size()
                              ? fmt::format(" ({} key(s) not checked: stopped at the first "
                                            "failure)",
                                            parts.size() - checked_keys)
                              : std::string();
  CheckResult r = CheckResult::fail(
      name,
      fmt::format("{}: not linearizable on {} key(s){}{}", scope, failed_keys,
                  inconclusive_keys ? fmt::format(", inconclusive on {}", inconclusive_keys)
                                    : std::string(),
                  unchecked),
      fmt::format("{}", fmt::join(failures, "\n\n")));
  r.witness = std::move(witness);
  r.culprit = culprit;
  return r;
}

}  // namespace faultline::check
