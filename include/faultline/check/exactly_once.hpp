// Exactly-once checkers: idempotency keys (the Stripe case) and transactional outboxes.
//
// The client side of a request is a history (request operations carrying a request id or
// idempotency key, retried any number of times); the server side is the list of effects that
// actually happened (charges applied, emails sent), each naming its request id. The checker
// asks: did each request id take effect at most once, exactly once where a client saw success,
// and never where every attempt definitely failed? For an outbox: did every committed record
// emit exactly one event, and every event come from a committed record?
#pragma once

#include <faultline/check/history.hpp>
#include <faultline/check/result.hpp>
#include <faultline/time.hpp>

#include <iosfwd>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::check {

/// One effect the server really applied (a charge), with the request id it belongs to.
struct Effect {
  std::string request_id;
  Time time;
  /// Free text for reports ("charged $20 to card 4242").
  std::string what;
};

/// Effects as JSON lines, one per line: {"request_id":"ik_42","time":1500000,"what":"charged
/// $20"} ("what" optional; time in nanoseconds of true time). Throws HistoryError naming
/// `source` and the line on malformed input.
std::vector<Effect> load_effects_jsonl(std::istream& in, std::string_view source = "<stream>");
void save_effects_jsonl(std::span<const Effect> effects, std::ostream& out);

/// Checker name "exactly-once". Requests are operations with a non-empty request_id (usually
/// OpKind::kRequest). An effect before its request's first invocation, or with an unknown
/// request id, is an anomaly too.
CheckResult check_exactly_once(const History& requests, std::span<const Effect> effects);

/// A record committed to the database, or an event the outbox relay published for it.
struct OutboxRecord {
  std::string id;
  Time time;
};

/// Checker name "outbox": every committed record emitted exactly one event; no event without
/// a committed record; no event before its record committed.
CheckResult check_outbox(std::span<const OutboxRecord> committed,
                         std::span<const OutboxRecord> emitted);

}  // namespace faultline::check
