#include <faultline/world/ids.hpp>
// Included here so that every public header is compiled with the layer, even before it has
// its own translation unit.
#include <faultline/world/world.hpp>

namespace faultline::world {

std::string_view to_string(LinkClass c) {
  switch (c) {
    case LinkClass::kSameHost:
      return "same_host";
    case LinkClass::kSameZone:
      return "same_zone";
    case LinkClass::kCrossZone:
      return "cross_zone";
    case LinkClass::kCrossRegion:
      return "cross_region";
  }
  return "unknown";
}

}  // namespace faultline::world
