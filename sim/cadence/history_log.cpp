// The history log's line format (history.hpp): one event per line with a checksum, so that a
// torn tail left by a crash is recognised and dropped when a history host restarts.
#include <faultline/sim/cadence/history.hpp>

#include <fmt/format.h>

#include <charconv>
#include <map>

namespace faultline::sim::cadence {

namespace {

constexpr EventKind kKinds[] = {
    EventKind::kWorkflowStarted, EventKind::kActivityScheduled,
    EventKind::kActivityAttemptFailed, EventKind::kActivityCompleted,
    EventKind::kActivityFailed, EventKind::kTimerStarted,
    EventKind::kTimerFired, EventKind::kTimerCanceled,
    EventKind::kSignaled, EventKind::kWorkflowCompleted};

std::uint32_t fnv1a(std::string_view s) {
  std::uint32_t h = 2166136261u;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 16777619u;
  }
  return h;
}

bool to_int(std::string_view s, std::int64_t& out) {
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size();
}

}  // namespace

std::string_view to_string(EventKind k) {
  switch (k) {
    case EventKind::kWorkflowStarted: return "WorkflowStarted";
    case EventKind::kActivityScheduled: return "ActivityScheduled";
    case EventKind::kActivityAttemptFailed: return "ActivityAttemptFailed";
    case EventKind::kActivityCompleted: return "ActivityCompleted";
    case EventKind::kActivityFailed: return "ActivityFailed";
    case EventKind::kTimerStarted: return "TimerStarted";
    case EventKind::kTimerFired: return "TimerFired";
    case EventKind::kTimerCanceled: return "TimerCanceled";
    case EventKind::kSignaled: return "Signaled";
    case EventKind::kWorkflowCompleted: return "WorkflowCompleted";
  }
  return "?";
}

bool WorkflowHistory::closed() const {
  for (const HistoryEvent& e : events) {
    if (e.kind == EventKind::kWorkflowCompleted) {
      return true;
    }
  }
  return false;
}

std::string encode_line(std::string_view workflow, const HistoryEvent& e) {
  std::string body = fmt::format("{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}", workflow,
                                 static_cast<int>(e.kind), e.seq, e.cmd, e.attempt,
                                 e.time.ns(), e.at.ns(), e.name,
                                 e.data);
  return fmt::format("{}\t{:08x}\n", body, fnv1a(body));
}

std::vector<WorkflowHistory> decode_log(std::string_view log) {
  std::map<std::string, std::vector<HistoryEvent>, std::less<>> by_id;
  decode_lines(log, [&](std::string_view id, HistoryEvent&& e) {
    auto it = by_id.find(id);
    if (it == by_id.end()) {
      it = by_id.emplace(std::string(id), std::vector<HistoryEvent>{}).first;
    }
    it->second.push_back(std::move(e));
  });
  std::vector<WorkflowHistory> out;
  out.reserve(by_id.size());
  for (auto& [id, events] : by_id) {
    out.push_back({id, std::move(events)});
  }
  return out;
}

std::size_t decode_lines(std::string_view log,
                         const std::function<void(std::string_view, HistoryEvent&&)>& each) {
  std::size_t pos = 0;
  std::size_t good = 0;
  while (pos < log.size()) {
    const std::size_t nl = log.find('\n', pos);
    if (nl == std::string_view::npos) {
      break;  // a torn last line
    }
    const std::string_view line = log.substr(pos, nl - pos);
    pos = nl + 1;
    const std::size_t tab = line.rfind('\t');
    if (tab == std::string_view::npos) {
      break;
    }
    const std::string_view body = line.substr(0, tab);
    std::int64_t sum = 0;
    const std::string_view hex = line.substr(tab + 1);
    const auto [end, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), sum, 16);
    if (hex.size() != 8 || ec != std::errc{} || end != hex.data() + hex.size() ||
        static_cast<std::uint32_t>(sum) != fnv1a(body)) {
      break;
    }
    std::vector<std::string_view> f;
    std::size_t s = 0;
    for (std::size_t i = 0; i <= body.size(); ++i) {
      if (i == body.size() || body[i] == '\t') {
        f.push_back(body.substr(s, i - s));
        s = i + 1;
      }
    }
    std::int64_t kind = 0;
    std::int64_t time = 0;
    std::int64_t at = 0;
    HistoryEvent e;
    if (f.size() != 9 || !to_int(f[1], kind) || kind < 0 ||
        kind >= static_cast<std::int64_t>(std::size(kKinds)) || !to_int(f[2], e.seq) ||
        !to_int(f[3], e.cmd) || !to_int(f[4], e.attempt) || !to_int(f[5], time) ||
        !to_int(f[6], at)) {
      break;
    }
    e.kind = kKinds[kind];
    e.time = Time::from_ns(time);
    e.at = Time::from_ns(at);
    e.name = std::string(f[7]);
    e.data = std::string(f[8]);
    each(f[0], std::move(e));
    good = pos;
  }
  return good;
}

}  // namespace faultline::sim::cadence
