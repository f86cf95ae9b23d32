// A Merkle tree over the keys of one key range, for anti-entropy (Dynamo paper, §4.7).
//
// Leaves are 2^depth buckets; a key falls in a bucket by its hash, and a leaf's hash folds the
// (key, version-set digest) pairs of its keys in key order. An inner node hashes its two
// children. Two replicas of a range compare roots; when they differ they descend level by
// level, asking only for the children of nodes that differ, and exchange the keys of the
// leaves that differ. Identical ranges cost one comparison, whatever their size.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace faultline::sim::dynamo {

class MerkleTree {
public:
  /// depth 0 is a single leaf; at most 20.
  explicit MerkleTree(int depth);

  int depth() const { return depth_; }
  std::size_t leaves() const { return std::size_t{1} << depth_; }
  /// The leaf a key belongs to.
  std::size_t leaf_of(std::string_view key) const;
  /// Adds a key's digest to its leaf. Keys must be added in ascending key order (a std::map
  /// walk) so two replicas with the same content build the same tree.
  void add(std::string_view key, std::uint64_t digest);
  /// Computes inner nodes; call once after the last add.
  void build();
  /// Hash of node `index` at `level` (0 = root, depth = leaves).
  std::uint64_t hash(int level, std::size_t index) const;
  std::uint64_t root() const { return hash(0, 0); }

private:
  int depth_;
  // levels_[l] holds 2^l hashes; levels_[depth_] are the leaves.
  std::vector<std::vector<std::uint64_t>> levels_;
};

}  // namespace faultline::sim::dynamo
