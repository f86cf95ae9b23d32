// Operation histories: what the simulated clients saw, with true time.
//
// A client records each operation as an `invoke` event and later one completion: `ok` (it took
// effect and the client saw the result), `fail` (it certainly did not take effect) or `info`
// (the outcome is unknown: a timeout, a crash; it may or may not have taken effect, at any time
// after the invocation). This is Jepsen's history model. Checkers judge histories, never the
// model's internals, so a history can be saved as JSON lines, attached to a bug report and
// checked again offline.
//
// Values are integers, nil, or lists of integers (what a read of an append-only list returns).
// Checkers that identify writes by value (stale reads, serializability) expect each value
// written to a key to be unique, as Jepsen's generators make them.
#pragma once

#include <faultline/time.hpp>

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::check {

/// nil, an integer, or a list of integers.
class Value {
public:
  enum class Kind : std::uint8_t { kNil, kInt, kList };

  Value() = default;
  static Value nil() { return Value{}; }
  static Value of(std::int64_t v) {
    Value x;
    x.kind_ = Kind::kInt;
    x.int_ = v;
    return x;
  }
  static Value list(std::vector<std::int64_t> items) {
    Value x;
    x.kind_ = Kind::kList;
    x.list_ = std::move(items);
    return x;
  }

  Kind kind() const { return kind_; }
  bool is_nil() const { return kind_ == Kind::kNil; }
  bool is_int() const { return kind_ == Kind::kInt; }
  bool is_list() const { return kind_ == Kind::kList; }
  std::int64_t as_int() const { return int_; }
  const std::vector<std::int64_t>& as_list() const { return list_; }
  /// The list with `v` appended; nil appends to the empty list.
  Value appended(std::int64_t v) const;

  bool operator==(const Value& o) const {
    return kind_ == o.kind_ && int_ == o.int_ && list_ == o.list_;
  }
  std::uint64_t hash() const;
  /// "nil", "5", "[1 2 3]".
  std::string to_string() const;

private:
  Kind kind_ = Kind::kNil;
  std::int64_t int_ = 0;
  std::vector<std::int64_t> list_;
};

enum class OpKind : std::uint8_t { kRead, kWrite, kCas, kAppend, kTxn, kRequest };
/// "read", "write", "cas", "append", "txn", "request" (the names used in JSON).
std::string_view to_string(OpKind kind);
std::optional<OpKind> parse_op_kind(std::string_view name);

/// One step of a transaction: a read (value filled in on completion), a write or an append.
struct MicroOp {
  OpKind kind = OpKind::kRead;
  std::string key;
  Value value;

  static MicroOp read(std::string key, Value seen = {}) {
    return {OpKind::kRead, std::move(key), std::move(seen)};
  }
  static MicroOp write(std::string key, std::int64_t v) {
    return {OpKind::kWrite, std::move(key), Value::of(v)};
  }
  static MicroOp append(std::string key, std::int64_t v) {
    return {OpKind::kAppend, std::move(key), Value::of(v)};
  }
  bool operator==(const MicroOp&) const = default;
};

/// What a client asked for (on invoke) or what it got back (on completion).
struct Op {
  OpKind kind = OpKind::kRead;
  std::string key;
  /// write/append: the value written; cas: the new value; read: the value read (completion).
  Value value;
  /// cas: the value the register must hold for the swap to happen.
  Value expected;
  /// txn: the micro-operations in order; reads carry their results on completion.
  std::vector<MicroOp> txn;
  /// request: the idempotency key or request id (the Stripe case); optional for other kinds.
  std::string request_id;
  /// cas, on an ok completion: the compare failed, so nothing was written. Unlike a `fail`
  /// (which says the operation did not happen and is dropped), this keeps the constraint that
  /// the register held something other than `expected` at some point while it was in flight.
  bool cas_failed = false;

  static Op read(std::string key) { return Op{OpKind::kRead, std::move(key), {}, {}, {}, {}}; }
  static Op write(std::string key, std::int64_t v) {
    return Op{OpKind::kWrite, std::move(key), Value::of(v), {}, {}, {}};
  }
  static Op cas(std::string key, Value from, std::int64_t to) {
    return Op{OpKind::kCas, std::move(key), Value::of(to), std::move(from), {}, {}};
  }
  static Op append(std::string key, std::int64_t v) {
    return Op{OpKind::kAppend, std::move(key), Value::of(v), {}, {}, {}};
  }
  static Op transaction(std::vector<MicroOp> steps) {
    return Op{OpKind::kTxn, {}, {}, {}, std::move(steps), {}};
  }
  static Op request(std::string request_id, std::string key = {}) {
    return Op{OpKind::kRequest, std::move(key), {}, {}, {}, std::move(request_id)};
  }
  bool operator==(const Op&) const = default;
  /// "write x 5", "read x -> 3", "cas x 1->2", "txn [w x 1, r y nil]", "request ik_42".
  std::string to_string() const;
};

enum class EventType : std::uint8_t { kInvoke, kOk, kFail, kInfo };
std::string_view to_string(EventType type);

struct Event {
  EventType type = EventType::kInvoke;
  std::int64_t client = 0;
  Time time;
  Op op;
  /// The commit timestamp the store exposed (Spanner's TrueTime-derived timestamp), if any.
  std::optional<std::int64_t> commit_ts;
};

/// How an operation ended. kPending: the history ended before it completed (same as info).
enum class Outcome : std::uint8_t { kOk, kFail, kInfo, kPending };
std::string_view to_string(Outcome outcome);

/// An invocation paired with its completion.
struct Operation {
  std::size_t id = 0;  ///< Position in History::operations().
  std::int64_t client = 0;
  /// The completion's op when ok (so reads carry their results), else the invocation's op.
  Op op;
  Outcome outcome = Outcome::kPending;
  Time invoke_time;
  /// Time::max() when the outcome is unknown (info or pending): it may take effect any time.
  Time complete_time = Time::max();
  std::size_t invoke_event = 0;
  std::size_t complete_event = static_cast<std::size_t>(-1);
  std::optional<std::int64_t> commit_ts;

  bool ok() const { return outcome == Outcome::kOk; }
  bool unknown() const { return outcome == Outcome::kInfo || outcome == Outcome::kPending; }
  /// "client 3 [1.2ms, 1.5ms] write x 5 -> ok".
  std::string to_string() const;
};

/// Malformed history or bad input file. The message names the event or line and the fix.
class HistoryError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// For loaders of recorded files: throws HistoryError (without a line number) when an ok
/// completion changes what was invoked: the kind, the key, a written value, a cas's values, or
/// a transaction's steps. Only results may be filled in: a read's value, a transaction's
/// reads, a cas's compare-failed flag.
void check_completion_matches(const Op& invoked, const Op& completed);

class History {
public:
  /// Records an invocation. Throws HistoryError if the client already has an operation in
  /// flight (a client is one sequential thread: complete it with ok/fail/info first) or if
  /// time goes backwards.
  void invoke(std::int64_t client, Time t, Op op);
  /// Completes the client's pending operation as ok, with the invoked op unchanged (a write).
  void ok(std::int64_t client, Time t);
  /// Completes the client's pending read with the value it returned.
  void ok(std::int64_t client, Time t, Value read_value);
  /// Completes with a full result op (a transaction's reads) and an optional commit timestamp.
  void ok(std::int64_t client, Time t, Op result,
          std::optional<std::int64_t> commit_ts = std::nullopt);
  /// Completes the client's pending cas as ok with a compare that failed (Op::cas_failed).
  void ok_cas_failed(std::int64_t client, Time t);
  /// The operation certainly did not take effect.
  void fail(std::int64_t client, Time t);
  /// The outcome is unknown: it may have taken effect, once, at any time after its invocation.
  void info(std::int64_t client, Time t);
  /// Appends a raw event (loading, tests) with the same checks as the calls above.
  void add(Event e);

  const std::vector<Event>& events() const { return events_; }
  /// The value every object (every key) held before the first event, when the history says
  /// so (a JSON-lines `{"initial": 0}` line); checkers take it over their model's default.
  const std::optional<Value>& initial() const { return initial_; }
  void set_initial(Value v) { initial_ = std::move(v); }
  std::size_t size() const { return events_.size(); }
  bool empty() const { return events_.empty(); }
  /// Operations in invocation order.
  std::vector<Operation> operations() const;

  /// One JSON object per line, Jepsen-like:
  /// {"type":"invoke","client":3,"time":1500000,"f":"write","key":"x","value":5}
  /// Times are integer nanoseconds of true time.
  void save_jsonl(std::ostream& out) const;
  /// Throws HistoryError naming `source` and the line number on malformed input.
  static History load_jsonl(std::istream& in, std::string_view source = "<stream>");
  void save_file(const std::string& path) const;
  static History load_file(const std::string& path);

private:
  void complete(EventType type, std::int64_t client, Time t, const Op* result,
                std::optional<std::int64_t> commit_ts);
  std::vector<Event> events_;
  std::optional<Value> initial_;
  /// client → index of its in-flight invoke event (sorted vector: deterministic, small).
  std::vector<std::pair<std::int64_t, std::size_t>> pending_;
};

}  // namespace faultline::check
