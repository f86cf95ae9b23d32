// Reading JSON into params structs, with errors that name the file, the JSON path and the fix.
//
// Bindings (src/scenario/bindings/) map a JSON object onto the same params structs the C++ API
// uses, one field at a time:
//
//   ObjectReader r(json, "/model/params", source);
//   r.get("timeout", params.timeout, {}, "per-attempt timeout of a call");
//   r.get("replicas", params.replicas, {.min = 1}, "copies of each key (Dynamo paper: 3)");
//   r.finish();                                  // unknown keys → "did you mean ...?"
//
// Every key a binding asks for (present or not) is known to the reader, so finish() can point a
// typo at its closest known key. Durations are strings with units everywhere ("250ms", "6h").
//
// The last argument of every get/object/array/require call is the key's one-line doc (what it
// is, its unit, the source of a figure from the record): `faultline describe`, the generated
// params sections of docs/scenario.schema.json and docs/models.md all come from it.
//
// While the scenario layer prepares a model (Source::reading set), a bad value does not stop
// the binding: the reader records the error, keeps the params default and goes on, so one run
// of `validate` lists every bad value of a params object. finish() of the reader at
// /model/params (the binding's root) then throws every error recorded so far, before the
// binding validates the params as a whole.
#pragma once

#include <faultline/scenario/diagnostics.hpp>
#include <faultline/time.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::scenario {

using Json = nlohmann::json;

/// One key a binding reads, as `faultline describe` lists it.
struct ParamInfo {
  std::string pointer;        // "/model/params/tiers/*/instances" (array indices as *)
  std::string type;           // "integer", "number", "duration", "string", "boolean", ...
  std::string default_value;  // the params struct's value before the key is read, as JSON
  std::string range;          // "between 1 and 10000", "" when unbounded
  std::vector<std::string> choices;  // for a choice
  std::string doc;            // one line: what it is, its unit, the source of a figure
  std::optional<double> minimum;  // numeric bounds, for the JSON Schema
  std::optional<double> maximum;
};

/// The keys a binding reads, recorded by ObjectReader while a Source points at it: the one
/// source of `faultline describe`, so that the listing cannot drift from what is parsed.
class ParamCatalog {
public:
  /// Keeps the first record of each pointer (a later record may add a missing doc).
  void note(ParamInfo info);
  const std::vector<ParamInfo>& params() const { return params_; }

private:
  std::vector<ParamInfo> params_;
  std::set<std::string, std::less<>> seen_;
};

/// How the readers of one binding's run behave (see Source::reading).
struct ReadContext {
  /// Errors of bad values, recorded instead of thrown so that the binding goes on.
  ErrorList errors;
  /// The pointer of the binding's root object: its reader's finish() throws every error.
  std::string root = "/model/params";
  /// For `faultline describe`: absent objects read as {}, absent arrays as [{}] and absent
  /// required keys as their example, so every key the binding can read is recorded.
  bool explore = false;
  /// Once the binding has returned, readers throw again (a source copied into a model's fault
  /// plan outlives the parse).
  bool closed = false;
  std::deque<Json> placeholders;  // stable storage for explored values
};

/// Where a document came from: the file, and for a variant's merged document, which pointers
/// were written by the variant (merged pointer → pointer of the override in the file), so an
/// error inside an override names the override itself.
struct Source {
  std::string file;
  std::string variant;  // empty for the base scenario
  std::map<std::string, std::string> provenance;
  /// When set, every key read through an ObjectReader on this source is recorded there.
  ParamCatalog* catalog = nullptr;
  /// When set (and not closed), readers record bad values there and go on (see ReadContext).
  std::shared_ptr<ReadContext> reading;

  /// The pointer in the file that produced the value at `pointer` of the merged document.
  std::string locate(const std::string& pointer) const;
  ScenarioError error(const std::string& pointer, std::string problem, std::string fix = {}) const;
};

/// Appends one reference token to a JSON pointer, escaping '~' and '/'.
std::string child_pointer(std::string_view pointer, std::string_view key);
std::string child_pointer(std::string_view pointer, std::size_t index);

/// "a string", "a number", ... for error messages.
std::string json_type_name(const Json& j);
/// A short rendering of a value for error messages (strings quoted, long values cut).
std::string json_brief(const Json& j);

/// Parses a duration string; throws a ScenarioError naming `pointer` on anything else.
Duration parse_duration(const Json& j, const std::string& pointer, const Source& source);

/// Inclusive numeric bounds for get(); the message names the bound that was broken.
struct Bounds {
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
};
struct DurationBounds {
  Duration min = Duration::nanos(std::numeric_limits<std::int64_t>::min());
  Duration max = Duration::max();
};

/// A key's one-line doc (what it is, unit, source).
using Doc = std::string_view;

class ObjectReader {
public:
  /// Throws if `json` is not an object.
  ObjectReader(const Json& json, std::string pointer, const Source& source);

  bool has(std::string_view key) const;
  const std::string& pointer() const { return pointer_; }
  std::string pointer(std::string_view key) const { return child_pointer(pointer_, key); }
  const Source& source() const { return source_; }

  // Optional fields: when the key is absent, `out` keeps its value (the params default); when
  // the value is bad, the error is recorded (or thrown) and `out` keeps its value too.
  void get(std::string_view key, bool& out, Doc doc = {});
  void get(std::string_view key, std::string& out, Doc doc = {});
  void get(std::string_view key, double& out, Bounds bounds = {}, Doc doc = {});
  void get(std::string_view key, std::int64_t& out, Bounds bounds = {}, Doc doc = {});
  void get(std::string_view key, std::uint64_t& out, Bounds bounds = {}, Doc doc = {});
  void get(std::string_view key, int& out, Bounds bounds = {}, Doc doc = {});
  void get(std::string_view key, Duration& out, DurationBounds bounds = {}, Doc doc = {});
  void get(std::string_view key, std::vector<std::string>& out, Doc doc = {});
  /// A list of names: non-empty strings, each at most once (zones, regions, tiers).
  void get_names(std::string_view key, std::vector<std::string>& out, Doc doc = {});
  /// A string that must be one of `choices`.
  void get_choice(std::string_view key, std::string& out, const std::vector<std::string>& choices,
                  Doc doc = {});

  /// The raw value (marking the key known), or nullptr when absent. `type` is what describe
  /// and the schema say the key holds ("string", "zone name", ...).
  const Json* raw(std::string_view key, Doc doc = {}, std::string_view type = "any");
  /// The raw value; "missing required key" when absent (recorded while collecting, and the
  /// example, parsed, stands in for it).
  const Json& require(std::string_view key, std::string_view example = {}, Doc doc = {});
  /// A nested object; nullopt when absent, or present but not an object (an error).
  std::optional<ObjectReader> object(std::string_view key, Doc doc = {});
  /// A nested array; nullptr when absent, or present but not an array (an error).
  const Json* array(std::string_view key, Doc doc = {});

  /// Records `e` while collecting (the binding goes on), else throws it. Bindings use it for
  /// their own checks of one value: `r.report(r.error("zone", "unknown zone", "use z1..z3"))`.
  void report(const ScenarioError& e) const;
  /// Whether errors are being recorded rather than thrown.
  bool collecting() const;

  /// An error at `key` of this object.
  ScenarioError error(std::string_view key, std::string problem, std::string fix = {}) const;
  /// An error at this object itself.
  ScenarioError error_here(std::string problem, std::string fix = {}) const;

  /// Reports every key that no get/raw/require/object call asked about, suggesting the
  /// closest known key. At the binding's root (ReadContext::root) it throws every error the
  /// binding's readers recorded.
  void finish() const;

private:
  const Json* lookup(std::string_view key);
  static std::string bounds_text(Bounds b);
  void note(std::string_view key, std::string type, std::string default_value, Doc doc,
            std::string range = {}, std::vector<std::string> choices = {},
            std::optional<double> minimum = {}, std::optional<double> maximum = {}) const;
  /// Runs `read`; while collecting, a ScenarioError it throws is recorded instead.
  template <typename F>
  void recover(F&& read) {
    if (!collecting()) {
      read();
      return;
    }
    try {
      read();
    } catch (const ScenarioError& e) {
      source_.reading->errors.add(e);
    }
  }
  double number(std::string_view key, const Json& v, Bounds bounds, bool integral);
  /// A whole number within `bounds` and within T's range; the message names the range.
  template <typename T>
  T integer(std::string_view key, const Json& v, Bounds bounds);

  const Json* json_;
  std::string pointer_;
  const Source& source_;
  std::set<std::string, std::less<>> known_;
  bool broken_ = false;  // not an object (already reported): its keys report nothing more
};

}  // namespace faultline::scenario
