#include <faultline/sim/ringpop/ring.hpp>

#include <algorithm>
#include <cstring>

namespace faultline::sim::ringpop {

namespace {
std::uint64_t fmix(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  return x ^ (x >> 33);
}
}  // namespace

std::uint64_t hash_bytes(std::string_view bytes) {
  std::uint64_t h = 0x6a09e667f3bcc909ULL ^ (bytes.size() * 0x9e3779b97f4a7c15ULL);
  std::size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    std::uint64_t w = 0;
    std::memcpy(&w, bytes.data() + i, 8);
    h = fmix(h ^ w) * 0x9e3779b97f4a7c15ULL;
  }
  std::uint64_t tail = 0;
  for (std::size_t j = 0; i + j < bytes.size(); ++j) {
    tail |= std::uint64_t{static_cast<unsigned char>(bytes[i + j])} << (8 * j);
  }
  return fmix(h ^ tail);
}

std::uint64_t hash_u64(std::uint64_t key) { return fmix(key ^ 0x243f6a8885a308d3ULL); }

HashRing::HashRing(std::span<const MemberId> servers, std::uint32_t replica_points)
    : servers_(servers.begin(), servers.end()) {
  std::sort(servers_.begin(), servers_.end());
  servers_.erase(std::unique(servers_.begin(), servers_.end()), servers_.end());
  points_.reserve(servers_.size() * replica_points);
  for (MemberId s : servers_) {
    checksum_ += Membership::ring_hash(s);
    for (std::uint32_t r = 0; r < replica_points; ++r) {
      // ringpop hashes "<address><replica index>"; we hash (member, replica) the same way.
      points_.push_back({hash_u64((std::uint64_t{s} << 20) ^ r ^ 0x7070'0000'0000'0000ULL), s});
    }
  }
  std::sort(points_.begin(), points_.end(), [](const Point& a, const Point& b) {
    return a.hash != b.hash ? a.hash < b.hash : a.owner < b.owner;
  });
}

MemberId HashRing::lookup(std::uint64_t key_hash) const {
  if (points_.empty()) {
    return kNoMember;
  }
  auto it = std::lower_bound(points_.begin(), points_.end(), key_hash,
                             [](const Point& p, std::uint64_t h) { return p.hash < h; });
  if (it == points_.end()) {
    it = points_.begin();  // wrap around
  }
  return it->owner;
}

std::shared_ptr<const HashRing> RingCache::ring_for(const Membership& view) {
  const std::uint64_t want = view.ring_checksum();
  for (std::size_t i = rings_.size(); i-- > 0;) {
    if (rings_[i]->checksum() == want && rings_[i]->servers() == view.pingable_count()) {
      auto hit = rings_[i];
      rings_.erase(rings_.begin() + static_cast<std::ptrdiff_t>(i));
      rings_.push_back(hit);
      return hit;
    }
  }
  std::vector<MemberId> servers;
  servers.reserve(view.pingable_count());
  for (MemberId m = 0; m < view.size(); ++m) {
    if (pingable(view.status(m))) {
      servers.push_back(m);
    }
  }
  auto ring = std::make_shared<const HashRing>(servers, replica_points_);
  ++builds_;
  rings_.push_back(ring);
  if (rings_.size() > capacity_) {
    rings_.erase(rings_.begin());
  }
  return ring;
}

}  // namespace faultline::sim::ringpop
