// The trace: one recording API for everything that happens in a run.
//
// Every record (time, source, kind, fields) is folded into a 64-bit rolling hash, always, so
// two runs can be compared by one number. Full recording is optional: attach a TraceSink (for
// example JsonLinesTraceSink) to keep or export the records themselves. Recording takes its
// fields as a braced list of views and allocates nothing.
#pragma once

#include <faultline/time.hpp>

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace faultline {

/// A field value: integer, float, bool or string (a view: valid only during the record call).
class TraceValue {
public:
  enum class Kind : std::uint8_t { kInt, kDouble, kBool, kString };

  template <std::integral I>
    requires(!std::same_as<I, bool>)
  constexpr TraceValue(I v) : kind_(Kind::kInt), i_(static_cast<std::int64_t>(v)) {}
  constexpr TraceValue(bool v) : kind_(Kind::kBool), i_(v ? 1 : 0) {}
  constexpr TraceValue(double v) : kind_(Kind::kDouble), d_(v) {}
  constexpr TraceValue(std::string_view v) : kind_(Kind::kString), s_(v) {}
  constexpr TraceValue(const char* v) : kind_(Kind::kString), s_(v) {}
  TraceValue(const std::string& v) : kind_(Kind::kString), s_(v) {}
  constexpr TraceValue(Duration v) : kind_(Kind::kInt), i_(v.ns()) {}
  constexpr TraceValue(Time v) : kind_(Kind::kInt), i_(v.ns()) {}

  Kind kind() const { return kind_; }
  std::int64_t as_int() const { return i_; }
  double as_double() const { return d_; }
  bool as_bool() const { return i_ != 0; }
  std::string_view as_string() const { return s_; }
  /// The value as text ("42", "0.5", "true", or the string itself).
  std::string to_string() const;

private:
  Kind kind_;
  std::int64_t i_ = 0;
  double d_ = 0.0;
  std::string_view s_;
};

struct TraceField {
  std::string_view key;
  TraceValue value;
};

using TraceFields = std::initializer_list<TraceField>;

/// What sinks see of one record. Views are valid only during the call.
struct TraceRecordView {
  std::uint64_t index;  // 0-based position in the run
  Time time;
  std::string_view source;
  std::string_view kind;
  std::span<const TraceField> fields;
  std::uint64_t record_hash;  // hash of this record alone
  std::uint64_t rolling_hash;  // hash of every record up to and including this one

  /// One line of human-readable text: "T+1.5s net deliver from=3 to=4 bytes=1024".
  std::string to_string() const;
};

class TraceSink {
public:
  virtual ~TraceSink() = default;
  virtual void on_record(const TraceRecordView& record) = 0;
  /// Whether this sink also wants notes (see Trace::note). Asked once, when attached.
  virtual bool wants_notes() const { return false; }
};

class Trace {
public:
  void record(Time t, std::string_view source, std::string_view kind, TraceFields fields = {}) {
    record(t, source, kind, std::span<const TraceField>(fields.begin(), fields.size()));
  }
  void record(Time t, std::string_view source, std::string_view kind,
              std::span<const TraceField> fields);

  /// A note: detail about the run that is not part of it (every message send, which node id
  /// has which name), for sinks that draw the run (the HTML report's space-time diagram). A
  /// note goes only to sinks whose wants_notes() is true and is neither hashed nor counted, so
  /// attaching such a sink changes neither the trace hash nor the record indices; its view
  /// carries the index of the next record and record_hash 0. Callers check noting() first so
  /// that a run without such a sink pays one branch.
  void note(Time t, std::string_view source, std::string_view kind, TraceFields fields = {});
  bool noting() const { return noting_; }

  /// The rolling hash of every record so far.
  std::uint64_t hash() const { return hash_; }
  std::uint64_t count() const { return count_; }

  /// Attaches a sink (not owned; it must outlive the recording or be detached).
  void attach(TraceSink* sink);
  void detach(TraceSink* sink);

private:
  std::uint64_t hash_ = 0x84222325cbf29ce4ULL;
  std::uint64_t count_ = 0;
  std::vector<TraceSink*> sinks_;
  bool noting_ = false;
};

/// Writes each record as one JSON object per line:
/// {"i":0,"t_ns":1500000000,"src":"net","kind":"deliver","f":{"from":3,"to":4}}
class JsonLinesTraceSink : public TraceSink {
public:
  explicit JsonLinesTraceSink(std::ostream& out) : out_(out) {}
  void on_record(const TraceRecordView& record) override;

private:
  std::ostream& out_;
};

/// Appends `text` to `out` as a JSON string literal, quotes included.
void append_json_string(std::string& out, std::string_view text);
/// Appends the fields as one JSON object, {"key":value,...}; non-finite doubles become null
/// (JSON has no NaN or infinity).
void append_json_fields(std::string& out, std::span<const TraceField> fields);

}  // namespace faultline
