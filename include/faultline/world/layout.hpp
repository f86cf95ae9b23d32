// Layout helpers for the common shape of a model's world: one region of a few zones, and
// processes that each run alone on a host of their own name. They only call World's own
// add_* functions, in order, so the ids (and every trace) are what the calls by hand gave.
#pragma once

#include <faultline/world/world.hpp>

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::world {

/// A region named `region` with one zone per name, in the order given.
inline std::vector<ZoneId> add_region_with_zones(World& w, std::string region,
                                                 std::initializer_list<std::string_view> zones) {
  const RegionId r = w.add_region(std::move(region));
  std::vector<ZoneId> out;
  out.reserve(zones.size());
  for (std::string_view z : zones) {
    out.push_back(w.add_zone(r, std::string(z)));
  }
  return out;
}

/// The i-th of `zones`, round-robin (instance i of a tier spread over the zones).
inline ZoneId round_robin(const std::vector<ZoneId>& zones, int i) {
  return zones[static_cast<std::size_t>(i) % zones.size()];
}

/// A node alone on a new host, both named `name`.
inline NodeId add_node_on_own_host(World& w, ZoneId zone, const std::string& name,
                                   const std::string& group, ProgramFactory factory) {
  return w.add_node(w.add_host(zone, name), name, group, std::move(factory));
}

}  // namespace faultline::world
