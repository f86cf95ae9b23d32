#include <faultline/rng.hpp>
#include <faultline/sim/dynamo/versions.hpp>

#include <algorithm>

namespace faultline::sim::dynamo {

std::string_view to_string(Reconcile r) {
  return r == Reconcile::kUnion ? "union" : "last_writer_wins";
}

std::optional<Reconcile> parse_reconcile(std::string_view text) {
  if (text == "union") {
    return Reconcile::kUnion;
  }
  if (text == "last_writer_wins") {
    return Reconcile::kLastWriterWins;
  }
  return std::nullopt;
}

std::uint64_t Version::digest() const {
  std::uint64_t h = clock.digest() ^ (dot * 0x9e3779b97f4a7c15ULL);
  for (const auto& item : items) {
    h = fnv1a64(item, h ^ 0x51ULL);
  }
  h = (h ^ static_cast<std::uint64_t>(timestamp_ns)) * 0x100000001b3ULL;
  return (h ^ coordinator) * 0x100000001b3ULL;
}

namespace {
// The LWW order: later timestamp wins; the coordinator id breaks ties so that every replica
// picks the same winner.
bool lww_newer(const Version& a, const Version& b) {
  if (a.timestamp_ns != b.timestamp_ns) {
    return a.timestamp_ns > b.timestamp_ns;
  }
  if (a.coordinator != b.coordinator) {
    return a.coordinator > b.coordinator;
  }
  return a.clock.digest() > b.clock.digest();
}
}  // namespace

bool supersedes(const Version& a, const Version& b) {
  if (b.dot != 0) {
    return a.dot == b.dot || a.clock.contains(b.dot >> 32, b.dot & 0xffffffffULL);
  }
  return VectorClock::descends(a.clock, b.clock);
}

bool apply_version(std::vector<Version>& versions, const Version& incoming, Reconcile mode) {
  if (mode == Reconcile::kLastWriterWins) {
    if (versions.empty()) {
      versions.push_back(incoming);
      return true;
    }
    if (versions.front() == incoming || !lww_newer(incoming, versions.front())) {
      return false;
    }
    versions.assign(1, incoming);
    return true;
  }
  for (const auto& v : versions) {
    if (supersedes(v, incoming)) {
      return false;  // already have it, or something that saw it
    }
  }
  std::erase_if(versions, [&](const Version& v) { return supersedes(incoming, v); });
  versions.push_back(incoming);
  // Keep a canonical order so replicas holding the same set hash the same.
  std::sort(versions.begin(), versions.end(), [](const Version& a, const Version& b) {
    return a.digest() < b.digest();
  });
  return true;
}

bool apply_versions(std::vector<Version>& versions, const std::vector<Version>& incoming,
                    Reconcile mode) {
  bool changed = false;
  for (const auto& v : incoming) {
    changed = apply_version(versions, v, mode) || changed;
  }
  return changed;
}

Reconciled reconcile(const std::vector<Version>& versions, Reconcile mode) {
  Reconciled out;
  out.siblings = versions.size();
  if (versions.empty()) {
    return out;
  }
  if (mode == Reconcile::kLastWriterWins) {
    const Version* best = &versions.front();
    for (const auto& v : versions) {
      if (lww_newer(v, *best)) {
        best = &v;
      }
    }
    out.items = best->items;
    out.context = best->clock;
    return out;
  }
  for (const auto& v : versions) {
    for (const auto& item : v.items) {
      insert_item(out.items, item);
    }
    out.context = VectorClock::merge(out.context, v.clock);
  }
  return out;
}

void insert_item(std::vector<std::string>& items, const std::string& item) {
  auto it = std::lower_bound(items.begin(), items.end(), item);
  if (it == items.end() || *it != item) {
    items.insert(it, item);
  }
}

void erase_item(std::vector<std::string>& items, const std::string& item) {
  auto it = std::lower_bound(items.begin(), items.end(), item);
  if (it != items.end() && *it == item) {
    items.erase(it);
  }
}

bool has_item(const std::vector<std::string>& items, std::string_view item) {
  return std::binary_search(items.begin(), items.end(), item);
}

std::uint64_t versions_digest(const std::vector<Version>& versions) {
  std::vector<std::uint64_t> ds;
  for (const auto& v : versions) {
    ds.push_back(v.digest());
  }
  std::sort(ds.begin(), ds.end());
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (auto d : ds) {
    h = (h ^ d) * 0x100000001b3ULL;
    h ^= h >> 31;
  }
  return h;
}

}  // namespace faultline::sim::dynamo
