#include <faultline/rng.hpp>
#include <faultline/sim/evcache/ketama.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace faultline::sim::evcache {

std::uint64_t hash_bytes(std::string_view bytes) {
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a
  for (unsigned char c : bytes) {
    h = (h ^ c) * 0x100000001b3ULL;
  }
  return mix64(h);
}

std::uint64_t hash_key(std::uint64_t key) { return hash64(key); }

KetamaRing::KetamaRing(const std::vector<std::string_view>& names, int points) {
  points_.reserve(names.size() * static_cast<std::size_t>(points));
  for (std::size_t s = 0; s < names.size(); ++s) {
    for (int i = 0; i < points; ++i) {
      points_.emplace_back(hash_bytes(fmt::format("{}-{}", names[s], i)), static_cast<int>(s));
    }
  }
  std::sort(points_.begin(), points_.end());
  // About one point per bucket: the smallest power of two at least the ring's size.
  while (bits_ < 32 && (std::size_t{1} << bits_) < points_.size()) {
    ++bits_;
  }
  const std::size_t buckets = std::size_t{1} << bits_;
  bucket_.assign(buckets + 1, static_cast<std::uint32_t>(points_.size()));
  std::size_t i = 0;
  for (std::size_t t = 0; t < buckets; ++t) {
    while (i < points_.size() && top_bits(points_[i].first) < t) {
      ++i;
    }
    bucket_[t] = static_cast<std::uint32_t>(i);
  }
}

std::uint64_t KetamaRing::top_bits(std::uint64_t h) const {
  return bits_ == 0 ? 0 : h >> (64 - bits_);
}

int KetamaRing::server_for(std::uint64_t key) const {
  const std::uint64_t h = hash_key(key);
  const std::uint64_t t = top_bits(h);
  // Every point before the bucket is below h, every point after it above: the first point at
  // or after h is in the bucket, or is the next bucket's first.
  auto it = std::lower_bound(points_.begin() + bucket_[t], points_.begin() + bucket_[t + 1],
                             std::make_pair(h, -1));
  if (it == points_.end()) {
    it = points_.begin();
  }
  return it->second;
}

}  // namespace faultline::sim::evcache
