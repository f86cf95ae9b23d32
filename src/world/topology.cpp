#include <faultline/world/topology.hpp>

#include <stdexcept>

#include <fmt/format.h>

namespace faultline::world {

namespace {

template <class M>
void require_new(const M& names, const std::string& name, std::string_view what) {
  if (name.empty()) {
    throw std::invalid_argument(fmt::format("{} name is empty; give every {} a name", what, what));
  }
  if (names.count(name) != 0) {
    throw std::invalid_argument(
        fmt::format("{} name '{}' is already used; {} names must be unique", what, name, what));
  }
}

template <class K, class M>
std::optional<K> lookup(const M& names, std::string_view name) {
  auto it = names.find(name);
  if (it == names.end()) {
    return std::nullopt;
  }
  return it->second;
}

}  // namespace

Topology::Topology(NetworkParams defaults) : defaults_(std::move(defaults)) {
  defaults_.validate();
}

RegionId Topology::add_region(std::string name) {
  require_new(region_names_, name, "region");
  RegionId id{static_cast<std::uint32_t>(regions_.size())};
  region_names_.emplace(name, id);
  regions_.push_back(Region{std::move(name), {}});
  return id;
}

ZoneId Topology::add_zone(RegionId region, std::string name) {
  if (!region.valid() || region.value() >= regions_.size()) {
    throw std::invalid_argument(fmt::format("zone '{}': no such region; add the region first", name));
  }
  require_new(zone_names_, name, "zone");
  ZoneId id{static_cast<std::uint32_t>(zones_.size())};
  zone_names_.emplace(name, id);
  zones_.push_back(Zone{std::move(name), region, {}});
  regions_[region.value()].zones.push_back(id);
  return id;
}

HostId Topology::add_host(ZoneId zone, std::string name) {
  if (!zone.valid() || zone.value() >= zones_.size()) {
    throw std::invalid_argument(fmt::format("host '{}': no such zone; add the zone first", name));
  }
  require_new(host_names_, name, "host");
  HostId id{static_cast<std::uint32_t>(hosts_.size())};
  host_names_.emplace(name, id);
  hosts_.push_back(Host{std::move(name), zone, zones_[zone.value()].region});
  loc_.push_back(Loc{zone, zones_[zone.value()].region});
  zones_[zone.value()].hosts.push_back(id);
  return id;
}

std::vector<HostId> Topology::hosts_in(RegionId r) const {
  std::vector<HostId> out;
  for (ZoneId z : regions_.at(r.value()).zones) {
    const auto& hs = zones_[z.value()].hosts;
    out.insert(out.end(), hs.begin(), hs.end());
  }
  return out;
}

std::optional<RegionId> Topology::find_region(std::string_view name) const {
  return lookup<RegionId>(region_names_, name);
}
std::optional<ZoneId> Topology::find_zone(std::string_view name) const {
  return lookup<ZoneId>(zone_names_, name);
}
std::optional<HostId> Topology::find_host(std::string_view name) const {
  return lookup<HostId>(host_names_, name);
}

const LinkParams& Topology::link(HostId a, HostId b) const {
  if (!host_links_.empty()) {
    auto it = host_links_.find({a.value(), b.value()});
    if (it != host_links_.end()) {
      return it->second;
    }
  }
  const Loc& ha = loc_[a.value()];
  const Loc& hb = loc_[b.value()];
  if (!zone_links_.empty() && ha.zone != hb.zone) {
    auto it = zone_links_.find({ha.zone.value(), hb.zone.value()});
    if (it != zone_links_.end()) {
      return it->second;
    }
  }
  if (!region_links_.empty() && ha.region != hb.region) {
    auto it = region_links_.find({ha.region.value(), hb.region.value()});
    if (it != region_links_.end()) {
      return it->second;
    }
  }
  return defaults_.for_class(link_class(a, b));
}

namespace {
template <class M>
void put(M& m, std::uint32_t a, std::uint32_t b, const LinkParams& p, bool symmetric) {
  m[{a, b}] = p;
  if (symmetric) {
    m[{b, a}] = p;
  }
}
}  // namespace

void Topology::set_link(RegionId a, RegionId b, LinkParams p, bool symmetric) {
  if (a.value() >= regions_.size() || b.value() >= regions_.size()) {
    throw std::invalid_argument("set_link: no such region; add both regions first");
  }
  p.validate(fmt::format("link {}-{}", name(a), name(b)));
  put(region_links_, a.value(), b.value(), p, symmetric);
}

void Topology::set_link(ZoneId a, ZoneId b, LinkParams p, bool symmetric) {
  if (a.value() >= zones_.size() || b.value() >= zones_.size()) {
    throw std::invalid_argument("set_link: no such zone; add both zones first");
  }
  p.validate(fmt::format("link {}-{}", name(a), name(b)));
  put(zone_links_, a.value(), b.value(), p, symmetric);
}

void Topology::set_link(HostId a, HostId b, LinkParams p, bool symmetric) {
  if (a.value() >= hosts_.size() || b.value() >= hosts_.size()) {
    throw std::invalid_argument("set_link: no such host; add both hosts first");
  }
  p.validate(fmt::format("link {}-{}", name(a), name(b)));
  put(host_links_, a.value(), b.value(), p, symmetric);
}

void Topology::set_defaults(NetworkParams defaults) {
  defaults.validate();
  defaults_ = std::move(defaults);
}

void Topology::build(const TopologySpec& spec) {
  spec.validate();
  for (const auto& r : spec.regions) {
    RegionId rid = add_region(r.name);
    for (const auto& z : r.zones) {
      ZoneId zid = add_zone(rid, z.name);
      if (!z.hosts.empty()) {
        for (const auto& h : z.hosts) {
          add_host(zid, h);
        }
      } else {
        for (std::uint32_t i = 0; i < z.host_count; ++i) {
          add_host(zid, fmt::format("{}-h{}", z.name, i));
        }
      }
    }
  }
}

}  // namespace faultline::world
