// Reading JSON into params structs, with errors that name the file, the JSON path and the fix.
//
// Bindings (src/scenario/bindings/) map a JSON object onto the same params structs the C++ API
// uses, one field at a time:
//
//   ObjectReader r(json, "/model/params", source);
//   r.get("timeout", params.timeout);            // optional: absent leaves the default
//   r.get("replicas", params.replicas, {.min = 1});
//   r.finish();                                  // unknown keys → "did you mean ...?"
//
// Every key a binding asks for (present or not) is known to the reader, so finish() can point a
// typo at its closest known key. Durations are strings with units everywhere ("250ms", "6h").
#pragma once

#include <faultline/scenario/diagnostics.hpp>
#include <faultline/time.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
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
};

/// The keys a binding reads, recorded by ObjectReader while a Source points at it: the one
/// source of `faultline describe`, so that the listing cannot drift from what is parsed.
class ParamCatalog {
public:
  /// Keeps the first record of each pointer.
  void note(ParamInfo info);
  const std::vector<ParamInfo>& params() const { return params_; }

private:
  std::vector<ParamInfo> params_;
  std::set<std::string, std::less<>> seen_;
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

class ObjectReader {
public:
  /// Throws if `json` is not an object.
  ObjectReader(const Json& json, std::string pointer, const Source& source);

  bool has(std::string_view key) const;
  const std::string& pointer() const { return pointer_; }
  std::string pointer(std::string_view key) const { return child_pointer(pointer_, key); }
  const Source& source() const { return source_; }

  // Optional fields: when the key is absent, `out` keeps its value (the params default).
  void get(std::string_view key, bool& out);
  void get(std::string_view key, std::string& out);
  void get(std::string_view key, double& out, Bounds bounds = {});
  void get(std::string_view key, std::int64_t& out, Bounds bounds = {});
  void get(std::string_view key, std::uint64_t& out, Bounds bounds = {});
  void get(std::string_view key, int& out, Bounds bounds = {});
  void get(std::string_view key, Duration& out, DurationBounds bounds = {});
  void get(std::string_view key, std::vector<std::string>& out);
  /// A list of names: non-empty strings, each at most once (zones, regions, tiers).
  void get_names(std::string_view key, std::vector<std::string>& out);
  /// A string that must be one of `choices`.
  void get_choice(std::string_view key, std::string& out, const std::vector<std::string>& choices);

  /// The raw value (marking the key known), or nullptr when absent.
  const Json* raw(std::string_view key);
  /// The raw value; throws "missing required key" when absent.
  const Json& require(std::string_view key, std::string_view example = {});
  /// A nested object; throws if present but not an object. nullopt when absent.
  std::optional<ObjectReader> object(std::string_view key);
  /// A nested array (throws if present and not an array); nullptr when absent.
  const Json* array(std::string_view key);

  /// An error at `key` of this object.
  ScenarioError error(std::string_view key, std::string problem, std::string fix = {}) const;
  /// An error at this object itself.
  ScenarioError error_here(std::string problem, std::string fix = {}) const;

  /// Throws on the first key that no get/raw/require/object call asked about, suggesting the
  /// closest known key.
  void finish() const;

private:
  const Json* lookup(std::string_view key);
  static std::string bounds_text(Bounds b);
  void note(std::string_view key, std::string type, std::string default_value,
            std::string range = {}, std::vector<std::string> choices = {}) const;
  double number(std::string_view key, const Json& v, Bounds bounds, bool integral);
  /// A whole number within `bounds` and within T's range; the message names the range.
  template <typename T>
  T integer(std::string_view key, const Json& v, Bounds bounds);

  const Json& json_;
  std::string pointer_;
  const Source& source_;
  std::set<std::string, std::less<>> known_;
};

}  // namespace faultline::scenario
