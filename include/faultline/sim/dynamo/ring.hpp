// The consistent-hashing ring of a Dynamo cluster (DeCandia et al., SOSP 2007, §4.2, §6.2).
//
// A key's position is a 64-bit hash of its name (the paper uses 128-bit MD5; 64 bits are plenty
// for a simulation and keep positions in one integer). Each physical node owns one or more
// tokens (virtual nodes); a token owns the arc that ends at it. Two placements are modelled:
//
// - kRandomTokens (the paper's strategy 1): T tokens per node at random positions;
// - kEqualPartitions (strategy 3): Q equal arcs, Q/S of them per node, assigned in seeded
//   shuffled rounds so every node owns Q/S arcs (±1). With Q = S this is classic consistent
//   hashing with one evenly spaced token per node.
//
// A key's preference list walks the ring clockwise from its arc and keeps only DISTINCT
// physical nodes (vnodes of a node already chosen are skipped), so N replicas land on N hosts.
#pragma once

#include <faultline/rng.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::sim::dynamo {

enum class Placement : std::uint8_t { kRandomTokens, kEqualPartitions };
std::string_view to_string(Placement p);

struct RingParams {
  Placement placement = Placement::kEqualPartitions;
  /// Strategy 1: tokens per node. Strategy 3: used only when `partitions` is 0, which then
  /// means Q = tokens_per_node * nodes.
  int tokens_per_node = 1;
  /// Strategy 3: Q, the number of equal partitions (0: tokens_per_node * nodes). Must be at
  /// least the number of nodes.
  int partitions = 0;
};

/// 64-bit position of a key on the ring (FNV-1a, then a SplitMix64 finaliser so that keys
/// that differ only in their last characters land far apart).
std::uint64_t key_position(std::string_view key);

class Ring {
public:
  struct Token {
    std::uint64_t position = 0;  // the arc (previous token, position] belongs to this token
    std::uint32_t node = 0;
  };

  /// Builds the ring of `nodes` physical nodes; `rng` places random tokens and shuffles
  /// strategy-3 assignments. Throws std::invalid_argument on bad params.
  Ring(std::uint32_t nodes, const RingParams& params, Rng& rng);

  std::uint32_t nodes() const { return nodes_; }
  /// Tokens sorted by position.
  const std::vector<Token>& tokens() const { return tokens_; }
  /// Index of the token whose arc holds `position`.
  std::size_t arc_of(std::uint64_t position) const;
  /// Every physical node once, in clockwise order from the arc of `position`: the first N are
  /// the key's preference list, the rest are the fallbacks a sloppy quorum uses.
  std::vector<std::uint32_t> walk(std::uint64_t position) const;
  /// The first `n` distinct nodes of walk(position).
  std::vector<std::uint32_t> preference_list(std::uint64_t position, std::size_t n) const;
  /// Same, starting at token `arc` (for per-range work such as anti-entropy).
  std::vector<std::uint32_t> preference_list_of_arc(std::size_t arc, std::size_t n) const;
  /// Share of the hash space each node owns as its tokens' arcs (sums to 1).
  std::vector<double> ownership() const;
  /// Every physical node once, clockwise from token `arc`. The ring never changes after it is
  /// built, so each arc's walk is computed once, on first use (a walk visits every token:
  /// O(tokens) per request otherwise, which grows with the cluster). The reference stays
  /// valid as long as the ring, so a request keeps it rather than a copy as long as the
  /// cluster (480 nodes: 1.9 KB per request).
  const std::vector<std::uint32_t>& walk_of_arc(std::size_t arc) const;

private:

  std::uint32_t nodes_;
  std::vector<Token> tokens_;
  mutable std::vector<std::vector<std::uint32_t>> walks_;  // per arc; empty until first used
};

}  // namespace faultline::sim::dynamo
