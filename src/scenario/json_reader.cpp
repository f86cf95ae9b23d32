#include <faultline/scenario/json_reader.hpp>

#include <cmath>

#include <fmt/format.h>

namespace faultline::scenario {

std::string Source::locate(const std::string& pointer) const {
  // The longest recorded prefix (at a token boundary) wins: an override of /model/params
  // owns everything below it.
  std::string probe = pointer;
  while (true) {
    auto it = provenance.find(probe);
    if (it != provenance.end()) {
      return it->second + pointer.substr(probe.size());
    }
    if (probe.empty()) {
      return pointer;
    }
    probe.resize(probe.rfind('/'));
  }
}

ScenarioError Source::error(const std::string& pointer, std::string problem,
                            std::string fix) const {
  std::string where = locate(pointer);
  if (!variant.empty() && where == pointer) {
    problem += " (in variant \"" + variant + "\")";
  }
  return ScenarioError(file, where, std::move(problem), std::move(fix));
}

std::string child_pointer(std::string_view pointer, std::string_view key) {
  std::string out(pointer);
  out += '/';
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string child_pointer(std::string_view pointer, std::size_t index) {
  return std::string(pointer) + "/" + std::to_string(index);
}

std::string json_type_name(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::object: return "an object";
    case Json::value_t::array: return "an array";
    case Json::value_t::string: return "a string";
    case Json::value_t::boolean: return "a boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "an integer";
    case Json::value_t::number_float: return "a number";
    default: return "an unsupported value";
  }
}

std::string json_brief(const Json& j) {
  std::string s = j.dump();
  if (s.size() > 40) {
    s = s.substr(0, 37) + "...";
  }
  return s;
}

Duration parse_duration(const Json& j, const std::string& pointer, const Source& source) {
  if (!j.is_string()) {
    throw source.error(pointer, json_brief(j) + " is " + json_type_name(j) + ", not a duration",
                       "write a string with a unit, e.g. \"250ms\", \"1.5s\", \"2h19m\"");
  }
  auto d = Duration::parse(j.get<std::string>());
  if (!d) {
    throw source.error(pointer, json_brief(j) + " is not a duration",
                       "use e.g. \"250ms\", \"1.5s\", \"90us\", \"2h19m\" (units ns, us, ms, s, "
                       "m, h, d; no spaces)");
  }
  return *d;
}

ObjectReader::ObjectReader(const Json& json, std::string pointer, const Source& source)
    : json_(json), pointer_(std::move(pointer)), source_(source) {
  if (!json_.is_object()) {
    throw source_.error(pointer_, "expected an object, found " + json_type_name(json_),
                        "write {\"key\": value, ...}");
  }
}

bool ObjectReader::has(std::string_view key) const { return json_.contains(key); }

const Json* ObjectReader::lookup(std::string_view key) {
  known_.emplace(key);
  auto it = json_.find(key);
  return it == json_.end() ? nullptr : &*it;
}

ScenarioError ObjectReader::error(std::string_view key, std::string problem,
                                  std::string fix) const {
  return source_.error(pointer(key), std::move(problem), std::move(fix));
}

ScenarioError ObjectReader::error_here(std::string problem, std::string fix) const {
  return source_.error(pointer_, std::move(problem), std::move(fix));
}

void ObjectReader::get(std::string_view key, bool& out) {
  if (const Json* v = lookup(key)) {
    if (!v->is_boolean()) {
      throw error(key, json_brief(*v) + " is " + json_type_name(*v) + ", expected true or false");
    }
    out = v->get<bool>();
  }
}

void ObjectReader::get(std::string_view key, std::string& out) {
  if (const Json* v = lookup(key)) {
    if (!v->is_string()) {
      throw error(key, json_brief(*v) + " is " + json_type_name(*v) + ", expected a string",
                  "put the value in double quotes");
    }
    out = v->get<std::string>();
  }
}

double ObjectReader::number(std::string_view key, const Json& v, Bounds bounds, bool integral) {
  if (!v.is_number()) {
    std::string fix = v.is_string() && Duration::parse(v.get<std::string>())
                          ? "this key takes a plain number, not a duration"
                          : "write a number without quotes";
    throw error(key, json_brief(v) + " is " + json_type_name(v) + ", expected " +
                         (integral ? "an integer" : "a number"),
                fix);
  }
  double d = v.get<double>();
  if (integral && !v.is_number_integer() && std::floor(d) != d) {
    throw error(key, json_brief(v) + " is not a whole number", "use an integer");
  }
  if (d < bounds.min || d > bounds.max) {
    std::string range;
    if (std::isinf(bounds.max)) {
      range = fmt::format("at least {}", bounds.min);
    } else if (std::isinf(bounds.min)) {
      range = fmt::format("at most {}", bounds.max);
    } else {
      range = fmt::format("between {} and {}", bounds.min, bounds.max);
    }
    throw error(key, json_brief(v) + " is out of range", "it must be " + range);
  }
  return d;
}

void ObjectReader::get(std::string_view key, double& out, Bounds bounds) {
  if (const Json* v = lookup(key)) {
    out = number(key, *v, bounds, false);
  }
}

void ObjectReader::get(std::string_view key, std::int64_t& out, Bounds bounds) {
  if (const Json* v = lookup(key)) {
    number(key, *v, bounds, true);
    out = v->get<std::int64_t>();
  }
}

void ObjectReader::get(std::string_view key, std::uint64_t& out, Bounds bounds) {
  if (bounds.min < 0) {
    bounds.min = 0;
  }
  if (const Json* v = lookup(key)) {
    number(key, *v, bounds, true);
    out = v->get<std::uint64_t>();
  }
}

void ObjectReader::get(std::string_view key, int& out, Bounds bounds) {
  bounds.min = std::max(bounds.min, static_cast<double>(std::numeric_limits<int>::min()));
  bounds.max = std::min(bounds.max, static_cast<double>(std::numeric_limits<int>::max()));
  if (const Json* v = lookup(key)) {
    number(key, *v, bounds, true);
    out = v->get<int>();
  }
}

void ObjectReader::get(std::string_view key, Duration& out, DurationBounds bounds) {
  if (const Json* v = lookup(key)) {
    Duration d = parse_duration(*v, pointer(key), source_);
    if (d < bounds.min) {
      throw error(key, json_brief(*v) + " is too short",
                  "it must be at least " + bounds.min.to_string());
    }
    if (d > bounds.max) {
      throw error(key, json_brief(*v) + " is too long",
                  "it must be at most " + bounds.max.to_string());
    }
    out = d;
  }
}

void ObjectReader::get(std::string_view key, std::vector<std::string>& out) {
  if (const Json* v = lookup(key)) {
    if (!v->is_array()) {
      throw error(key, json_brief(*v) + " is " + json_type_name(*v) + ", expected an array",
                  "write [\"a\", \"b\"]");
    }
    std::vector<std::string> values;
    for (std::size_t i = 0; i < v->size(); ++i) {
      if (!(*v)[i].is_string()) {
        throw source_.error(child_pointer(pointer(key), i),
                            json_brief((*v)[i]) + " is " + json_type_name((*v)[i]) +
                                ", expected a string");
      }
      values.push_back((*v)[i].get<std::string>());
    }
    out = std::move(values);
  }
}

void ObjectReader::get_choice(std::string_view key, std::string& out,
                              const std::vector<std::string>& choices) {
  std::string value = out;
  get(key, value);
  if (has(key) && std::find(choices.begin(), choices.end(), value) == choices.end()) {
    throw error(key, "\"" + value + "\" is not a valid choice", suggestion(value, choices));
  }
  out = value;
}

const Json* ObjectReader::raw(std::string_view key) { return lookup(key); }

const Json& ObjectReader::require(std::string_view key, std::string_view example) {
  const Json* v = lookup(key);
  if (v == nullptr) {
    // A misspelt key is the likeliest cause: point at it rather than at the absence.
    const std::vector<std::string> wanted{std::string(key)};
    for (const auto& [present, value] : json_.items()) {
      if (known_.find(present) == known_.end() && !closest_match(present, wanted).empty()) {
        throw source_.error(pointer(present), "unknown key \"" + present + "\"",
                            "did you mean \"" + std::string(key) + "\"?");
      }
    }
    std::string fix = example.empty() ? std::string("add it")
                                      : "add it, e.g. \"" + std::string(key) + "\": " +
                                            std::string(example);
    throw error_here("missing required key \"" + std::string(key) + "\"", fix);
  }
  return *v;
}

std::optional<ObjectReader> ObjectReader::object(std::string_view key) {
  const Json* v = lookup(key);
  if (v == nullptr) {
    return std::nullopt;
  }
  return ObjectReader(*v, pointer(key), source_);
}

const Json* ObjectReader::array(std::string_view key) {
  const Json* v = lookup(key);
  if (v != nullptr && !v->is_array()) {
    throw error(key, json_brief(*v) + " is " + json_type_name(*v) + ", expected an array",
                "write [ ... ]");
  }
  return v;
}

void ObjectReader::finish() const {
  std::vector<std::string> known(known_.begin(), known_.end());
  for (const auto& [key, value] : json_.items()) {
    if (known_.find(key) == known_.end()) {
      throw source_.error(pointer(key), "unknown key \"" + key + "\"",
                          suggestion(key, known));
    }
  }
}

}  // namespace faultline::scenario
