#include <faultline/sim/evcache/ketama.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace faultline::sim::evcache {

namespace {
std::uint64_t mix(std::uint64_t z) {  // splitmix64's finaliser
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
}  // namespace

std::uint64_t hash_bytes(std::string_view bytes) {
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a
  for (unsigned char c : bytes) {
    h = (h ^ c) * 0x100000001b3ULL;
  }
  return mix(h);
}

std::uint64_t hash_key(std::uint64_t key) { return mix(key + 0x9e3779b97f4a7c15ULL); }

KetamaRing::KetamaRing(const std::vector<std::string_view>& names, int points) {
  points_.reserve(names.size() * static_cast<std::size_t>(points));
  for (std::size_t s = 0; s < names.size(); ++s) {
    for (int i = 0; i < points; ++i) {
      points_.emplace_back(hash_bytes(fmt::format("{}-{}", names[s], i)), static_cast<int>(s));
    }
  }
  std::sort(points_.begin(), points_.end());
}

int KetamaRing::server_for(std::uint64_t key) const {
  const std::uint64_t h = hash_key(key);
  auto it = std::lower_bound(points_.begin(), points_.end(), std::make_pair(h, -1));
  if (it == points_.end()) {
    it = points_.begin();
  }
  return it->second;
}

}  // namespace faultline::sim::evcache
