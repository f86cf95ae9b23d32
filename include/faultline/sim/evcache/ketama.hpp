// Ketama-style consistent hashing inside one server group: each server owns `points` points on
// a 64-bit ring, a key belongs to the first point at or after its hash. Our own hash (FNV-1a
// with a splitmix64 finaliser), not MD5: only the property matters, that removing a server moves
// only that server's keys.
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace faultline::sim::evcache {

std::uint64_t hash_bytes(std::string_view bytes);
std::uint64_t hash_key(std::uint64_t key);

class KetamaRing {
public:
  /// Servers are identified by index; `names[i]` seeds server i's points.
  KetamaRing(const std::vector<std::string_view>& names, int points);
  /// The server that owns `key`.
  int server_for(std::uint64_t key) const;
  std::size_t size() const { return points_.size(); }

private:
  std::uint64_t top_bits(std::uint64_t h) const;

  std::vector<std::pair<std::uint64_t, int>> points_;  // sorted by point
  // bucket_[t]: the index of the first point whose top `bits_` bits are >= t (bucket_.back() is
  // points_.size()), so a key's point lies in [bucket_[t], bucket_[t + 1]] and a lookup
  // searches a few points instead of the whole ring: its cost stays flat as the group grows.
  std::vector<std::uint32_t> bucket_;
  int bits_ = 0;
};

}  // namespace faultline::sim::evcache
