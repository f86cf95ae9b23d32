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
  std::vector<std::pair<std::uint64_t, int>> points_;  // sorted by point
};

}  // namespace faultline::sim::evcache
