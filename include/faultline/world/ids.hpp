// Strong identifiers for the things of the simulated world, and the classes of network link.
//
// Ids are dense indices handed out in creation order (region 0, 1, ...), so they double as
// vector indices inside the world layer and are stable across runs with the same inputs.
#pragma once

#include <compare>
#include <cstdint>
#include <limits>
#include <string_view>

namespace faultline::world {

/// A dense index tagged with what it names, so a HostId cannot be passed as a NodeId.
template <class Tag>
class Id {
public:
  static constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();
  constexpr Id() = default;
  constexpr explicit Id(std::uint32_t v) : value_(v) {}
  constexpr std::uint32_t value() const { return value_; }
  constexpr bool valid() const { return value_ != kNone; }
  constexpr auto operator<=>(const Id&) const = default;

private:
  std::uint32_t value_ = kNone;
};

using RegionId = Id<struct RegionTag>;
using ZoneId = Id<struct ZoneTag>;
using HostId = Id<struct HostTag>;
/// A simulated process (a Node): the unit that sends and receives messages.
using NodeId = Id<struct NodeTag>;

/// How far apart two hosts are; picks the default latency model of a message.
enum class LinkClass : std::uint8_t { kSameHost, kSameZone, kCrossZone, kCrossRegion };

/// "same_host", "same_zone", "cross_zone", "cross_region".
std::string_view to_string(LinkClass c);

}  // namespace faultline::world
