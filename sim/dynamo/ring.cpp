#include <faultline/rng.hpp>
#include <faultline/sim/dynamo/ring.hpp>

#include <algorithm>
#include <stdexcept>

namespace faultline::sim::dynamo {

std::string_view to_string(Placement p) {
  return p == Placement::kRandomTokens ? "random_tokens" : "equal_partitions";
}

std::uint64_t key_position(std::string_view key) { return hash64(fnv1a64(key)); }

Ring::Ring(std::uint32_t nodes, const RingParams& params, Rng& rng) : nodes_(nodes) {
  if (nodes == 0) {
    throw std::invalid_argument("ring: nodes is 0; a ring needs at least one node");
  }
  if (params.tokens_per_node < 1) {
    throw std::invalid_argument("ring.tokens_per_node: must be at least 1");
  }
  if (params.placement == Placement::kRandomTokens) {
    for (std::uint32_t n = 0; n < nodes; ++n) {
      for (int t = 0; t < params.tokens_per_node; ++t) {
        tokens_.push_back({rng.next_u64(), n});
      }
    }
    // A duplicate position (probability ~2^-40 here) would make ownership ambiguous; the
    // stable sort keeps the lower node first, so the outcome is still deterministic.
    std::stable_sort(tokens_.begin(), tokens_.end(),
                     [](const Token& a, const Token& b) { return a.position < b.position; });
    return;
  }
  const std::uint64_t q = params.partitions > 0
                              ? static_cast<std::uint64_t>(params.partitions)
                              : static_cast<std::uint64_t>(params.tokens_per_node) * nodes;
  if (q < nodes) {
    throw std::invalid_argument(
        "ring.partitions: fewer partitions than nodes; use at least one partition per node");
  }
  // Rounds of a shuffled node order: every node gets floor(Q/S) or ceil(Q/S) partitions, and
  // consecutive partitions mostly belong to different nodes, as the paper's strategy 3 wants.
  std::vector<std::uint32_t> owner;
  std::vector<std::uint32_t> order(nodes);
  while (owner.size() < q) {
    for (std::uint32_t n = 0; n < nodes; ++n) {
      order[n] = n;
    }
    for (std::uint32_t i = nodes; i > 1; --i) {
      std::swap(order[i - 1], order[rng.below(i)]);
    }
    for (std::uint32_t n = 0; n < nodes && owner.size() < q; ++n) {
      owner.push_back(order[n]);
    }
  }
  const std::uint64_t step = UINT64_MAX / q;
  for (std::uint64_t i = 0; i < q; ++i) {
    const std::uint64_t end = i + 1 == q ? UINT64_MAX : (i + 1) * step - 1;
    tokens_.push_back({end, owner[i]});
  }
}

std::size_t Ring::arc_of(std::uint64_t position) const {
  auto it = std::lower_bound(tokens_.begin(), tokens_.end(), position,
                             [](const Token& t, std::uint64_t p) { return t.position < p; });
  return it == tokens_.end() ? 0 : static_cast<std::size_t>(it - tokens_.begin());
}

const std::vector<std::uint32_t>& Ring::walk_of_arc(std::size_t arc) const {
  if (walks_.empty()) {
    walks_.resize(tokens_.size());
  }
  auto& out = walks_[arc];
  if (out.empty()) {
    std::vector<bool> taken(nodes_, false);
    for (std::size_t i = 0; i < tokens_.size() && out.size() < nodes_; ++i) {
      const std::uint32_t node = tokens_[(arc + i) % tokens_.size()].node;
      if (!taken[node]) {
        taken[node] = true;
        out.push_back(node);
      }
    }
  }
  return out;
}

std::vector<std::uint32_t> Ring::preference_list_of_arc(std::size_t arc, std::size_t n) const {
  const auto& w = walk_of_arc(arc);
  return {w.begin(), w.begin() + static_cast<std::ptrdiff_t>(std::min(n, w.size()))};
}

std::vector<std::uint32_t> Ring::walk(std::uint64_t position) const {
  return walk_of_arc(arc_of(position));
}

std::vector<std::uint32_t> Ring::preference_list(std::uint64_t position, std::size_t n) const {
  return preference_list_of_arc(arc_of(position), n);
}

std::vector<double> Ring::ownership() const {
  std::vector<double> share(nodes_, 0.0);
  for (std::size_t i = 0; i < tokens_.size(); ++i) {
    const std::uint64_t prev = i == 0 ? tokens_.back().position : tokens_[i - 1].position;
    // Unsigned wrap-around gives the arc length, including the arc that crosses zero.
    const std::uint64_t len = tokens_.size() == 1 ? UINT64_MAX : tokens_[i].position - prev;
    share[tokens_[i].node] += static_cast<double>(len) / 18446744073709551616.0;
  }
  return share;
}

}  // namespace faultline::sim::dynamo
