#include <faultline/rng.hpp>
#include <faultline/sim/dynamo/merkle.hpp>
#include <faultline/sim/dynamo/ring.hpp>

#include <stdexcept>

namespace faultline::sim::dynamo {

namespace {
std::uint64_t mix(std::uint64_t a, std::uint64_t b) {
  return mix64(a * kGoldenGamma ^ (b + 0x632be59bd9b4e019ULL));
}
}  // namespace

MerkleTree::MerkleTree(int depth) : depth_(depth) {
  if (depth < 0 || depth > 20) {
    throw std::invalid_argument("merkle depth: must be within [0, 20]");
  }
  levels_.resize(static_cast<std::size_t>(depth) + 1);
  for (int l = 0; l <= depth; ++l) {
    levels_[static_cast<std::size_t>(l)].assign(std::size_t{1} << l, 0);
  }
}

std::size_t MerkleTree::leaf_of(std::string_view key) const {
  // The low bits of the ring position: within one key range the high bits are nearly equal.
  return static_cast<std::size_t>(key_position(key) & (leaves() - 1));
}

void MerkleTree::add(std::string_view key, std::uint64_t digest) {
  auto& leaf = levels_.back()[leaf_of(key)];
  leaf = mix(leaf, mix(fnv1a64(key), digest));
}

void MerkleTree::build() {
  for (int l = depth_ - 1; l >= 0; --l) {
    auto& up = levels_[static_cast<std::size_t>(l)];
    const auto& down = levels_[static_cast<std::size_t>(l) + 1];
    for (std::size_t i = 0; i < up.size(); ++i) {
      up[i] = mix(down[2 * i], down[2 * i + 1]);
    }
  }
}

std::uint64_t MerkleTree::hash(int level, std::size_t index) const {
  return levels_.at(static_cast<std::size_t>(level)).at(index);
}

}  // namespace faultline::sim::dynamo
