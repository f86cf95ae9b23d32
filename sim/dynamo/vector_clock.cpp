#include <faultline/sim/dynamo/vector_clock.hpp>

#include <algorithm>

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

std::uint64_t VectorClock::counter(std::uint64_t node) const {
  for (const auto& e : entries_) {
    if (e.node == node) {
      return e.counter;
    }
  }
  return 0;
}

void VectorClock::increment(std::uint64_t node, std::int64_t timestamp_ns,
                            std::size_t max_entries, std::uint64_t floor) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), node,
                             [](const ClockEntry& e, std::uint64_t n) { return e.node < n; });
  if (it != entries_.end() && it->node == node) {
    it->counter = std::max(it->counter, floor) + 1;
    it->timestamp_ns = timestamp_ns;
  } else {
    entries_.insert(it, ClockEntry{node, floor + 1, timestamp_ns});
  }
  while (max_entries > 0 && entries_.size() > max_entries) {
    // Never drop the entry just bumped: it is the newest by construction unless the host clock
    // went backwards, and losing it would make this version look older than its parent.
    auto oldest = entries_.end();
    for (auto e = entries_.begin(); e != entries_.end(); ++e) {
      if (e->node == node) {
        continue;
      }
      if (oldest == entries_.end() || e->timestamp_ns < oldest->timestamp_ns) {
        oldest = e;
      }
    }
    entries_.erase(oldest);
  }
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
      out.entries_.push_back(i->counter >= j->counter ? *i : *j);
      ++i;
      ++j;
    }
  }
  return out;
}

ClockOrder VectorClock::compare(const VectorClock& a, const VectorClock& b) {
  bool a_bigger = false;  // some counter of a exceeds b's
  bool b_bigger = false;
  auto i = a.entries_.begin();
  auto j = b.entries_.begin();
  while (i != a.entries_.end() || j != b.entries_.end()) {
    if (j == b.entries_.end() || (i != a.entries_.end() && i->node < j->node)) {
      a_bigger = a_bigger || i->counter > 0;
      ++i;
    } else if (i == a.entries_.end() || j->node < i->node) {
      b_bigger = b_bigger || j->counter > 0;
      ++j;
    } else {
      a_bigger = a_bigger || i->counter > j->counter;
      b_bigger = b_bigger || j->counter > i->counter;
      ++i;
      ++j;
    }
  }
  if (a_bigger && b_bigger) {
    return ClockOrder::kConcurrent;
  }
  if (a_bigger) {
    return ClockOrder::kAfter;
  }
  if (b_bigger) {
    return ClockOrder::kBefore;
  }
  return ClockOrder::kEqual;
}

bool VectorClock::descends(const VectorClock& a, const VectorClock& b) {
  auto o = compare(a, b);
  return o == ClockOrder::kAfter || o == ClockOrder::kEqual;
}

std::uint64_t VectorClock::digest() const {
  std::uint64_t h = 0x9e3779b97f4a7c15ULL;
  for (const auto& e : entries_) {
    h = (h ^ e.node) * 0x100000001b3ULL;
    h = (h ^ e.counter) * 0x100000001b3ULL;
    h ^= h >> 29;
  }
  return h;
}

std::string VectorClock::to_string() const {
  std::string s = "[";
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (i > 0) {
      s += ", ";
    }
    const std::uint64_t id = entries_[i].node;
    // A dot (writer << 32 | sequence) prints as "n<writer>.<sequence>".
    s += "n" + (id >> 32 ? std::to_string(id >> 32) + "." + std::to_string(id & 0xffffffffULL)
                         : std::to_string(id));
    s += ":" + std::to_string(entries_[i].counter);
  }
  return s + "]";
}

}  // namespace faultline::sim::dynamo
