#include <faultline/sim/dynamo/vector_clock.hpp>

#include <algorithm>
#include <map>

namespace faultline::sim::dynamo {

std::string_view to_string(ClockOrder o) {
  switch (o) {
    case ClockOrder::kEqual: return "equal";
    case ClockOrder::kBefore: return "before";
    case ClockOrder::kAfter: return "after";
    case ClockOrder::kConcurrent: return "concurrent";
  }
  return "?";
}

namespace {
bool by_node(const ClockEntry& a, const ClockEntry& b) { return a.node < b.node; }
bool by_dot(const ClockEntry& a, const ClockEntry& b) {
  return a.node != b.node ? a.node < b.node : a.counter < b.counter;
}
}  // namespace

std::size_t VectorClock::size() const {
  std::size_t n = entries_.size();
  for (std::size_t i = 0; i < dots_.size(); ++i) {
    const bool first_of_node = i == 0 || dots_[i - 1].node != dots_[i].node;
    if (first_of_node && counter(dots_[i].node) == 0) {
      ++n;
    }
  }
  return n;
}

ClockEntry* VectorClock::find(std::uint64_t node) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), ClockEntry{node, 0, 0}, by_node);
  return it != entries_.end() && it->node == node ? &*it : nullptr;
}

std::uint64_t VectorClock::counter(std::uint64_t node) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), ClockEntry{node, 0, 0}, by_node);
  return it != entries_.end() && it->node == node ? it->counter : 0;
}

bool VectorClock::contains(std::uint64_t node, std::uint64_t k) const {
  if (k == 0) {
    return true;
  }
  if (k <= counter(node)) {
    return true;
  }
  return std::binary_search(dots_.begin(), dots_.end(), ClockEntry{node, k, 0}, by_dot);
}

void VectorClock::normalize() {
  std::sort(dots_.begin(), dots_.end(), by_dot);
  std::vector<ClockEntry> rest;
  for (const auto& d : dots_) {
    ClockEntry* e = find(d.node);
    const std::uint64_t have = e != nullptr ? e->counter : 0;
    if (d.counter <= have) {
      continue;  // already covered
    }
    if (d.counter == have + 1) {
      if (e != nullptr) {
        e->counter = d.counter;
        e->timestamp_ns = std::max(e->timestamp_ns, d.timestamp_ns);
      } else {
        entries_.insert(std::upper_bound(entries_.begin(), entries_.end(), d, by_node), d);
      }
      continue;  // dots are sorted, so the next dot of this node sees the new counter
    }
    if (!rest.empty() && rest.back().node == d.node && rest.back().counter == d.counter) {
      continue;  // duplicate
    }
    rest.push_back(d);
  }
  dots_ = std::move(rest);
}

void VectorClock::truncate(std::size_t max_entries, std::uint64_t keep) {
  while (max_entries > 0 && size() > max_entries) {
    // The node whose latest event is oldest goes, with its counter and its dots.
    std::map<std::uint64_t, std::int64_t> latest;
    for (const auto& e : entries_) {
      latest[e.node] = std::max(latest[e.node], e.timestamp_ns);
    }
    for (const auto& d : dots_) {
      auto [it, fresh] = latest.emplace(d.node, d.timestamp_ns);
      if (!fresh) {
        it->second = std::max(it->second, d.timestamp_ns);
      }
    }
    std::uint64_t victim = keep;
    std::int64_t oldest = 0;
    for (const auto& [node, ts] : latest) {
      if (node != keep && (victim == keep || ts < oldest)) {
        victim = node;
        oldest = ts;
      }
    }
    if (victim == keep) {
      return;
    }
    std::erase_if(entries_, [&](const ClockEntry& e) { return e.node == victim; });
    std::erase_if(dots_, [&](const ClockEntry& e) { return e.node == victim; });
  }
}

void VectorClock::increment(std::uint64_t node, std::int64_t timestamp_ns,
                            std::size_t max_entries, std::uint64_t floor) {
  ClockEntry* e = find(node);
  if (e != nullptr) {
    e->counter = std::max(e->counter, floor) + 1;
    e->timestamp_ns = timestamp_ns;
  } else {
    ClockEntry n{node, floor + 1, timestamp_ns};
    entries_.insert(std::upper_bound(entries_.begin(), entries_.end(), n, by_node), n);
  }
  normalize();
  truncate(max_entries, node);
}

void VectorClock::add_dot(std::uint64_t node, std::uint64_t k, std::int64_t timestamp_ns,
                          std::size_t max_entries) {
  dots_.push_back({node, k, timestamp_ns});
  normalize();
  truncate(max_entries, node);
}

VectorClock VectorClock::merge(const VectorClock& a, const VectorClock& b) {
  VectorClock out;
  auto i = a.entries_.begin();
  auto j = b.entries_.begin();
  while (i != a.entries_.end() || j != b.entries_.end()) {
    if (j == b.entries_.end() || (i != a.entries_.end() && i->node < j->node)) {
      out.entries_.push_back(*i++);
    } else if (i == a.entries_.end() || j->node < i->node) {
      out.entries_.push_back(*j++);
    } else {
      ClockEntry e = i->counter >= j->counter ? *i : *j;
      e.timestamp_ns = std::max(i->timestamp_ns, j->timestamp_ns);
      out.entries_.push_back(e);
      ++i;
      ++j;
    }
  }
  out.dots_ = a.dots_;
  out.dots_.insert(out.dots_.end(), b.dots_.begin(), b.dots_.end());
  out.normalize();
  return out;
}

bool VectorClock::descends(const VectorClock& a, const VectorClock& b) {
  for (const auto& e : b.entries_) {
    if (a.counter(e.node) < e.counter) {
      return false;  // a's dots cannot cover a contiguous run a's counter does not
    }
  }
  for (const auto& d : b.dots_) {
    if (!a.contains(d.node, d.counter)) {
      return false;
    }
  }
  return true;
}

ClockOrder VectorClock::compare(const VectorClock& a, const VectorClock& b) {
  const bool ab = descends(a, b);
  const bool ba = descends(b, a);
  if (ab && ba) {
    return ClockOrder::kEqual;
  }
  if (ab) {
    return ClockOrder::kAfter;
  }
  if (ba) {
    return ClockOrder::kBefore;
  }
  return ClockOrder::kConcurrent;
}

std::uint64_t VectorClock::digest() const {
  std::uint64_t h = 0x9e3779b97f4a7c15ULL;
  for (const auto* list : {&entries_, &dots_}) {
    for (const auto& e : *list) {
      h = (h ^ e.node) * 0x100000001b3ULL;
      h = (h ^ e.counter) * 0x100000001b3ULL;
      h ^= h >> 29;
    }
    h = (h ^ 0xffULL) * 0x100000001b3ULL;
  }
  return h;
}

std::string VectorClock::to_string() const {
  std::string s = "[";
  bool first = true;
  for (const auto& e : entries_) {
    s += (first ? "" : ", ") + ("n" + std::to_string(e.node)) + ":" + std::to_string(e.counter);
    first = false;
  }
  for (const auto& d : dots_) {
    s += (first ? "" : ", ") + ("n" + std::to_string(d.node)) + "@" + std::to_string(d.counter);
    first = false;
  }
  return s + "]";
}

}  // namespace faultline::sim::dynamo
