// Topology: regions contain zones contain hosts, all named; and the link model between any
// two hosts.
//
// The link between two hosts has a class (same host, same zone, cross-zone, cross-region) whose
// defaults come from NetworkParams. Any region pair, zone pair or host pair can be given its
// own LinkParams; the most specific override wins (host pair, then zone pair, then region
// pair, then the class default). Overrides are directional; set_* with symmetric=true sets both.
#pragma once

#include <faultline/world/ids.hpp>
#include <faultline/world/params.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace faultline::world {

class Topology {
public:
  explicit Topology(NetworkParams defaults = {});

  // --- building (names must be unique within their kind; throws std::invalid_argument) ---
  RegionId add_region(std::string name);
  ZoneId add_zone(RegionId region, std::string name);
  HostId add_host(ZoneId zone, std::string name);

  // --- lookups -------------------------------------------------------------------------
  std::size_t region_count() const { return regions_.size(); }
  std::size_t zone_count() const { return zones_.size(); }
  std::size_t host_count() const { return hosts_.size(); }
  const std::string& name(RegionId r) const { return regions_.at(r.value()).name; }
  const std::string& name(ZoneId z) const { return zones_.at(z.value()).name; }
  const std::string& name(HostId h) const { return hosts_.at(h.value()).name; }
  RegionId region_of(ZoneId z) const { return zones_[z.value()].region; }
  ZoneId zone_of(HostId h) const { return hosts_[h.value()].zone; }
  RegionId region_of(HostId h) const { return hosts_[h.value()].region; }
  const std::vector<ZoneId>& zones_in(RegionId r) const { return regions_.at(r.value()).zones; }
  const std::vector<HostId>& hosts_in(ZoneId z) const { return zones_.at(z.value()).hosts; }
  std::vector<HostId> hosts_in(RegionId r) const;
  std::optional<RegionId> find_region(std::string_view name) const;
  std::optional<ZoneId> find_zone(std::string_view name) const;
  std::optional<HostId> find_host(std::string_view name) const;

  // --- links ---------------------------------------------------------------------------
  LinkClass link_class(HostId a, HostId b) const {
    if (a == b) {
      return LinkClass::kSameHost;
    }
    const Loc& ha = loc_[a.value()];
    const Loc& hb = loc_[b.value()];
    if (ha.zone == hb.zone) {
      return LinkClass::kSameZone;
    }
    return ha.region == hb.region ? LinkClass::kCrossZone : LinkClass::kCrossRegion;
  }
  /// The parameters of the directed link a → b (override or class default). O(1) when no
  /// overrides are set, O(log overrides) otherwise.
  const LinkParams& link(HostId a, HostId b) const;

  void set_link(RegionId a, RegionId b, LinkParams p, bool symmetric = true);
  void set_link(ZoneId a, ZoneId b, LinkParams p, bool symmetric = true);
  void set_link(HostId a, HostId b, LinkParams p, bool symmetric = true);
  /// Replaces the class defaults.
  void set_defaults(NetworkParams defaults);
  const NetworkParams& defaults() const { return defaults_; }

  /// Builds regions, zones and hosts from a spec (validated first).
  void build(const TopologySpec& spec);

private:
  struct Region {
    std::string name;
    std::vector<ZoneId> zones;
  };
  struct Zone {
    std::string name;
    RegionId region;
    std::vector<HostId> hosts;
  };
  struct Host {
    std::string name;
    ZoneId zone;
    RegionId region;
  };
  /// Where each host is, packed: the per-message link lookup touches 8 bytes per host.
  struct Loc {
    ZoneId zone;
    RegionId region;
  };
  using Key = std::pair<std::uint32_t, std::uint32_t>;

  NetworkParams defaults_;
  std::vector<Region> regions_;
  std::vector<Zone> zones_;
  std::vector<Host> hosts_;
  std::vector<Loc> loc_;
  std::map<std::string, RegionId, std::less<>> region_names_;
  std::map<std::string, ZoneId, std::less<>> zone_names_;
  std::map<std::string, HostId, std::less<>> host_names_;
  std::map<Key, LinkParams> region_links_;
  std::map<Key, LinkParams> zone_links_;
  std::map<Key, LinkParams> host_links_;
};

}  // namespace faultline::world
