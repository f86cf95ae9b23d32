// The no-lost-cells and session-guarantee checkers.
#include <faultline/sim/schemaless/checkers.hpp>

#include <fmt/format.h>

#include <utility>

namespace faultline::sim::schemaless {

namespace {
constexpr std::size_t kNamed = 20;

std::string seconds(Time t) { return fmt::format("{:.3f}s", t.to_seconds()); }
}  // namespace

check::CheckResult check_no_lost_cells(std::span<const AckedWrite> acked,
                                       const std::map<CellAddress, std::string>& stored) {
  std::size_t lost = 0;
  std::size_t changed = 0;
  std::string details;
  for (const AckedWrite& w : acked) {
    auto it = stored.find(w.cell.address);
    const bool missing = it == stored.end();
    if (!missing && it->second == w.cell.body) {
      continue;
    }
    (missing ? lost : changed) += 1;
    if (lost + changed <= kNamed) {
      details += fmt::format("  {} acknowledged at {} is {}\n", w.cell.address.to_string(),
                             seconds(w.acked), missing ? "lost" : "stored with another body");
    }
  }
  if (lost + changed == 0) {
    return check::CheckResult::pass(
        "no-lost-cells",
        fmt::format("all {} acknowledged cells are stored ({} cells in all)", acked.size(),
                    stored.size()));
  }
  if (lost + changed > kNamed) {
    details += fmt::format("  ... and {} more\n", lost + changed - kNamed);
  }
  return check::CheckResult::fail(
      "no-lost-cells",
      fmt::format("{} of {} acknowledged cells lost, {} changed", lost, acked.size(), changed),
      details);
}

check::CheckResult check_monotonic_reads(std::span<const SessionRead> reads) {
  std::map<std::pair<std::int64_t, std::string>, const SessionRead*> last;
  std::size_t bad = 0;
  std::string details;
  for (const SessionRead& r : reads) {
    auto [it, fresh] = last.try_emplace({r.client, r.key}, &r);
    if (!fresh) {
      if (r.seen < it->second->seen) {
        ++bad;
        if (bad <= kNamed) {
          details += fmt::format("  client {} read {} at ref {} at {}, then ref {} at {}\n",
                                 r.client, r.key, it->second->seen, seconds(it->second->time),
                                 r.seen, seconds(r.time));
        }
      }
      if (r.seen >= it->second->seen) {
        it->second = &r;
      }
    }
  }
  if (bad == 0) {
    return check::CheckResult::pass("monotonic-reads",
                                    fmt::format("{} reads never went back", reads.size()));
  }
  return check::CheckResult::fail(
      "monotonic-reads",
      fmt::format("{} of {} reads went back to an older cell", bad, reads.size()),
      details);
}

check::CheckResult check_read_your_writes(std::span<const SessionRead> reads) {
  std::size_t bad = 0;
  std::string details;
  for (const SessionRead& r : reads) {
    if (r.seen < r.floor) {
      ++bad;
      if (bad <= kNamed) {
        details += fmt::format("  client {} wrote {} at ref {} but read ref {} at {}\n", r.client,
                               r.key, r.floor, r.seen, seconds(r.time));
      }
    }
  }
  if (bad == 0) {
    return check::CheckResult::pass(
        "read-your-writes", fmt::format("{} reads each saw the client's own writes", reads.size()));
  }
  return check::CheckResult::fail(
      "read-your-writes",
      fmt::format("{} of {} reads missed the client's own acknowledged write", bad, reads.size()),
      details);
}

}  // namespace faultline::sim::schemaless
