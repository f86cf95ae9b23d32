// The consistent-hash ring of ringpop (hashring.go): every server owns `replica_points`
// points, a key belongs to the first point clockwise of its hash. ringpop-go keeps the points
// in a red-black tree over FarmHash32; we keep them in a sorted array (built once per server
// set, lookups by binary search: O(log(n x points))) over our own 64-bit hash.
#pragma once

#include <faultline/sim/ringpop/membership.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace faultline::sim::ringpop {

/// Our 64-bit hash of bytes (a multiply-xorshift mix over 8-byte words; not FarmHash, but
/// the same role: uniform, deterministic, the same on every machine).
std::uint64_t hash_bytes(std::string_view bytes);
/// The hash of a 64-bit key (cells, request keys).
std::uint64_t hash_u64(std::uint64_t key);

class HashRing {
public:
  /// A ring of `servers` (any order; duplicates ignored), each with `replica_points` points.
  HashRing(std::span<const MemberId> servers, std::uint32_t replica_points);

  /// The owner of a key hash; kNoMember on an empty ring. O(log points).
  MemberId lookup(std::uint64_t key_hash) const;
  std::size_t servers() const { return servers_.size(); }
  std::size_t points() const { return points_.size(); }
  /// Sorted server ids.
  const std::vector<MemberId>& server_list() const { return servers_; }
  /// The ring checksum: the same sum Membership::ring_checksum keeps over pingable members.
  std::uint64_t checksum() const { return checksum_; }

private:
  struct Point {
    std::uint64_t hash;
    MemberId owner;
  };
  std::vector<Point> points_;
  std::vector<MemberId> servers_;
  std::uint64_t checksum_ = 0;
};

/// Rings shared between members whose server sets are equal: a ring is a pure function of
/// its server set, so members that agree share one immutable ring instead of each building
/// its own (10,000 members x 1,000,000 points would not fit in memory). Keyed by the ring
/// checksum; keeps the `capacity` most recently built rings.
class RingCache {
public:
  RingCache(std::uint32_t replica_points, std::size_t capacity = 16)
      : replica_points_(replica_points), capacity_(capacity) {}
  /// The ring of `view`'s pingable members.
  std::shared_ptr<const HashRing> ring_for(const Membership& view);
  std::uint64_t builds() const { return builds_; }

private:
  std::uint32_t replica_points_;
  std::size_t capacity_;
  std::vector<std::shared_ptr<const HashRing>> rings_;  // most recent last
  std::uint64_t builds_ = 0;
};

}  // namespace faultline::sim::ringpop
