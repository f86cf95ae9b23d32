// Exactly-once and outbox checkers.
#include <faultline/check/exactly_once.hpp>

#include <fmt/format.h>
#include <map>
#include <vector>

namespace faultline::check {

namespace {

struct Found {
  std::size_t count = 0;
  std::string details;
  std::map<std::string, std::size_t> kinds;
  void add(const std::string& kind, const std::string& text) {
    ++kinds[kind];
    if (++count <= 10) {
      details += fmt::format("{}: {}\n", kind, text);
    } else if (count == 11) {
      details += "... (further anomalies counted in the summary)\n";
    }
  }
  std::string summary() const {
    std::vector<std::string> parts;
    for (const auto& [k, n] : kinds) {
      parts.push_back(fmt::format("{} {}", n, k));
    }
    return fmt::format("{}", fmt::join(parts, ", "));
  }
};

std::string times_of(const std::vector<const Effect*>& effects) {
  std::vector<std::string> t;
  for (const Effect* e : effects) {
    t.push_back(e->what.empty() ? e->time.to_string()
                                : fmt::format("{} ({})", e->time.to_string(), e->what));
  }
  return fmt::format("{}", fmt::join(t, ", "));
}

}  // namespace

CheckResult check_exactly_once(const History& requests, std::span<const Effect> effects) {
  struct Request {
    std::vector<Operation> attempts;
    std::vector<const Effect*> effects;
  };
  std::map<std::string, Request> by_id;
  for (Operation& op : requests.operations()) {
    if (!op.op.request_id.empty()) {
      by_id[op.op.request_id].attempts.push_back(std::move(op));
    }
  }
  Found found;
  for (const Effect& e : effects) {
    auto it = by_id.find(e.request_id);
    if (it == by_id.end()) {
      found.add("effect without a request",
                fmt::format("effect \"{}\" at {} names request id \"{}\", which no client sent",
                            e.what, e.time.to_string(), e.request_id));
      continue;
    }
    it->second.effects.push_back(&e);
  }
  std::size_t succeeded = 0;
  for (const auto& [id, r] : by_id) {
    bool any_ok = false;
    bool any_unknown = false;
    for (const Operation& a : r.attempts) {
      any_ok = any_ok || a.ok();
      any_unknown = any_unknown || a.unknown();
    }
    succeeded += any_ok ? 1 : 0;
    std::string attempts = fmt::format("{} attempt(s), first {}", r.attempts.size(),
                                       r.attempts.front().to_string());
    if (r.effects.size() > 1) {
      found.add("duplicate effect",
                fmt::format("request \"{}\" took effect {} times, at {} ({})", id,
                            r.effects.size(), times_of(r.effects), attempts));
    }
    if (any_ok && r.effects.empty()) {
      found.add("lost effect", fmt::format("request \"{}\": a client saw success but it never "
                                           "took effect ({})",
                                           id, attempts));
    }
    if (!any_ok && !any_unknown && !r.effects.empty()) {
      found.add("effect of a failed request",
                fmt::format("request \"{}\": every attempt failed, yet it took effect at {} ({})",
                            id, times_of(r.effects), attempts));
    }
    for (const Effect* e : r.effects) {
      if (e->time < r.attempts.front().invoke_time) {
        found.add("effect before its request",
                  fmt::format("request \"{}\" took effect at {}, before it was first sent at {}",
                              id, e->time.to_string(),
                              r.attempts.front().invoke_time.to_string()));
      }
    }
  }
  std::string scope = fmt::format("{} request ids ({} succeeded), {} effects", by_id.size(),
                                  succeeded, effects.size());
  if (found.count == 0) {
    return CheckResult::pass("exactly-once", scope + ": each took effect exactly once where it "
                                                     "succeeded, at most once otherwise");
  }
  return CheckResult::fail("exactly-once", fmt::format("{}: {}", scope, found.summary()),
                           found.details);
}

CheckResult check_outbox(std::span<const OutboxRecord> committed,
                         std::span<const OutboxRecord> emitted) {
  std::map<std::string, const OutboxRecord*> records;
  Found found;
  for (const OutboxRecord& r : committed) {
    if (!records.emplace(r.id, &r).second) {
      found.add("duplicate record",
                fmt::format("record \"{}\" was committed twice (again at {})", r.id,
                            r.time.to_string()));
    }
  }
  std::map<std::string, std::vector<const OutboxRecord*>> events;
  for (const OutboxRecord& e : emitted) {
    events[e.id].push_back(&e);
    auto it = records.find(e.id);
    if (it == records.end()) {
      found.add("event without a record",
                fmt::format("event for \"{}\" at {} has no committed record", e.id,
                            e.time.to_string()));
    } else if (e.time < it->second->time) {
      found.add("event before commit",
                fmt::format("event for \"{}\" at {} precedes the record's commit at {}", e.id,
                            e.time.to_string(), it->second->time.to_string()));
    }
  }
  for (const auto& [id, r] : records) {
    auto it = events.find(id);
    if (it == events.end()) {
      found.add("missing event", fmt::format("record \"{}\" committed at {} emitted no event",
                                             id, r->time.to_string()));
    } else if (it->second.size() > 1) {
      std::vector<std::string> t;
      for (const OutboxRecord* e : it->second) {
        t.push_back(e->time.to_string());
      }
      found.add("duplicate event", fmt::format("record \"{}\" emitted {} events, at {}", id,
                                               it->second.size(), fmt::join(t, ", ")));
    }
  }
  std::string scope =
      fmt::format("{} committed records, {} events", committed.size(), emitted.size());
  if (found.count == 0) {
    return CheckResult::pass("outbox", scope + ": one event per record");
  }
  return CheckResult::fail("outbox", fmt::format("{}: {}", scope, found.summary()),
                           found.details);
}

}  // namespace faultline::check
