// The second stage of placing read-only transactions (check_strict_serializable, (5)): when
// the timestamp sweep cannot place some, a serialization graph of all committed transactions
// decides, searching the versions each read may have seen for a choice with no cycle.
#include "transactions_detail.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string_view>

namespace faultline::check::detail {

namespace {

// --- (5), second stage: the serialization graph ------------------------------------------------

/// Why one transaction precedes another in every serial order (Adya's dependency graph, with
/// real time added for strictness).
enum class Dep : std::uint8_t {
  kWw,  ///< the second overwrote the first's version of the key
  kWr,  ///< the second read the first's version of the key
  kRw,  ///< the first read a version of the key that the second overwrote
  kRt,  ///< the first completed before the second began
};

struct DepEdge {
  std::uint32_t from = 0;
  std::uint32_t to = 0;
  Dep kind = Dep::kRt;
  const std::string* key = nullptr;
};

/// A directed graph in compressed rows: node v's edges are edges[first[v]] to
/// edges[first[v + 1] - 1], grouped by source (or by target, for the reversed graph).
struct Csr {
  std::vector<std::uint32_t> first;
  std::vector<DepEdge> edges;
};

Csr make_csr(std::size_t nodes, std::initializer_list<const std::vector<DepEdge>*> parts,
             bool by_target = false) {
  Csr g;
  g.first.assign(nodes + 1, 0);
  for (const std::vector<DepEdge>* part : parts) {
    for (const DepEdge& e : *part) {
      ++g.first[(by_target ? e.to : e.from) + 1];
    }
  }
  for (std::size_t v = 0; v < nodes; ++v) {
    g.first[v + 1] += g.first[v];
  }
  g.edges.resize(g.first[nodes]);
  std::vector<std::uint32_t> at(g.first.begin(), g.first.end() - 1);
  for (const std::vector<DepEdge>* part : parts) {
    for (const DepEdge& e : *part) {
      g.edges[at[by_target ? e.to : e.from]++] = e;
    }
  }
  return g;
}

/// Strongly connected components by Tarjan's algorithm, iterative (histories reach tens of
/// thousands of transactions, too deep for recursion). Components are numbered in the order
/// they complete, which is a reverse topological order of the condensation.
struct Components {
  std::vector<std::uint32_t> of;                              ///< by node
  std::vector<std::uint32_t> size;                            ///< by component
  bool cyclic(std::uint32_t c) const { return size[c] > 1; }  // no graph here has self-loops
};

Components strongly_connected(const Csr& g) {
  const auto n = static_cast<std::uint32_t>(g.first.size() - 1);
  constexpr std::uint32_t kUnseen = std::numeric_limits<std::uint32_t>::max();
  std::vector<std::uint32_t> index(n, kUnseen);
  std::vector<std::uint32_t> low(n, 0);
  std::vector<char> on_stack(n, 0);
  std::vector<std::uint32_t> stack;
  struct Frame {
    std::uint32_t v;
    std::uint32_t next;  // position in g.edges of the next edge to follow
  };
  std::vector<Frame> frames;
  Components out;
  out.of.assign(n, 0);
  std::uint32_t counter = 0;
  auto open = [&](std::uint32_t v) {
    index[v] = low[v] = counter++;
    stack.push_back(v);
    on_stack[v] = 1;
    frames.push_back({v, g.first[v]});
  };
  for (std::uint32_t root = 0; root < n; ++root) {
    if (index[root] != kUnseen) {
      continue;
    }
    open(root);
    while (!frames.empty()) {
      const std::uint32_t v = frames.back().v;
      if (frames.back().next < g.first[v + 1]) {
        const std::uint32_t w = g.edges[frames.back().next++].to;
        if (index[w] == kUnseen) {
          open(w);
        } else if (on_stack[w] != 0) {
          low[v] = std::min(low[v], index[w]);
        }
        continue;
      }
      frames.pop_back();
      if (!frames.empty()) {
        std::uint32_t& parent_low = low[frames.back().v];
        parent_low = std::min(parent_low, low[v]);
      }
      if (low[v] == index[v]) {
        const auto c = static_cast<std::uint32_t>(out.size.size());
        out.size.push_back(0);
        std::uint32_t w = 0;
        do {
          w = stack.back();
          stack.pop_back();
          on_stack[w] = 0;
          out.of[w] = c;
          ++out.size[c];
        } while (w != v);
      }
    }
  }
  return out;
}

/// One way a read may have been served, as the (one or two) edges it implies.
struct Candidate {
  std::array<DepEdge, 2> edges{};
  std::size_t count = 0;
};

/// A read whose value more than one version explains (values repeat), or a read of a key that
/// a transaction of the same timestamp wrote when both orders explain it: which one it saw
/// decides its edges. candidates[0] is the first guess; `chosen` indexes candidates.
struct ChoicePoint {
  std::uint32_t node = 0;
  std::vector<Candidate> candidates;
  std::size_t chosen = 0;
};

/// Backtracking over the choice points of one strongly connected component for a choice of
/// candidates that adds no cycle, keeping a topological order of the component up to date as
/// edges come and go (Pearce and Kelly, "A dynamic topological sort algorithm for directed
/// acyclic graphs", 2007): an edge that agrees with the order costs nothing; one that does not
/// costs a search of the nodes between its ends, which finds the cycle or repairs the order.
/// Removing edges, as backtracking does, leaves every order valid. Each candidate tried and
/// each edge followed spends one unit of the budget.
class ChoiceSearch {
 public:
  enum class Outcome : std::uint8_t { kFound, kNone, kOutOfBudget };

  /// `graph` and `reversed` (the same edges by target) must be acyclic within every component
  /// searched, and `order` a topological order of them.
  ChoiceSearch(const Csr& graph, const Csr& reversed, const std::vector<std::uint32_t>& component,
               std::vector<std::uint32_t> order, std::size_t budget)
      : graph_(graph),
        reversed_(reversed),
        component_(component),
        ord_(std::move(order)),
        extra_out_(ord_.size()),
        extra_in_(ord_.size()),
        seen_(ord_.size(), 0),
        budget_(budget) {}

  /// Sets `chosen` of every choice point of `group` (all in component `comp`) on kFound. The
  /// first `pinned` of them keep their first candidate. kNone is a proof that no choice exists
  /// only when nothing is pinned.
  Outcome solve(std::uint32_t comp, const std::vector<ChoicePoint*>& group, std::size_t pinned) {
    comp_ = comp;
    const std::size_t m = group.size();
    std::vector<std::size_t> next(m, 0);
    std::vector<std::size_t> mark(m, 0);
    std::size_t k = 0;
    while (k < m) {
      ChoicePoint& cp = *group[k];
      const std::size_t options = k < pinned ? 1 : cp.candidates.size();
      bool linked = false;
      while (!linked && next[k] < options) {
        if (budget_ == 0) {
          undo(0);
          return Outcome::kOutOfBudget;
        }
        --budget_;
        const Candidate& c = cp.candidates[next[k]++];
        mark[k] = trail_.size();
        linked = true;
        for (std::size_t i = 0; i < c.count && linked; ++i) {
          linked = link(c.edges[i].from, c.edges[i].to);
        }
        if (out_of_budget_) {
          undo(0);
          return Outcome::kOutOfBudget;
        }
        if (!linked) {
          undo(mark[k]);
        }
      }
      if (linked) {
        cp.chosen = next[k] - 1;
        if (++k < m) {
          next[k] = 0;
        }
        continue;
      }
      if (k == 0) {
        return Outcome::kNone;
      }
      --k;
      undo(mark[k]);
    }
    undo(0);
    return Outcome::kFound;
  }

 private:
  /// Adds x -> y unless it closes a cycle. Edges leaving the component cannot lie on a cycle
  /// and are not added.
  bool link(std::uint32_t x, std::uint32_t y) {
    if (component_[x] != comp_ || component_[y] != comp_) {
      return true;
    }
    if (ord_[x] > ord_[y]) {
      const std::uint32_t upper = ord_[x];
      const std::uint32_t lower = ord_[y];
      // Forward from y through nodes ordered before x: reaching x is a cycle.
      bool cycle = false;
      walk(y, true, [&](std::uint32_t w) {
        cycle = cycle || w == x;
        return !cycle && ord_[w] < upper;
      });
      if (cycle || out_of_budget_) {
        return false;
      }
      fwd_.swap(visited_);
      walk(x, false, [&](std::uint32_t w) { return ord_[w] > lower; });
      if (out_of_budget_) {
        return false;
      }
      // x and what precedes it take the lowest of the affected positions, y and what follows
      // it the rest, each keeping its relative order.
      std::vector<std::uint32_t>& bwd = visited_;
      auto by_ord = [this](std::uint32_t a, std::uint32_t b) { return ord_[a] < ord_[b]; };
      std::sort(bwd.begin(), bwd.end(), by_ord);
      std::sort(fwd_.begin(), fwd_.end(), by_ord);
      slots_.clear();
      for (std::uint32_t v : bwd) {
        slots_.push_back(ord_[v]);
      }
      for (std::uint32_t v : fwd_) {
        slots_.push_back(ord_[v]);
      }
      std::sort(slots_.begin(), slots_.end());
      std::size_t i = 0;
      for (std::uint32_t v : bwd) {
        ord_[v] = slots_[i++];
      }
      for (std::uint32_t v : fwd_) {
        ord_[v] = slots_[i++];
      }
    }
    extra_out_[x].push_back(y);
    extra_in_[y].push_back(x);
    trail_.emplace_back(x, y);
    return true;
  }

  /// Depth-first from `start` (forward or backward) through the component's nodes that `enter`
  /// admits; the nodes reached, start included, end up in visited_.
  template <class Enter>
  void walk(std::uint32_t start, bool forward, Enter enter) {
    visited_.clear();
    ++stamp_;
    seen_[start] = stamp_;
    stack_.assign(1, start);
    auto step = [&](std::uint32_t w) {
      if (budget_ == 0) {
        out_of_budget_ = true;
        return false;
      }
      --budget_;
      if (component_[w] == comp_ && seen_[w] != stamp_ && enter(w)) {
        seen_[w] = stamp_;
        stack_.push_back(w);
      }
      return true;
    };
    while (!stack_.empty()) {
      const std::uint32_t v = stack_.back();
      stack_.pop_back();
      visited_.push_back(v);
      const Csr& g = forward ? graph_ : reversed_;
      for (std::uint32_t e = g.first[v]; e < g.first[v + 1]; ++e) {
        if (!step(forward ? g.edges[e].to : g.edges[e].from)) {
          return;
        }
      }
      for (std::uint32_t w : forward ? extra_out_[v] : extra_in_[v]) {
        if (!step(w)) {
          return;
        }
      }
    }
  }

  void undo(std::size_t mark) {
    while (trail_.size() > mark) {
      const auto [x, y] = trail_.back();
      trail_.pop_back();
      extra_out_[x].pop_back();
      extra_in_[y].pop_back();
    }
  }

  const Csr& graph_;
  const Csr& reversed_;
  const std::vector<std::uint32_t>& component_;
  std::vector<std::uint32_t> ord_;
  std::vector<std::vector<std::uint32_t>> extra_out_;
  std::vector<std::vector<std::uint32_t>> extra_in_;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> trail_;
  std::vector<std::uint32_t> seen_;
  std::uint32_t stamp_ = 0;
  std::vector<std::uint32_t> stack_;
  std::vector<std::uint32_t> visited_;
  std::vector<std::uint32_t> fwd_;
  std::vector<std::uint32_t> slots_;
  std::uint32_t comp_ = 0;
  std::size_t budget_;
  bool out_of_budget_ = false;
};

std::string dep_label(const DepEdge& e) {
  switch (e.kind) {
    case Dep::kWw:
      return fmt::format("ww \"{}\"", *e.key);
    case Dep::kWr:
      return fmt::format("wr \"{}\"", *e.key);
    case Dep::kRw:
      return fmt::format("rw \"{}\"", *e.key);
    case Dep::kRt:
      break;
  }
  return "rt";
}

/// The serialization graph of all committed transactions (see check_strict_serializable, (5)),
/// built once; decide() searches the reads' choices and reports the cycles that remain.
class PlacementGraph {
 public:
  explicit PlacementGraph(const PlacementInput& in)
      : in_(in),
        txns_(static_cast<std::uint32_t>(in.committed.size())),
        node_of_(in.ops.size(), kNoNode) {
    for (std::uint32_t i = 0; i < txns_; ++i) {
      node_of_[in.committed[i]->id] = i;
    }
    add_real_time();
    for (const auto& [key, vs] : in.versions) {
      for (std::size_t j = 1; j < vs.size(); ++j) {
        if (vs[j].op != vs[j - 1].op) {
          fixed_.push_back({node_of_[vs[j - 1].op], node_of_[vs[j].op], Dep::kWw, &key});
        }
      }
    }
    for (std::uint32_t i = 0; i < txns_; ++i) {
      if (in.read_only[in.committed[i]->id]) {
        add_read_only(i);
      } else {
        add_read_write(i);
      }
    }
  }

  void decide(std::vector<Anomaly>& found, std::vector<Anomaly>& undecided) {
    found.insert(found.end(), no_version_.begin(), no_version_.end());
    const std::uint32_t nodes = 2 * txns_;
    std::vector<DepEdge> chosen = chosen_edges();
    Components first = strongly_connected(make_csr(nodes, {&fixed_, &chosen}));
    if (!has_read_only_cycle(first)) {
      return;
    }
    // Edges every choice implies (a read of one of several versions follows the earliest one's
    // writer and precedes the overwriter of the latest) make the core: a cycle in it is in
    // every choice. Every choice's edges make the union: a cycle of any choice lies within
    // one of its components, so each component with a cycle is searched on its own.
    std::vector<DepEdge> every;
    for (const ChoicePoint& cp : choices_) {
      for (const Candidate& c : cp.candidates) {
        every.insert(every.end(), c.edges.begin(),
                     c.edges.begin() + static_cast<std::ptrdiff_t>(c.count));
      }
    }
    const Csr core = make_csr(nodes, {&fixed_, &envelope_});
    const Components core_parts = strongly_connected(core);
    const Components whole = strongly_connected(make_csr(nodes, {&fixed_, &envelope_, &every}));
    std::vector<char> doomed(whole.size.size(), 0);
    std::vector<char> troubled(whole.size.size(), 0);
    for (std::uint32_t v = 0; v < nodes; ++v) {
      doomed[whole.of[v]] |= static_cast<char>(core_parts.cyclic(core_parts.of[v]));
      troubled[whole.of[v]] |= static_cast<char>(first.cyclic(first.of[v]));
    }
    // Per component, the choice points on a cycle of the first guess (suspects) and the rest.
    std::map<std::uint32_t, std::pair<std::vector<ChoicePoint*>, std::vector<ChoicePoint*>>> groups;
    for (ChoicePoint& cp : choices_) {
      const std::uint32_t c = whole.of[cp.node];
      if (troubled[c] != 0 && doomed[c] == 0) {
        auto& [suspects, rest] = groups[c];
        (first.cyclic(first.of[cp.node]) ? suspects : rest).push_back(&cp);
      }
    }
    std::vector<std::uint32_t> order(nodes);
    for (std::uint32_t v = 0; v < nodes; ++v) {
      order[v] = static_cast<std::uint32_t>(core_parts.size.size()) - 1 - core_parts.of[v];
    }
    const Csr core_reversed = make_csr(nodes, {&fixed_, &envelope_}, true);
    ChoiceSearch search(core, core_reversed, whole.of, std::move(order), in_.budget);
    std::vector<char> out_of_budget(whole.size.size(), 0);
    for (auto& [c, split] : groups) {
      const auto& [suspects, rest] = split;
      // First a repair: the rest keep their first guess (which lies on no cycle), and only the
      // suspects are searched. Failing that, everything is searched, suspects first.
      std::vector<ChoicePoint*> group = rest;
      group.insert(group.end(), suspects.begin(), suspects.end());
      ChoiceSearch::Outcome outcome = search.solve(c, group, rest.size());
      if (outcome == ChoiceSearch::Outcome::kNone) {
        std::rotate(group.begin(), group.begin() + static_cast<std::ptrdiff_t>(rest.size()),
                    group.end());
        outcome = search.solve(c, group, 0);
      }
      if (outcome != ChoiceSearch::Outcome::kFound) {
        for (ChoicePoint* cp : group) {
          cp->chosen = 0;
        }
      }
      out_of_budget[c] = static_cast<char>(outcome == ChoiceSearch::Outcome::kOutOfBudget);
    }
    chosen = chosen_edges();
    const Csr last = make_csr(nodes, {&fixed_, &chosen});
    const Components parts = strongly_connected(last);
    // One report per knot (cyclic component), in the order of their first transactions, about
    // the read-only transaction the sweep could not place (or the first one) in it.
    std::map<std::uint32_t, std::uint32_t> subject;  // component -> node
    std::vector<std::size_t> txns_in(parts.size.size(), 0);
    std::vector<std::size_t> read_only_in(parts.size.size(), 0);
    for (std::uint32_t v = 0; v < txns_; ++v) {
      const std::uint32_t c = parts.of[v];
      ++txns_in[c];
      if (!parts.cyclic(c) || !in_.read_only[in_.committed[v]->id]) {
        continue;
      }
      ++read_only_in[c];
      auto [it, inserted] = subject.emplace(c, v);
      if (!inserted && in_.unplaced.count(in_.committed[it->second]->id) == 0 &&
          in_.unplaced.count(in_.committed[v]->id) > 0) {
        it->second = v;
      }
    }
    std::vector<char> reported(parts.size.size(), 0);
    for (std::uint32_t v = 0; v < txns_; ++v) {
      const std::uint32_t c = parts.of[v];
      if (reported[c] != 0 || subject.count(c) == 0) {
        continue;
      }
      reported[c] = 1;
      const std::uint32_t s = subject.at(c);
      const Operation& t = *in_.committed[s];
      std::string text = fmt::format(
          "{}\n    is on a cycle of the serialization graph, with {} transaction(s) in its "
          "strongly connected part ({} read-only); a shortest cycle through it (wr: read what "
          "the first wrote; rw: read a version the second overwrote; ww: overwrote; rt: "
          "completed before the second began):\n{}",
          t.to_string(), txns_in[c], read_only_in[c], cycle_text(last, parts, s));
      if (auto it = in_.unplaced.find(t.id); it != in_.unplaced.end()) {
        text += fmt::format("\n    by timestamps alone: {}", it->second);
      }
      if (out_of_budget[whole.of[s]] != 0) {
        undecided.push_back(
            {kUndecidedPlace,
             fmt::format("{}\n    (the search for versions its reads and its knot's reads could "
                         "have seen that leave no cycle ran out of its budget of {} steps: "
                         "TransactionCheckOptions::placement_search_budget)",
                         text, in_.budget)});
      } else {
        found.push_back({kNoPlace, text});
      }
    }
  }

 private:
  static constexpr std::uint32_t kNoNode = std::numeric_limits<std::uint32_t>::max();

  /// Real time in O(n) edges: a chain node per completion, in completion order; a transaction
  /// points at its own completion's node, and the last completion before its invocation points
  /// at it. T1 reaches T2 through the chain exactly when T1 completed before T2 began.
  void add_real_time() {
    std::vector<std::uint32_t> by_complete(txns_);
    for (std::uint32_t i = 0; i < txns_; ++i) {
      by_complete[i] = i;
    }
    std::sort(by_complete.begin(), by_complete.end(), [&](std::uint32_t a, std::uint32_t b) {
      return in_.committed[a]->complete_event < in_.committed[b]->complete_event;
    });
    std::vector<std::size_t> completions(txns_);
    for (std::uint32_t k = 0; k < txns_; ++k) {
      completions[k] = in_.committed[by_complete[k]]->complete_event;
      fixed_.push_back({by_complete[k], txns_ + k, Dep::kRt, nullptr});
      if (k + 1 < txns_) {
        fixed_.push_back({txns_ + k, txns_ + k + 1, Dep::kRt, nullptr});
      }
    }
    for (std::uint32_t i = 0; i < txns_; ++i) {
      auto k = static_cast<std::uint32_t>(
          std::lower_bound(completions.begin(), completions.end(), in_.committed[i]->invoke_event) -
          completions.begin());
      if (k > 0) {
        fixed_.push_back({txns_ + k - 1, i, Dep::kRt, nullptr});
      }
    }
  }

  /// A read-write transaction's place among the writers of a key it read is its timestamp's
  /// (writers before it precede it, later ones follow), whatever it read; only a writer of the
  /// same timestamp may go either way, which its read decides when it can (as in (4)).
  void add_read_write(std::uint32_t i) {
    const Operation& t = *in_.committed[i];
    std::vector<std::string_view> own;
    for (const MicroOp& m : in_.steps[t.id]) {
      if (m.kind != OpKind::kRead) {
        own.emplace_back(m.key);
        continue;
      }
      auto vit = in_.versions.find(m.key);
      if (std::find(own.begin(), own.end(), m.key) != own.end() || vit == in_.versions.end()) {
        continue;
      }
      const std::string* key = &vit->first;
      const std::vector<VersionStep>& vs = vit->second;
      const std::int64_t ts = *t.commit_ts;
      auto n = static_cast<std::size_t>(
          std::lower_bound(vs.begin(), vs.end(), ts,
                           [](const VersionStep& v, std::int64_t x) { return v.ts < x; }) -
          vs.begin());
      std::size_t hi = n;
      while (hi < vs.size() && vs[hi].ts == ts) {
        ++hi;
      }
      if (n > 0) {
        fixed_.push_back({node_of_[vs[n - 1].op], i, Dep::kWr, key});
      }
      if (hi < vs.size()) {
        fixed_.push_back({i, node_of_[vs[hi].op], Dep::kRw, key});
      }
      if (n == hi || vs[n].op == t.id || vs[n].op != vs[hi - 1].op ||
          in_.in_doubt(m.key, m.value, ts)) {
        continue;  // no writer at its timestamp, its own write, a collision (reported), or
                   // an in-doubt write may explain the read (lenient, as in (2))
      }
      const std::uint32_t u = node_of_[vs[n].op];
      const std::vector<Value>& st = in_.states.at(m.key);
      Candidate before;
      before.edges[0] = {i, u, Dep::kRw, key};
      before.count = 1;
      Candidate after;
      after.edges[0] = {u, i, Dep::kWr, key};
      after.count = 1;
      const bool saw_before = st[n] == m.value;
      const bool saw_after = st[hi] == m.value;
      if (saw_before && saw_after) {
        choices_.push_back({i, {before, after}, 0});
      } else if (saw_before || saw_after) {
        fixed_.push_back((saw_before ? before : after).edges[0]);
      }
    }
  }

  /// A read-only transaction's read saw some version whose state is the value read: it follows
  /// that version's writer and precedes the next writer of the key. A read an in-doubt write
  /// could explain adds nothing (lenient, as in (2)); a value that is no version at all is an
  /// anomaly by itself, reported here, and the transaction then adds no read edges.
  void add_read_only(std::uint32_t i) {
    const Operation& t = *in_.committed[i];
    static const std::vector<VersionStep> kNoVersions;
    struct Read {
      const std::string* key;
      const std::vector<VersionStep>* vs;
      std::vector<std::size_t> versions;  // candidate version indexes, ascending
    };
    std::vector<Read> reads;
    for (const MicroOp& m : in_.steps[t.id]) {
      if (in_.in_doubt(m.key, m.value, std::numeric_limits<std::int64_t>::max())) {
        continue;
      }
      auto vit = in_.versions.find(m.key);
      const bool written = vit != in_.versions.end() && !vit->second.empty();
      const std::vector<VersionStep>& vs = written ? vit->second : kNoVersions;
      Read r{written ? &vit->first : nullptr, &vs, {}};
      // Real time bounds the versions it may have seen: none that a transaction which completed
      // before it began overwrote (or whose overwriter precedes such a one), none written by one
      // that began after it completed (or written after such a one). Other versions would close
      // a cycle through real-time and ww edges; leaving them out keeps the search small.
      const auto [lo, hi] = window(r.key, vs, t);
      r.versions = in_.index.holding(m.key, m.value, lo, hi);
      if (r.versions.empty()) {
        // Real time allows none: keep the nearest one, whose cycle the report shows.
        if (auto before = in_.index.last_before(m.key, m.value, lo)) {
          r.versions.push_back(*before);
        } else {
          r.versions = in_.index.holding(m.key, m.value, hi, VersionIndex::kAll, 1);
        }
      }
      if (r.versions.empty()) {
        no_version_.push_back(
            {kNoPlace, fmt::format("{}\n    read \"{}\" = {}, which is no version of the key: "
                                   "no sequence of the committed writes leaves it in that state",
                                   t.to_string(), m.key, m.value.to_string())});
        return;
      }
      reads.push_back(std::move(r));
    }
    for (const Read& r : reads) {
      const std::vector<VersionStep>& vs = *r.vs;
      auto candidate = [&](std::size_t j) {
        Candidate c;
        if (j > 0) {
          c.edges[c.count++] = {node_of_[vs[j - 1].op], i, Dep::kWr, r.key};
        }
        if (j < vs.size()) {
          c.edges[c.count++] = {i, node_of_[vs[j].op], Dep::kRw, r.key};
        }
        return c;
      };
      if (r.versions.size() == 1) {
        Candidate c = candidate(r.versions[0]);
        fixed_.insert(fixed_.end(), c.edges.begin(),
                      c.edges.begin() + static_cast<std::ptrdiff_t>(c.count));
        continue;
      }
      // First guess: the version current where the sweep placed it, else the latest one
      // real time allows; then the others, latest first.
      std::size_t guess = r.versions.back();
      if (auto it = in_.placed.find(t.id); it != in_.placed.end()) {
        auto at = static_cast<std::size_t>(
            std::upper_bound(vs.begin(), vs.end(), it->second,
                             [](std::int64_t x, const VersionStep& v) { return x < v.ts; }) -
            vs.begin());
        if (std::binary_search(r.versions.begin(), r.versions.end(), at)) {
          guess = at;
        }
      }
      ChoicePoint cp{i, {candidate(guess)}, 0};
      for (auto j = r.versions.rbegin(); j != r.versions.rend(); ++j) {
        if (*j != guess) {
          cp.candidates.push_back(candidate(*j));
        }
      }
      choices_.push_back(std::move(cp));
      if (r.versions.front() > 0) {
        envelope_.push_back({node_of_[vs[r.versions.front() - 1].op], i, Dep::kWr, r.key});
      }
      if (r.versions.back() < vs.size()) {
        envelope_.push_back({i, node_of_[vs[r.versions.back()].op], Dep::kRw, r.key});
      }
    }
  }

  /// The versions [lo, hi] of a key that real time allows a read-only transaction t to have
  /// seen: lo is past every version whose writer completed before t began; hi is at or before
  /// the version each writer that began after t completed overwrote. Writers of a key are
  /// indexed once, by completion and by invocation, on the first read of the key.
  std::pair<std::size_t, std::size_t> window(const std::string* key,
                                             const std::vector<VersionStep>& vs,
                                             const Operation& t) {
    if (vs.empty()) {
      return {0, 0};
    }
    auto [it, fresh] = windows_.try_emplace(key);
    Windows& w = it->second;
    if (fresh) {
      std::vector<std::pair<std::size_t, std::size_t>> done;
      std::vector<std::pair<std::size_t, std::size_t>> begun;
      for (std::size_t i = 0; i < vs.size(); ++i) {
        const Operation& writer = in_.ops[vs[i].op];
        done.emplace_back(writer.complete_event, i + 1);
        begun.emplace_back(writer.invoke_event, i);
      }
      std::sort(done.begin(), done.end());
      std::sort(begun.begin(), begun.end());
      for (std::size_t k = 0; k < done.size(); ++k) {
        w.completions.push_back(done[k].first);
        w.lo_upto.push_back(std::max(done[k].second, k > 0 ? w.lo_upto[k - 1] : 0));
      }
      w.hi_from.assign(begun.size(), vs.size());
      for (std::size_t k = begun.size(); k-- > 0;) {
        w.hi_from[k] =
            std::min(begun[k].second, k + 1 < begun.size() ? w.hi_from[k + 1] : vs.size());
      }
      for (const auto& [event, i] : begun) {
        w.invocations.push_back(event);
      }
    }
    auto k = static_cast<std::size_t>(
        std::lower_bound(w.completions.begin(), w.completions.end(), t.invoke_event) -
        w.completions.begin());
    auto p = static_cast<std::size_t>(
        std::upper_bound(w.invocations.begin(), w.invocations.end(), t.complete_event) -
        w.invocations.begin());
    return {k > 0 ? w.lo_upto[k - 1] : 0, p < w.hi_from.size() ? w.hi_from[p] : vs.size()};
  }

  std::vector<DepEdge> chosen_edges() const {
    std::vector<DepEdge> out;
    for (const ChoicePoint& cp : choices_) {
      const Candidate& c = cp.candidates[cp.chosen];
      out.insert(out.end(), c.edges.begin(),
                 c.edges.begin() + static_cast<std::ptrdiff_t>(c.count));
    }
    return out;
  }

  bool has_read_only_cycle(const Components& parts) const {
    for (std::uint32_t v = 0; v < txns_; ++v) {
      if (parts.cyclic(parts.of[v]) && in_.read_only[in_.committed[v]->id]) {
        return true;
      }
    }
    return false;
  }

  /// A shortest cycle through s (breadth first within its component), one line per
  /// transaction, chain nodes folded into one real-time step, at most eight steps shown.
  std::string cycle_text(const Csr& g, const Components& parts, std::uint32_t s) const {
    const std::uint32_t c = parts.of[s];
    std::map<std::uint32_t, DepEdge> parent;
    std::vector<std::uint32_t> queue{s};
    std::optional<DepEdge> closing;
    for (std::size_t q = 0; q < queue.size() && !closing; ++q) {
      const std::uint32_t v = queue[q];
      for (std::uint32_t e = g.first[v]; e < g.first[v + 1]; ++e) {
        const DepEdge& edge = g.edges[e];
        if (edge.to == s) {
          closing = edge;
          break;
        }
        if (parts.of[edge.to] == c && parent.emplace(edge.to, edge).second) {
          queue.push_back(edge.to);
        }
      }
    }
    std::vector<DepEdge> path{*closing};
    for (std::uint32_t v = closing->from; v != s; v = parent.at(v).from) {
      path.push_back(parent.at(v));
    }
    std::reverse(path.begin(), path.end());
    std::vector<std::string> steps;
    std::string label;
    for (const DepEdge& e : path) {
      if (label.empty()) {
        label = dep_label(e);
      }
      if (e.to < txns_) {
        steps.push_back(fmt::format("      --{}--> {}", label, in_.committed[e.to]->to_string()));
        label.clear();
      }
    }
    std::string out = fmt::format("      {}", in_.committed[s]->to_string());
    constexpr std::size_t kShown = 8;
    for (std::size_t k = 0; k < steps.size(); ++k) {
      if (steps.size() > kShown && k == kShown - 2) {
        out += fmt::format("\n      ... {} more steps ...", steps.size() - (kShown - 1));
        k = steps.size() - 1;
      }
      out += "\n" + steps[k];
    }
    return out;
  }

  const PlacementInput& in_;
  const std::uint32_t txns_;
  std::vector<std::uint32_t> node_of_;  ///< by operation id
  std::vector<DepEdge> fixed_;
  std::vector<DepEdge> envelope_;
  std::vector<ChoicePoint> choices_;
  std::vector<Anomaly> no_version_;
  struct Windows {
    std::vector<std::size_t> completions;  ///< the key's writers' completion events, ascending
    std::vector<std::size_t> lo_upto;      ///< past the versions of the first k + 1 of them
    std::vector<std::size_t> invocations;  ///< their invocation events, ascending
    std::vector<std::size_t> hi_from;      ///< the first version of the k-th and later ones
  };
  std::map<const std::string*, Windows> windows_;  // looked up only, never iterated
};

}  // namespace

void decide_placement(const PlacementInput& in, std::vector<Anomaly>& found,
                      std::vector<Anomaly>& undecided) {
  PlacementGraph(in).decide(found, undecided);
}

}  // namespace faultline::check::detail
