#include <faultline/scenario/json_reader.hpp>

#include <algorithm>
#include <cctype>
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

namespace {

// The grammar Duration::parse accepts: [-] then groups of digits[.digits] and a unit. A string
// of this shape that does not parse is out of range, not misspelt.
bool duration_shaped(std::string_view t) {
  if (!t.empty() && t.front() == '-') {
    t.remove_prefix(1);
  }
  if (t.empty()) {
    return false;
  }
  static constexpr std::string_view kUnits[] = {"min", "ms", "us", "ns", "h", "m", "s", "d"};
  while (!t.empty()) {
    std::size_t i = 0;
    std::size_t digits = 0;
    while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) {
      ++i;
      ++digits;
    }
    if (i < t.size() && t[i] == '.') {
      ++i;
      while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) {
        ++i;
        ++digits;
      }
    }
    if (digits == 0) {
      return false;
    }
    t.remove_prefix(i);
    bool matched = false;
    for (auto u : kUnits) {
      if (t.substr(0, u.size()) == u) {
        t.remove_prefix(u.size());
        matched = true;
        break;
      }
    }
    if (!matched) {
      return false;
    }
  }
  return true;
}

}  // namespace

Duration parse_duration(const Json& j, const std::string& pointer, const Source& source) {
  if (!j.is_string()) {
    throw source.error(pointer, json_brief(j) + " is " + json_type_name(j) + ", not a duration",
                       "write a string with a unit, e.g. \"250ms\", \"1.5s\", \"2h19m\"");
  }
  const std::string text = j.get<std::string>();
  auto d = Duration::parse(text);
  if (!d) {
    if (duration_shaped(text)) {
      throw source.error(pointer, json_brief(j) + " is out of range",
                         "durations are 64-bit nanoseconds: at most " +
                             Duration::max().to_string() + " (about 106,751 days)");
    }
    throw source.error(pointer, json_brief(j) + " is not a duration",
                       "use e.g. \"250ms\", \"1.5s\", \"90us\", \"2h19m\" (units ns, us, ms, s, "
                       "m, h, d; no spaces)");
  }
  return *d;
}

void ParamCatalog::note(ParamInfo info) {
  if (seen_.insert(info.pointer).second) {
    params_.push_back(std::move(info));
    return;
  }
  for (auto& p : params_) {
    if (p.pointer == info.pointer && p.doc.empty()) {
      p.doc = std::move(info.doc);
    }
  }
}

namespace {

const Json& empty_object() {
  static const Json kEmpty = Json::object();
  return kEmpty;
}

std::string range_text(long double lo, long double hi) {
  auto show = [](long double x) {
    // Integral bounds print as integers, even past what a double shows exactly.
    if (x == std::floor(x) && std::fabs(x) < 1.9e19L) {
      return x < 0 ? fmt::format("{}", static_cast<std::int64_t>(x))
                   : fmt::format("{}", static_cast<std::uint64_t>(x));
    }
    return fmt::format("{}", static_cast<double>(x));
  };
  if (std::isinf(hi)) {
    return "at least " + show(lo);
  }
  if (std::isinf(lo)) {
    return "at most " + show(hi);
  }
  return "between " + show(lo) + " and " + show(hi);
}

std::optional<double> finite(double x) {
  return std::isinf(x) ? std::nullopt : std::optional<double>(x);
}

}  // namespace

void ObjectReader::note(std::string_view key, std::string type, std::string default_value,
                        Doc doc, std::string range, std::vector<std::string> choices,
                        std::optional<double> minimum, std::optional<double> maximum) const {
  if (source_.catalog == nullptr) {
    return;
  }
  // Array indices become "*": tiers/0/instances and tiers/1/instances are one parameter.
  std::string normalized;
  const std::string full = pointer(key);
  std::string_view rest = full;
  while (!rest.empty()) {
    rest.remove_prefix(1);  // the '/'
    const auto end = std::min(rest.find('/'), rest.size());
    std::string_view token = rest.substr(0, end);
    const bool index = !token.empty() && token.find_first_not_of("0123456789") == token.npos;
    normalized += "/" + (index ? std::string("*") : std::string(token));
    rest.remove_prefix(end);
  }
  source_.catalog->note({normalized, std::move(type), std::move(default_value), std::move(range),
                         std::move(choices), std::string(doc), minimum, maximum});
}

ObjectReader::ObjectReader(const Json& json, std::string pointer, const Source& source)
    : json_(&json), pointer_(std::move(pointer)), source_(source) {
  if (!json_->is_object()) {
    auto e = source_.error(pointer_, "expected an object, found " + json_type_name(*json_),
                           "write {\"key\": value, ...}");
    if (!collecting()) {
      throw e;
    }
    report(e);
    json_ = &empty_object();
    broken_ = true;
  }
}

bool ObjectReader::collecting() const {
  return source_.reading != nullptr && !source_.reading->closed;
}

void ObjectReader::report(const ScenarioError& e) const {
  if (!collecting()) {
    throw e;
  }
  source_.reading->errors.add(e);
}

bool ObjectReader::has(std::string_view key) const { return json_->contains(key); }

const Json* ObjectReader::lookup(std::string_view key) {
  known_.emplace(key);
  auto it = json_->find(key);
  return it == json_->end() ? nullptr : &*it;
}

ScenarioError ObjectReader::error(std::string_view key, std::string problem,
                                  std::string fix) const {
  return source_.error(pointer(key), std::move(problem), std::move(fix));
}

ScenarioError ObjectReader::error_here(std::string problem, std::string fix) const {
  return source_.error(pointer_, std::move(problem), std::move(fix));
}

void ObjectReader::get(std::string_view key, bool& out, Doc doc) {
  note(key, "boolean", out ? "true" : "false", doc);
  if (const Json* v = lookup(key)) {
    recover([&] {
      if (!v->is_boolean()) {
        throw error(key,
                    json_brief(*v) + " is " + json_type_name(*v) + ", expected true or false");
      }
      out = v->get<bool>();
    });
  }
}

void ObjectReader::get(std::string_view key, std::string& out, Doc doc) {
  note(key, "string", Json(out).dump(), doc);
  if (const Json* v = lookup(key)) {
    recover([&] {
      if (!v->is_string()) {
        throw error(key, json_brief(*v) + " is " + json_type_name(*v) + ", expected a string",
                    "put the value in double quotes");
      }
      out = v->get<std::string>();
    });
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
    throw error(key, json_brief(v) + " is out of range",
                "it must be " + range_text(bounds.min, bounds.max));
  }
  return d;
}

std::string ObjectReader::bounds_text(Bounds b) {
  return std::isinf(b.min) && std::isinf(b.max) ? std::string() : range_text(b.min, b.max);
}

void ObjectReader::get(std::string_view key, double& out, Bounds bounds, Doc doc) {
  note(key, "number", fmt::format("{:g}", out), doc, bounds_text(bounds), {}, finite(bounds.min),
       finite(bounds.max));
  if (const Json* v = lookup(key)) {
    recover([&] { out = number(key, *v, bounds, false); });
  }
}

template <typename T>
T ObjectReader::integer(std::string_view key, const Json& v, Bounds bounds) {
  number(key, v, {}, true);  // type and wholeness
  // long double holds every int64 and uint64 exactly, so no comparison below rounds.
  long double x = 0;
  if (v.is_number_unsigned()) {
    x = static_cast<long double>(v.get<std::uint64_t>());
  } else if (v.is_number_integer()) {
    x = static_cast<long double>(v.get<std::int64_t>());
  } else {
    x = static_cast<long double>(v.get<double>());
  }
  const long double lo =
      std::max(static_cast<long double>(bounds.min),
               static_cast<long double>(std::numeric_limits<T>::min()));
  const long double hi =
      std::min(static_cast<long double>(bounds.max),
               static_cast<long double>(std::numeric_limits<T>::max()));
  if (x < lo || x > hi) {
    throw error(key, json_brief(v) + " is out of range", "it must be " + range_text(lo, hi));
  }
  return static_cast<T>(x);
}

namespace {

// An integer's bounds as the schema states them: the tighter of the binding's and the type's.
template <typename T>
std::pair<std::optional<double>, std::optional<double>> integer_bounds(Bounds b) {
  auto lo = std::max(b.min, static_cast<double>(std::numeric_limits<T>::min()));
  auto hi = std::min(b.max, static_cast<double>(std::numeric_limits<T>::max()));
  // Only a bound that fits exactly in a double is worth stating (2^63 does not).
  return {std::fabs(lo) < 9e15 ? std::optional<double>(lo) : std::nullopt,
          std::fabs(hi) < 9e15 ? std::optional<double>(hi) : std::nullopt};
}

}  // namespace

void ObjectReader::get(std::string_view key, std::int64_t& out, Bounds bounds, Doc doc) {
  auto [lo, hi] = integer_bounds<std::int64_t>(bounds);
  note(key, "integer", std::to_string(out), doc, bounds_text(bounds), {}, lo, hi);
  if (const Json* v = lookup(key)) {
    recover([&] { out = integer<std::int64_t>(key, *v, bounds); });
  }
}

void ObjectReader::get(std::string_view key, std::uint64_t& out, Bounds bounds, Doc doc) {
  auto [lo, hi] = integer_bounds<std::uint64_t>(bounds);
  note(key, "integer", std::to_string(out), doc, bounds_text(bounds), {}, lo, hi);
  if (const Json* v = lookup(key)) {
    recover([&] { out = integer<std::uint64_t>(key, *v, bounds); });
  }
}

void ObjectReader::get(std::string_view key, int& out, Bounds bounds, Doc doc) {
  auto [lo, hi] = integer_bounds<int>(bounds);
  note(key, "integer", std::to_string(out), doc, bounds_text(bounds), {}, lo, hi);
  if (const Json* v = lookup(key)) {
    recover([&] { out = integer<int>(key, *v, bounds); });
  }
}

void ObjectReader::get(std::string_view key, Duration& out, DurationBounds bounds, Doc doc) {
  {
    const bool has_min = bounds.min != DurationBounds{}.min;
    // The run's length as a bound (known only from a scenario) is not part of the key's range.
    const bool has_max = bounds.max != DurationBounds{}.max &&
                         !(source_.reading != nullptr && source_.reading->explore);
    std::string range;
    if (has_min && has_max) {
      range = "between " + bounds.min.to_string() + " and " + bounds.max.to_string();
    } else if (has_min) {
      range = "at least " + bounds.min.to_string();
    } else if (has_max) {
      range = "at most " + bounds.max.to_string();
    }
    note(key, "duration", Json(out.to_string()).dump(), doc, range);
  }
  if (const Json* v = lookup(key)) {
    recover([&] {
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
    });
  }
}

void ObjectReader::get(std::string_view key, std::vector<std::string>& out, Doc doc) {
  note(key, "array of strings", Json(out).dump(), doc);
  if (const Json* v = lookup(key)) {
    recover([&] {
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
    });
  }
}

void ObjectReader::get_names(std::string_view key, std::vector<std::string>& out, Doc doc) {
  note(key, "array of names", Json(out).dump(), doc);
  const Json* v = lookup(key);
  if (v == nullptr) {
    return;
  }
  recover([&] {
    std::vector<std::string> names = out;
    const auto errors_before = collecting() ? source_.reading->errors.size() : 0;
    get(key, names);
    if (collecting() && source_.reading->errors.size() != errors_before) {
      return;  // not a list of strings: reported
    }
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (names[i].empty()) {
        throw source_.error(child_pointer(pointer(key), i), "a name cannot be empty",
                            "write a name, e.g. \"zone-a\"");
      }
      for (std::size_t j = 0; j < i; ++j) {
        if (names[j] == names[i]) {
          throw source_.error(child_pointer(pointer(key), i),
                              fmt::format("\"{}\" is listed twice (also at index {})", names[i],
                                          j),
                              "list each name once");
        }
      }
    }
    out = std::move(names);
  });
}

void ObjectReader::get_choice(std::string_view key, std::string& out,
                              const std::vector<std::string>& choices, Doc doc) {
  note(key, "choice", Json(out).dump(), doc, {}, choices);
  const Json* v = lookup(key);
  if (v == nullptr) {
    return;
  }
  recover([&] {
    if (!v->is_string()) {
      throw error(key, json_brief(*v) + " is " + json_type_name(*v) + ", expected a string",
                  suggestion("", choices));
    }
    const std::string value = v->get<std::string>();
    if (std::find(choices.begin(), choices.end(), value) == choices.end()) {
      throw error(key, "\"" + value + "\" is not a valid choice", suggestion(value, choices));
    }
    out = value;
  });
}

const Json* ObjectReader::raw(std::string_view key, Doc doc, std::string_view type) {
  if (!doc.empty()) {  // undocumented raw reads are the scenario layer's own sections
    note(key, std::string(type), "", doc);
  }
  return lookup(key);
}

const Json& ObjectReader::require(std::string_view key, std::string_view example, Doc doc) {
  note(key, "required", example.empty() ? std::string() : "e.g. " + std::string(example), doc);
  const Json* v = lookup(key);
  if (v != nullptr) {
    return *v;
  }
  // While collecting, the missing key is reported and its example stands in for it, so the
  // binding reads on.
  auto stand_in = [&]() -> const Json& {
    auto& store = source_.reading->placeholders;
    store.push_back(Json::accept(example) ? Json::parse(example) : Json());
    return store.back();
  };
  if (broken_ && collecting()) {
    return stand_in();  // the object itself was reported
  }
  // A misspelt key is the likeliest cause: point at it rather than at the absence.
  const std::vector<std::string> wanted{std::string(key)};
  for (const auto& [present, value] : json_->items()) {
    if (known_.find(present) == known_.end() && !closest_match(present, wanted).empty()) {
      report(source_.error(pointer(present), "unknown key \"" + present + "\"",
                           "did you mean \"" + std::string(key) + "\"?"));
      known_.emplace(present);  // reported once, not again by finish()
      return stand_in();
    }
  }
  std::string fix = example.empty() ? std::string("add it")
                                    : "add it, e.g. \"" + std::string(key) + "\": " +
                                          std::string(example);
  if (!(source_.reading != nullptr && source_.reading->explore)) {
    report(error_here("missing required key \"" + std::string(key) + "\"", fix));
  }
  return stand_in();
}

std::optional<ObjectReader> ObjectReader::object(std::string_view key, Doc doc) {
  note(key, "object", "{}", doc);
  const Json* v = lookup(key);
  if (v == nullptr) {
    if (collecting() && source_.reading->explore) {
      return ObjectReader(empty_object(), pointer(key), source_);
    }
    return std::nullopt;
  }
  if (!v->is_object()) {
    // Its keys cannot be read: report it and leave the whole object at its defaults.
    report(source_.error(pointer(key), "expected an object, found " + json_type_name(*v),
                         "write {\"key\": value, ...}"));
    return std::nullopt;
  }
  return ObjectReader(*v, pointer(key), source_);
}

const Json* ObjectReader::array(std::string_view key, Doc doc) {
  note(key, "array", "[]", doc);
  const Json* v = lookup(key);
  if (v == nullptr && collecting() && source_.reading->explore) {
    source_.reading->placeholders.push_back(Json::array({Json::object()}));
    return &source_.reading->placeholders.back();
  }
  if (v != nullptr && !v->is_array()) {
    report(error(key, json_brief(*v) + " is " + json_type_name(*v) + ", expected an array",
                 "write [ ... ]"));
    return nullptr;
  }
  return v;
}

void ObjectReader::finish() const {
  std::vector<std::string> known(known_.begin(), known_.end());
  ErrorList errors;
  for (const auto& [key, value] : json_->items()) {
    if (known_.find(key) == known_.end()) {
      errors.add(source_.error(pointer(key), "unknown key \"" + key + "\"",
                               suggestion(key, known)));
    }
  }
  if (!collecting()) {
    errors.throw_if_any();
    return;
  }
  ReadContext& reading = *source_.reading;
  if (!errors.empty()) {
    try {
      errors.throw_if_any();
    } catch (const ScenarioError& e) {
      reading.errors.add(e);
    }
  }
  if (pointer_ == reading.root && !reading.errors.empty()) {
    ErrorList all = reading.errors;
    reading.errors.clear();
    all.throw_if_any();
  }
}

}  // namespace faultline::scenario
