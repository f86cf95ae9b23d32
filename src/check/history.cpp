// History recording, pairing of invocations with completions, and printing.
#include <faultline/check/history.hpp>
#include <faultline/check/result.hpp>
#include <faultline/rng.hpp>

#include <algorithm>
#include <fmt/format.h>

namespace faultline::check {

namespace {

std::uint64_t mix(std::uint64_t h, std::uint64_t v) {
  // splitmix64's finaliser over a running combination: cheap and well spread.
  h ^= v + kGoldenGamma + (h << 6) + (h >> 2);
  return mix64(h);
}

}  // namespace

std::string_view to_string(Verdict v) {
  switch (v) {
    case Verdict::kPass:
      return "pass";
    case Verdict::kFail:
      return "fail";
    case Verdict::kInconclusive:
      return "inconclusive";
  }
  return "?";
}

std::string CheckResult::to_string() const {
  std::string s = fmt::format("{}: {}: {}", checker,
                              ok ? "ok" : inconclusive ? "INCONCLUSIVE" : "FAILED", summary);
  if (!details.empty()) {
    s += '\n';
    s += details;
  }
  return s;
}

Value Value::appended(std::int64_t v) const {
  std::vector<std::int64_t> items = is_list() ? list_ : std::vector<std::int64_t>{};
  items.push_back(v);
  return Value::list(std::move(items));
}

std::uint64_t Value::hash() const {
  std::uint64_t h = mix(0x51ed270b27fd3a1dULL, static_cast<std::uint64_t>(kind_));
  if (kind_ == Kind::kInt) {
    h = mix(h, static_cast<std::uint64_t>(int_));
  }
  for (std::int64_t x : list_) {
    h = mix(h, static_cast<std::uint64_t>(x));
  }
  return h;
}

std::string Value::to_string() const {
  switch (kind_) {
    case Kind::kNil:
      return "nil";
    case Kind::kInt:
      return fmt::format("{}", int_);
    case Kind::kList:
      return fmt::format("[{}]", fmt::join(list_, " "));
  }
  return "?";
}

std::string_view to_string(OpKind kind) {
  switch (kind) {
    case OpKind::kRead:
      return "read";
    case OpKind::kWrite:
      return "write";
    case OpKind::kCas:
      return "cas";
    case OpKind::kAppend:
      return "append";
    case OpKind::kTxn:
      return "txn";
    case OpKind::kRequest:
      return "request";
  }
  return "?";
}

std::optional<OpKind> parse_op_kind(std::string_view name) {
  for (OpKind k : {OpKind::kRead, OpKind::kWrite, OpKind::kCas, OpKind::kAppend, OpKind::kTxn,
                   OpKind::kRequest}) {
    if (to_string(k) == name) {
      return k;
    }
  }
  return std::nullopt;
}

std::string_view to_string(EventType type) {
  switch (type) {
    case EventType::kInvoke:
      return "invoke";
    case EventType::kOk:
      return "ok";
    case EventType::kFail:
      return "fail";
    case EventType::kInfo:
      return "info";
  }
  return "?";
}

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk:
      return "ok";
    case Outcome::kFail:
      return "fail";
    case Outcome::kInfo:
      return "info";
    case Outcome::kPending:
      return "pending";
  }
  return "?";
}

std::string Op::to_string() const {
  switch (kind) {
    case OpKind::kRead:
      return fmt::format("read {} -> {}", key, value.to_string());
    case OpKind::kWrite:
    case OpKind::kAppend:
      return fmt::format("{} {} {}", check::to_string(kind), key, value.to_string());
    case OpKind::kCas:
      return fmt::format("cas {} {}->{}{}", key, expected.to_string(), value.to_string(),
                         cas_failed ? " (compare failed)" : "");
    case OpKind::kTxn: {
      std::vector<std::string> parts;
      for (const MicroOp& m : txn) {
        const char* f = m.kind == OpKind::kRead ? "r" : m.kind == OpKind::kWrite ? "w" : "append";
        parts.push_back(fmt::format("{} {} {}", f, m.key, m.value.to_string()));
      }
      return fmt::format("txn [{}]", fmt::join(parts, ", "));
    }
    case OpKind::kRequest:
      return key.empty() ? fmt::format("request {}", request_id)
                         : fmt::format("request {} on {}", request_id, key);
  }
  return "?";
}

std::string Operation::to_string() const {
  std::string end = complete_time == Time::max() ? std::string("…") : complete_time.to_string();
  std::string s = fmt::format("client {} [{}, {}] {} -> {}", client, invoke_time.to_string(), end,
                              op.to_string(), check::to_string(outcome));
  if (commit_ts) {
    s += fmt::format(" (commit ts {})", *commit_ts);
  }
  return s;
}

void check_completion_matches(const Op& invoked, const Op& completed) {
  auto fail = [&](std::string_view what) {
    throw HistoryError(fmt::format(
        "the ok line changes the {} of the invoked operation ({} became {}); an ok line may "
        "only fill in results (what a read returned); record a different operation as its own "
        "invoke",
        what, invoked.to_string(), completed.to_string()));
  };
  if (invoked.kind != completed.kind) {
    fail("kind");
  }
  if (invoked.key != completed.key) {
    fail("key");
  }
  switch (invoked.kind) {
    case OpKind::kWrite:
    case OpKind::kAppend:
      if (!(invoked.value == completed.value)) {
        fail("value");
      }
      break;
    case OpKind::kCas:
      if (!(invoked.value == completed.value) || !(invoked.expected == completed.expected)) {
        fail("values");
      }
      break;
    case OpKind::kTxn: {
      if (invoked.txn.size() != completed.txn.size()) {
        fail("steps");
      }
      for (std::size_t i = 0; i < invoked.txn.size(); ++i) {
        const MicroOp& a = invoked.txn[i];
        const MicroOp& b = completed.txn[i];
        if (a.kind != b.kind || a.key != b.key ||
            (a.kind != OpKind::kRead && !(a.value == b.value))) {
          fail("steps");
        }
      }
      break;
    }
    default:
      break;
  }
}

void History::invoke(std::int64_t client, Time t, Op op) {
  add(Event{EventType::kInvoke, client, t, std::move(op), std::nullopt});
}

void History::complete(EventType type, std::int64_t client, Time t, const Op* result,
                       std::optional<std::int64_t> commit_ts) {
  auto it = std::lower_bound(pending_.begin(), pending_.end(), std::pair{client, std::size_t{0}},
                             [](const auto& a, const auto& b) { return a.first < b.first; });
  if (it == pending_.end() || it->first != client) {
    throw HistoryError(fmt::format(
        "history: client {} completed an operation ({}) at {} but has none in flight; call "
        "invoke first",
        client, check::to_string(type), t.to_string()));
  }
  Op op = result != nullptr ? *result : events_[it->second].op;
  add(Event{type, client, t, std::move(op), commit_ts});
}

void History::ok(std::int64_t client, Time t) { complete(EventType::kOk, client, t, nullptr, {}); }

void History::ok(std::int64_t client, Time t, Value read_value) {
  auto it = std::find_if(pending_.begin(), pending_.end(),
                         [&](const auto& p) { return p.first == client; });
  if (it == pending_.end()) {
    complete(EventType::kOk, client, t, nullptr, {});  // throws the clear error
    return;
  }
  Op op = events_[it->second].op;
  op.value = std::move(read_value);
  complete(EventType::kOk, client, t, &op, {});
}

void History::ok(std::int64_t client, Time t, Op result, std::optional<std::int64_t> commit_ts) {
  complete(EventType::kOk, client, t, &result, commit_ts);
}

void History::ok_cas_failed(std::int64_t client, Time t) {
  auto it = std::find_if(pending_.begin(), pending_.end(),
                         [&](const auto& p) { return p.first == client; });
  if (it == pending_.end()) {
    complete(EventType::kOk, client, t, nullptr, {});  // throws the clear error
    return;
  }
  Op op = events_[it->second].op;
  if (op.kind != OpKind::kCas) {
    throw HistoryError(fmt::format(
        "history: client {} completed a {} as a failed compare-and-set; only a cas can fail its "
        "compare",
        client, check::to_string(op.kind)));
  }
  op.cas_failed = true;
  complete(EventType::kOk, client, t, &op, {});
}

void History::fail(std::int64_t client, Time t) {
  complete(EventType::kFail, client, t, nullptr, {});
}

void History::info(std::int64_t client, Time t) {
  complete(EventType::kInfo, client, t, nullptr, {});
}

void History::add(Event e) {
  if (!events_.empty() && e.time < events_.back().time) {
    throw HistoryError(fmt::format(
        "history: event {} at {} is earlier than the previous event at {}; events must be "
        "recorded in true-time order",
        events_.size(), e.time.to_string(), events_.back().time.to_string()));
  }
  auto it = std::lower_bound(pending_.begin(), pending_.end(), std::pair{e.client, std::size_t{0}},
                             [](const auto& a, const auto& b) { return a.first < b.first; });
  bool in_flight = it != pending_.end() && it->first == e.client;
  if (e.type == EventType::kInvoke) {
    if (in_flight) {
      throw HistoryError(fmt::format(
          "history: client {} invoked {} at {} while its operation of event {} is still in "
          "flight; complete it with ok, fail or info first (a client is one sequential thread)",
          e.client, e.op.to_string(), e.time.to_string(), it->second));
    }
    pending_.insert(it, {e.client, events_.size()});
  } else {
    if (!in_flight) {
      throw HistoryError(fmt::format(
          "history: event {}: client {} completed an operation ({}) at {} but has none in "
          "flight; every completion needs an earlier invoke by the same client",
          events_.size(), e.client, check::to_string(e.type), e.time.to_string()));
    }
    if (e.op.kind != events_[it->second].op.kind) {
      throw HistoryError(fmt::format(
          "history: event {}: client {} completed a {} but invoked a {} (event {})",
          events_.size(), e.client, check::to_string(e.op.kind),
          check::to_string(events_[it->second].op.kind), it->second));
    }
    pending_.erase(it);
  }
  events_.push_back(std::move(e));
}

std::vector<Operation> History::operations() const {
  std::vector<Operation> ops;
  // client → index into ops of its in-flight operation (sorted, deterministic)
  std::vector<std::pair<std::int64_t, std::size_t>> open;
  for (std::size_t i = 0; i < events_.size(); ++i) {
    const Event& e = events_[i];
    auto it = std::lower_bound(open.begin(), open.end(), std::pair{e.client, std::size_t{0}},
                               [](const auto& a, const auto& b) { return a.first < b.first; });
    if (e.type == EventType::kInvoke) {
      Operation op;
      op.id = ops.size();
      op.client = e.client;
      op.op = e.op;
      op.invoke_time = e.time;
      op.invoke_event = i;
      open.insert(it, {e.client, ops.size()});
      ops.push_back(std::move(op));
      continue;
    }
    // add() guarantees a matching invocation.
    Operation& op = ops[it->second];
    op.complete_event = i;
    op.commit_ts = e.commit_ts;
    switch (e.type) {
      case EventType::kOk:
        op.outcome = Outcome::kOk;
        op.op = e.op;
        op.complete_time = e.time;
        break;
      case EventType::kFail:
        op.outcome = Outcome::kFail;
        op.complete_time = e.time;
        break;
      default:
        op.outcome = Outcome::kInfo;
        break;
    }
    open.erase(it);
  }
  return ops;
}

}  // namespace faultline::check
