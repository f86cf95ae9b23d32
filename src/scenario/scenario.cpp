#include <faultline/scenario/scenario.hpp>

#include <faultline/rng.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

namespace faultline::scenario {
namespace {

const std::vector<std::string> kSections = {"topology", "workload", "client_policies", "faults"};

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    std::size_t pos = s.find(sep, start);
    out.emplace_back(s.substr(start, pos == std::string_view::npos ? s.npos : pos - start));
    if (pos == std::string_view::npos) {
      return out;
    }
    start = pos + 1;
  }
}

std::optional<std::size_t> parse_index(std::string_view s) {
  std::size_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) {
    return std::nullopt;
  }
  return v;
}

constexpr std::string_view kLatencyPrefix = "latency_p";

// Parses a quantile from "latency_p99" / "latency_p999" / "latency_p99.9" / "latency_p50":
// one or two digits are a percentile, more digits without a point are nines ("p999" is
// 99.9 %), and a point makes a decimal percentile. nullopt for anything else, including
// percentiles outside (0, 100).
std::optional<double> latency_quantile(std::string_view metric) {
  if (metric.substr(0, kLatencyPrefix.size()) != kLatencyPrefix) {
    return std::nullopt;
  }
  const std::string digits(metric.substr(kLatencyPrefix.size()));
  const auto dot = digits.find('.');
  const bool digits_only = !digits.empty() && digits.find_first_not_of("0123456789.") ==
                                                  std::string::npos;
  if (!digits_only || digits.find('.', dot == std::string::npos ? 0 : dot + 1) !=
                          std::string::npos ||
      dot == 0 || dot + 1 == digits.size()) {
    return std::nullopt;  // empty, a stray character, two points, or a point at either end
  }
  double percent = 0.0;
  if (dot == std::string::npos && digits.size() > 2) {
    if (digits.find_first_not_of('9') != std::string::npos) {
      return std::nullopt;  // "p101": neither a percentile nor nines
    }
    percent = 100.0 * (1.0 - std::pow(10.0, -static_cast<double>(digits.size())));
  } else {
    percent = std::strtod(digits.c_str(), nullptr);  // digits and one inner point only
  }
  if (!(percent > 0.0 && percent < 100.0)) {
    return std::nullopt;
  }
  return percent / 100.0;
}

const std::vector<std::string>& expectation_metric_names() {
  static const std::vector<std::string> kMetrics = {
      "availability", "error_rate", "throughput", "retry_amplification", "latency_p50",
      "latency_p90", "latency_p99", "latency_p999", "probe_mean", "series_mean",
      "time_to_recover", "checker"};
  return kMetrics;
}

const std::vector<std::string>& observation_kind_names() {
  static const std::vector<std::string> kKinds = {
      "availability", "error_rate", "throughput", "request_rate", "retry_amplification", "probe"};
  return kKinds;
}

}  // namespace

const std::vector<std::string>& observation_kinds() { return observation_kind_names(); }
const std::vector<std::string>& expectation_metrics() { return expectation_metric_names(); }

// --- expectations ---------------------------------------------------------------------------

std::string Expectation::describe() const {
  std::string what;
  switch (kind) {
    case Kind::kProbeMean: what = "mean " + probe; break;
    case Kind::kSeriesMean: what = "mean of series " + series; break;
    case Kind::kChecker: return "checker " + checker;
    case Kind::kTimeToRecover:
      return fmt::format("time for {} to reach {:g} after {}", series, threshold,
                         after.to_string());
    default: what = metric; break;
  }
  if (!of.empty()) {
    what += " of " + of;
  }
  return fmt::format("{} over [{}, {}]", what, from.to_string(),
                     to ? to->to_string() : std::string("end"));
}

bool Expectation::applies_to(std::string_view variant) const {
  return in_variants.empty() ||
         std::find(in_variants.begin(), in_variants.end(), variant) != in_variants.end();
}

// --- overrides --------------------------------------------------------------------------------

void apply_override(Json& doc, std::string_view dotted_path, const Json& value,
                    const std::string& origin, Source& source) {
  auto parts = split(dotted_path, '.');
  Json* node = &doc;
  std::string pointer;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string& part = parts[i];
    if (part.empty()) {
      throw ScenarioError(source.file, origin, "empty segment in path \"" +
                                                   std::string(dotted_path) + "\"",
                          "write dotted keys like model.params.timeout");
    }
    if (node->is_array()) {
      auto index = parse_index(part);
      if (!index || *index >= node->size()) {
        throw ScenarioError(source.file, origin,
                            fmt::format("\"{}\" is not an index of the array at {} (size {})",
                                        part, pointer.empty() ? "/" : pointer, node->size()),
                            "use a number from 0 to " + std::to_string(node->size() - 1));
      }
      pointer = child_pointer(pointer, *index);
      node = &(*node)[*index];
    } else if (node->is_object() || node->is_null()) {
      // A key the file leaves out (at its default) is created on the way, so an override can
      // reach any key of the params; the parse that follows checks the names and the values,
      // and points its errors at this override.
      pointer = child_pointer(pointer, part);
      if (node->is_null()) {
        *node = Json::object();
      }
      if (!node->contains(part)) {
        source.provenance[pointer] = origin;
      }
      node = &(*node)[part];
    } else {
      throw ScenarioError(source.file, origin,
                          "cannot descend into " + json_type_name(*node) + " at " + pointer,
                          "check the path");
    }
  }
  *node = value;
  source.provenance[pointer] = origin;
}

void apply_merge_patch(Json& doc, const Json& patch, const std::string& origin_pointer,
                       Source& source) {
  // Record provenance for every node of the patch, then let nlohmann apply RFC 7386.
  auto record = [&](auto&& self, const Json& p, const std::string& target,
                    const std::string& origin) -> void {
    source.provenance[target] = origin;
    if (p.is_object()) {
      for (const auto& item : p.items()) {
        self(self, item.value(), child_pointer(target, item.key()),
             child_pointer(origin, item.key()));
      }
    }
  };
  if (patch.is_object()) {
    for (const auto& item : patch.items()) {
      record(record, item.value(), child_pointer("", item.key()),
             child_pointer(origin_pointer, item.key()));
    }
  }
  doc.merge_patch(patch);
}

std::pair<std::string, Json> parse_set_argument(std::string_view argument) {
  auto eq = argument.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    throw ScenarioError("", "--set " + std::string(argument), "expected path=value",
                        "e.g. --set model.params.timeout=250ms");
  }
  std::string path(argument.substr(0, eq));
  std::string text(argument.substr(eq + 1));
  // JSON when it parses as JSON, else the text itself as a string (so 250ms needs no quotes).
  Json value = Json::parse(text, nullptr, false);
  if (value.is_discarded()) {
    return {path, Json(text)};
  }
  return {path, parse_json_text(text, "", "--set " + path)};
}

// --- JSON text ----------------------------------------------------------------------------------

namespace {

struct LineColumn {
  std::size_t line = 1;
  std::size_t column = 1;
};

LineColumn line_column(std::string_view text, std::size_t byte) {
  LineColumn lc;
  for (std::size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++lc.line;
      lc.column = 1;
    } else {
      ++lc.column;
    }
  }
  return lc;
}

// The byte offset of the first number token (outside strings) that a double cannot hold, or
// npos. nlohmann reports such a number without its position.
std::size_t overflowing_number(std::string_view text) {
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      std::size_t end = i + 1;
      while (end < text.size() && std::string_view("0123456789.eE+-").find(text[end]) !=
                                      std::string_view::npos) {
        ++end;
      }
      const std::string token(text.substr(i, end - i));
      if (std::isinf(std::strtod(token.c_str(), nullptr))) {
        return i;
      }
      i = end - 1;
    }
  }
  return std::string_view::npos;
}

}  // namespace

Json parse_json_text(std::string_view text, const std::string& file, const std::string& where) {
  auto locate = [&](std::size_t byte) {
    if (!where.empty()) {
      return where;
    }
    auto lc = line_column(text, byte);
    return fmt::format("line {}, column {}", lc.line, lc.column);
  };
  // The parser itself is iterative, but copying, comparing and printing a document recurse:
  // bound the depth here so that no later step can exhaust the stack.
  auto depth_guard = [&](int depth, Json::parse_event_t, Json&) {
    if (depth > kMaxJsonDepth) {
      throw ScenarioError(file, "",
                          fmt::format("{}the JSON nests deeper than {} levels",
                                      where.empty() ? std::string() : where + ": ", kMaxJsonDepth),
                          "a scenario needs only a few levels; remove the runaway nesting");
    }
    return true;
  };
  try {
    return Json::parse(text, depth_guard);
  } catch (const Json::parse_error& e) {
    std::string what = e.what();
    auto pos = what.find("syntax error");
    throw ScenarioError(file, "",
                        fmt::format("{}: invalid JSON ({})", locate(e.byte),
                                    pos == std::string::npos ? what : what.substr(pos)),
                        "fix the JSON syntax (trailing commas and comments are not allowed)");
  } catch (const Json::out_of_range&) {
    // A number past the range of a double (e.g. 1e999): the library names no position.
    const std::size_t at = overflowing_number(text);
    throw ScenarioError(file, "",
                        fmt::format("{}: a number is too large to represent{}",
                                    locate(at == std::string_view::npos ? 0 : at),
                                    at == std::string_view::npos
                                        ? std::string()
                                        : " (" + std::string(text.substr(at, 24)) + ")"),
                        "numbers must be below about 1.8e308; write a sensible value");
  } catch (const Json::exception& e) {
    throw ScenarioError(file, "", locate(0) + ": invalid JSON (" + std::string(e.what()) + ")",
                        "fix the JSON");
  }
}

// --- files ------------------------------------------------------------------------------------

ScenarioFile ScenarioFile::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw ScenarioError(path, "", "cannot open the file",
                        "check the path (run `faultline list` to see the shipped scenarios)");
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse(buffer.str(), path);
}

ScenarioFile ScenarioFile::parse(std::string_view text, const std::string& path) {
  ScenarioFile file;
  file.path_ = path;
  file.raw_ = parse_json_text(text, path, "");
  Source source{path, {}, {}, nullptr, nullptr};
  if (!file.raw_.is_object()) {
    throw source.error("", "a scenario must be a JSON object, found " +
                               json_type_name(file.raw_));
  }
  if (auto it = file.raw_.find("name"); it != file.raw_.end() && it->is_string()) {
    file.name_ = it->get<std::string>();
  }
  if (auto it = file.raw_.find("variants"); it != file.raw_.end()) {
    if (!it->is_array()) {
      throw source.error("/variants", "expected an array of variants, found " +
                                          json_type_name(*it),
                         "write \"variants\": [{\"name\": ..., \"patch\": {...}}]");
    }
    std::vector<std::string> seen = {std::string(kBaseVariant)};
    for (std::size_t i = 0; i < it->size(); ++i) {
      std::string ptr = child_pointer("/variants", i);
      ObjectReader r((*it)[i], ptr, source);
      VariantDecl decl;
      decl.index = i;
      const Json& name = r.require("name", "\"with-backoff\"");
      if (!name.is_string() || name.get<std::string>().empty()) {
        throw r.error("name", "a variant name must be a non-empty string");
      }
      decl.name = name.get<std::string>();
      if (std::find(seen.begin(), seen.end(), decl.name) != seen.end()) {
        throw r.error("name", "variant name \"" + decl.name + "\" is used twice" +
                                  (decl.name == kBaseVariant ? " (\"base\" is the base scenario)"
                                                             : ""),
                      "give each variant its own name");
      }
      seen.push_back(decl.name);
      r.get("description", decl.description);
      const Json* patch = r.raw("patch");
      const Json* overrides = r.raw("overrides");
      if ((patch == nullptr) == (overrides == nullptr)) {
        throw r.error_here("a variant needs exactly one of \"patch\" (a JSON merge-patch of the "
                           "base) or \"overrides\" (an object of dotted path: value)",
                           "e.g. \"overrides\": {\"model.params.timeout\": \"250ms\"}");
      }
      if (patch != nullptr && !patch->is_object()) {
        throw r.error("patch", "a merge-patch must be an object",
                      "write the parts of the base to change, e.g. {\"seed\": 7}");
      }
      if (overrides != nullptr && !overrides->is_object()) {
        throw r.error("overrides", "overrides must be an object of dotted path: value",
                      "e.g. {\"model.params.timeout\": \"250ms\"}");
      }
      r.finish();
      file.variants_.push_back(std::move(decl));
    }
  }
  return file;
}

std::vector<std::string> ScenarioFile::variant_names() const {
  std::vector<std::string> out = {std::string(kBaseVariant)};
  for (const auto& v : variants_) {
    out.push_back(v.name);
  }
  return out;
}

// --- resolving --------------------------------------------------------------------------------

namespace {

struct WindowParse {
  Duration from;
  std::optional<Duration> to;
};

WindowParse parse_window(ObjectReader& r, Duration run) {
  WindowParse w{Duration::zero(), std::nullopt};
  const Json* window = r.raw("window");
  if (window == nullptr) {
    return w;
  }
  std::string ptr = r.pointer("window");
  if (!window->is_array() || window->size() != 2) {
    throw r.error("window", json_brief(*window) + " is not a window",
                  "write [\"from\", \"to\"], e.g. [\"2h19m\", \"end\"]");
  }
  w.from = parse_duration((*window)[0], child_pointer(ptr, 0), r.source());
  if ((*window)[1].is_string() && (*window)[1].get<std::string>() == "end") {
    w.to = std::nullopt;
  } else {
    w.to = parse_duration((*window)[1], child_pointer(ptr, 1), r.source());
  }
  Duration to = w.to.value_or(run);
  if (w.from < Duration::zero() || w.from >= to) {
    throw r.error("window", "the window is empty or starts before 0",
                  "the start must come before the end");
  }
  if (to > run) {
    throw r.error("window", "the window ends at " + to.to_string() +
                                ", after the run ends at " + run.to_string(),
                  "end it at most at the duration, or write \"end\"");
  }
  return w;
}

std::optional<double> parse_bound(ObjectReader& r, std::string_view key, bool duration) {
  const Json* v = r.raw(key);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (duration) {
    return parse_duration(*v, r.pointer(key), r.source()).to_seconds();
  }
  if (!v->is_number()) {
    throw r.error(key, json_brief(*v) + " is " + json_type_name(*v) + ", expected a number",
                  "write a number without quotes, e.g. 0.99");
  }
  return v->get<double>();
}

// A null model (its params failed to parse) skips the checks that need it, so the rest of an
// observation or expectation is still checked and reported.
void check_scope(ObjectReader& r, const ModelInstance* model, const std::string& of) {
  if (model != nullptr && !model->measures(of)) {
    auto scopes = model->measure_scopes();
    throw r.error("of", "\"" + of + "\" is not a client or service of this model",
                  suggestion(of, scopes));
  }
}

void check_probe(ObjectReader& r, const ModelInstance* model, const std::string& probe) {
  if (model == nullptr) {
    return;
  }
  auto probes = model->probes();
  if (std::find(probes.begin(), probes.end(), probe) == probes.end()) {
    throw r.error("probe", "\"" + probe + "\" is not a probe of this model",
                  probes.empty() ? std::string("this model has no probes")
                                 : suggestion(probe, probes));
  }
}

// Each series is sampled on a schedule set up before the run: this bounds its memory.
constexpr std::int64_t kMaxSamplesPerSeries = 1'000'000;

Observation parse_observation(const Json& j, const std::string& ptr, const Source& source,
                              const ModelInstance* model, Duration run) {
  ObjectReader r(j, ptr, source);
  Observation o;
  const Json& name = r.require("name", "\"availability\"");
  if (!name.is_string() || name.get<std::string>().empty()) {
    throw r.error("name", "an observation name must be a non-empty string");
  }
  o.name = name.get<std::string>();
  std::string kind = "availability";
  r.get_choice("kind", kind, observation_kinds());
  static const std::vector<Observation::Kind> kinds = {
      Observation::Kind::kAvailability, Observation::Kind::kErrorRate,
      Observation::Kind::kThroughput, Observation::Kind::kRequestRate,
      Observation::Kind::kRetryAmplification, Observation::Kind::kProbe};
  auto idx = std::find(observation_kinds().begin(), observation_kinds().end(), kind) -
             observation_kinds().begin();
  o.kind = kinds[static_cast<std::size_t>(idx)];
  r.get("every", o.every, {.min = Duration::micros(1)});
  if (o.every > run) {
    throw r.error("every", "\"" + o.every.to_string() + "\" is longer than the run (" +
                               run.to_string() + "), so no sample would be taken",
                  "sample at most every " + run.to_string() + ", e.g. \"1s\"");
  }
  if (run / o.every > kMaxSamplesPerSeries) {
    throw r.error("every",
                  fmt::format("\"{}\" over a {} run would take {} samples, more than the {} a "
                              "series may hold",
                              o.every.to_string(), run.to_string(), run / o.every,
                              kMaxSamplesPerSeries),
                  "sample at least every " +
                      Duration::nanos((run.ns() + kMaxSamplesPerSeries - 1) / kMaxSamplesPerSeries)
                          .to_string());
  }
  if (o.kind == Observation::Kind::kProbe) {
    const Json& probe = r.require("probe", "\"cpu_utilisation/api\"");
    if (!probe.is_string()) {
      throw r.error("probe", "expected a string");
    }
    o.probe = probe.get<std::string>();
    check_probe(r, model, o.probe);
  } else {
    r.get("of", o.of);
    check_scope(r, model, o.of);
  }
  r.finish();
  return o;
}

Expectation parse_expectation(const Json& j, const std::string& ptr, const Source& source,
                              const ModelInstance* model, Duration run,
                              const std::vector<std::string>& variants,
                              const std::vector<Observation>& observations) {
  ObjectReader r(j, ptr, source);
  Expectation e;
  e.pointer = ptr;
  r.get("name", e.name);
  r.get("in", e.in_variants);
  for (std::size_t i = 0; i < e.in_variants.size(); ++i) {
    if (std::find(variants.begin(), variants.end(), e.in_variants[i]) == variants.end()) {
      throw source.error(child_pointer(r.pointer("in"), i),
                         "\"" + e.in_variants[i] + "\" is not a variant of this file",
                         suggestion(e.in_variants[i], variants));
    }
  }
  const Json& metric = r.require("metric", "\"availability\"");
  if (!metric.is_string()) {
    throw r.error("metric", "expected a string", suggestion("", expectation_metrics()));
  }
  e.metric = metric.get<std::string>();
  using K = Expectation::Kind;
  if (e.metric == "availability") {
    e.kind = K::kAvailability;
  } else if (e.metric == "error_rate") {
    e.kind = K::kErrorRate;
  } else if (e.metric == "throughput") {
    e.kind = K::kThroughput;
  } else if (e.metric == "retry_amplification") {
    e.kind = K::kRetryAmplification;
  } else if (auto q = latency_quantile(e.metric)) {
    e.kind = K::kLatency;
    e.quantile = *q;
  } else if (e.metric == "probe_mean") {
    e.kind = K::kProbeMean;
  } else if (e.metric == "series_mean") {
    e.kind = K::kSeriesMean;
  } else if (e.metric == "time_to_recover") {
    e.kind = K::kTimeToRecover;
  } else if (e.metric == "checker") {
    e.kind = K::kChecker;
  } else if (e.metric.rfind(kLatencyPrefix, 0) == 0 && e.metric.size() > kLatencyPrefix.size()) {
    throw r.error("metric", "\"" + e.metric + "\" is not a latency percentile",
                  "write latency_pNN with a percentile between 0 and 100 exclusive, e.g. "
                  "latency_p50, latency_p99.9 or latency_p999 (99.9 %)");
  } else {
    throw r.error("metric", "unknown metric \"" + e.metric + "\"",
                  suggestion(e.metric, expectation_metrics()));
  }
  auto need_string = [&](std::string_view key, std::string& out, std::string_view example) {
    const Json& v = r.require(key, example);
    if (!v.is_string()) {
      throw r.error(key, "expected a string");
    }
    out = v.get<std::string>();
  };
  auto need_series = [&] {
    need_string("series", e.series, "\"availability\"");
    std::vector<std::string> names;
    for (const auto& o : observations) {
      names.push_back(o.name);
    }
    if (std::find(names.begin(), names.end(), e.series) == names.end()) {
      throw r.error("series", "\"" + e.series + "\" is not an observed series",
                    names.empty() ? std::string("add it to \"observations\"")
                                  : suggestion(e.series, names));
    }
  };
  if (e.kind == K::kChecker) {
    need_string("checker", e.checker, "\"linearizable\"");
    auto names = model != nullptr ? model->checkers() : std::vector<std::string>{e.checker};
    if (std::find(names.begin(), names.end(), e.checker) == names.end()) {
      throw r.error("checker", "\"" + e.checker + "\" is not a checker of this model",
                    names.empty() ? std::string("this model has no checkers")
                                  : suggestion(e.checker, names));
    }
    std::string verdict = "ok";
    r.get_choice("expect", verdict, {"ok", "violated"});
    e.expect_violation = verdict == "violated";
    r.finish();
    return e;
  }
  if (e.kind == K::kTimeToRecover) {
    need_series();
    r.get("after", e.after, {.min = Duration::zero(), .max = run});
    const Json& threshold = r.require("threshold", "0.99");
    if (!threshold.is_number()) {
      throw r.error("threshold", "expected a number", "e.g. 0.99");
    }
    e.threshold = threshold.get<double>();
    for (const auto& o : observations) {
      if (o.name == e.series &&
          (o.kind == Observation::Kind::kAvailability ||
           o.kind == Observation::Kind::kErrorRate) &&
          (e.threshold < 0.0 || e.threshold > 1.0)) {
        throw r.error("threshold",
                      fmt::format("{:g} is outside [0, 1], the range of series \"{}\"",
                                  e.threshold, e.series),
                      "write a fraction, e.g. 0.99");
      }
    }
  } else if (e.kind == K::kProbeMean) {
    need_string("probe", e.probe, "\"cpu_utilisation/api\"");
    check_probe(r, model, e.probe);
  } else if (e.kind == K::kSeriesMean) {
    need_series();
  } else {
    r.get("of", e.of);
    check_scope(r, model, e.of);
  }
  if (e.kind != K::kTimeToRecover) {
    auto w = parse_window(r, run);
    e.from = w.from;
    e.to = w.to;
  }
  e.min = parse_bound(r, "min", e.duration_valued());
  e.max = parse_bound(r, "max", e.duration_valued());
  if (!e.min && !e.max) {
    throw r.error_here("an expectation needs a bound: \"min\", \"max\" or both",
                       e.duration_valued() ? "e.g. \"max\": \"250ms\"" : "e.g. \"min\": 0.99");
  }
  // A ratio lies in [0, 1] and a rate, a duration or an amplification is never negative: a
  // bound outside that range could never pass (or never fail), so it is a typo.
  auto series_kind = [&]() -> std::optional<Observation::Kind> {
    for (const auto& o : observations) {
      if (o.name == e.series) {
        return o.kind;
      }
    }
    return std::nullopt;
  };
  const bool ratio_valued =
      e.kind == K::kAvailability || e.kind == K::kErrorRate ||
      (e.kind == K::kSeriesMean && (series_kind() == Observation::Kind::kAvailability ||
                                    series_kind() == Observation::Kind::kErrorRate));
  const bool non_negative = e.kind != K::kProbeMean && e.kind != K::kSeriesMean;
  for (const auto& [key, bound] : {std::pair{"min", e.min}, std::pair{"max", e.max}}) {
    if (!bound) {
      continue;
    }
    if (ratio_valued && (*bound < 0.0 || *bound > 1.0)) {
      throw r.error(key, fmt::format("{:g} is outside [0, 1], the range of {}", *bound, e.metric),
                    "write a fraction, e.g. 0.99 for 99 %");
    }
    if (non_negative && *bound < 0.0) {
      throw r.error(key, fmt::format("{:g} is negative, and {} never is", *bound, e.metric),
                    "use a bound of at least 0");
    }
  }
  if (e.min && e.max && *e.min > *e.max) {
    throw r.error("min", "min is greater than max, so nothing could pass",
                  "swap them or fix one of them");
  }
  r.finish();
  return e;
}

}  // namespace

std::unique_ptr<ModelInstance> ScenarioSpec::prepare_model(const ModelRegistry& registry) const {
  const ModelBinding* binding = registry.find(model);
  if (binding == nullptr) {
    auto names = registry.names();
    throw source.error("/model/name", "unknown model \"" + model + "\"", suggestion(model, names));
  }
  // The binding's readers record every bad value and read on (json_reader.hpp), so one pass
  // reports them all; what they recorded and the binding did not throw itself is thrown here.
  Source reading_source = source;
  reading_source.reading = std::make_shared<ReadContext>();
  ReadContext& reading = *reading_source.reading;
  ModelInput input;
  input.source = &reading_source;
  input.duration = duration;
  static const Json kEmptyObject = Json::object();
  const Json& m = document.at("model");
  input.params = m.contains("params") ? &m.at("params") : &kEmptyObject;
  auto section = [&](const char* key) -> const Json* {
    auto it = document.find(key);
    return it == document.end() ? nullptr : &*it;
  };
  input.topology = section("topology");
  input.workload = section("workload");
  input.client_policies = section("client_policies");
  input.faults = section("faults");
  std::unique_ptr<ModelInstance> instance;
  try {
    instance = binding->prepare(input);
  } catch (const ScenarioError& e) {
    reading.closed = true;
    reading.errors.add(e);
  }
  reading.closed = true;
  reading.errors.throw_if_any();
  if (!instance) {
    throw source.error("/model", "the binding of model \"" + model + "\" returned nothing");
  }
  return instance;
}

ScenarioSpec ScenarioFile::resolve(std::string_view variant, const std::vector<std::string>& sets,
                                   const ModelRegistry& registry, ParamCatalog& catalog) const {
  return resolve_into(variant, sets, registry, &catalog, false);
}

ScenarioSpec ScenarioFile::resolve(std::string_view variant, const std::vector<std::string>& sets,
                                   const ModelRegistry& registry) const {
  return resolve_into(variant, sets, registry, nullptr, false);
}

void ScenarioFile::validate_variant(std::string_view variant,
                                    const ModelRegistry& registry) const {
  (void)resolve_into(variant, {}, registry, nullptr, true);
}

ScenarioSpec ScenarioFile::resolve_into(std::string_view variant,
                                        const std::vector<std::string>& sets,
                                        const ModelRegistry& registry, ParamCatalog* catalog,
                                        bool build) const {
  ScenarioSpec spec;
  spec.source.catalog = catalog;
  spec.file = path_;
  spec.variant = std::string(variant);
  spec.source.file = path_;
  // Independent parts are checked one by one and every error is reported, as a compiler does;
  // a part that others depend on (the model) stops what depends on it.
  ErrorList errors;
  Json doc = raw_;
  doc.erase("variants");
  if (variant != kBaseVariant) {
    auto it = std::find_if(variants_.begin(), variants_.end(),
                           [&](const VariantDecl& v) { return v.name == variant; });
    if (it == variants_.end()) {
      auto names = variant_names();
      throw ScenarioError(path_, "/variants", "no variant named \"" + std::string(variant) + "\"",
                          suggestion(variant, names));
    }
    spec.variant_description = it->description;
    spec.source.variant = it->name;
    const Json& decl = raw_.at("variants").at(it->index);
    std::string ptr = child_pointer("/variants", it->index);
    if (decl.contains("patch")) {
      const Json& patch = decl.at("patch");
      for (const char* fixed : {"variants", "format_version"}) {
        if (patch.contains(fixed)) {
          throw ScenarioError(path_, child_pointer(ptr + "/patch", fixed),
                              std::string("a variant cannot change \"") + fixed + "\"",
                              "remove it from the patch");
        }
      }
      apply_merge_patch(doc, patch, ptr + "/patch", spec.source);
    } else {
      const Json& overrides = decl.at("overrides");
      for (const auto& item : overrides.items()) {
        errors.attempt([&] {
          apply_override(doc, item.key(), item.value(),
                         child_pointer(ptr + "/overrides", item.key()), spec.source);
        });
      }
    }
  }
  for (const auto& set : sets) {
    errors.attempt([&] {
      auto [path, value] = parse_set_argument(set);
      apply_override(doc, path, value, "--set " + path, spec.source);
    });
  }
  errors.throw_if_any();

  const Source& source = spec.source;
  ObjectReader top(doc, "", source);
  top.raw("$schema");
  errors.attempt([&] {
    const Json& version = top.require("format_version", "1");
    if (!version.is_number_integer() || version.get<std::int64_t>() != kFormatVersion) {
      throw top.error("format_version",
                      json_brief(version) + " is not a supported format version",
                      fmt::format("this faultline reads format_version {}", kFormatVersion));
    }
  });
  errors.attempt([&] {
    const Json& name = top.require("name", "\"dynamodb-2015-retry-storm\"");
    if (!name.is_string() || name.get<std::string>().empty()) {
      throw top.error("name", "the name must be a non-empty string");
    }
    spec.name = name.get<std::string>();
  });
  errors.attempt([&] {
    if (auto story = top.object("story")) {
      ErrorList story_errors;
      story_errors.attempt([&] { story->get("summary", spec.story.summary); });
      story_errors.attempt([&] { story->get("sources", spec.story.sources); });
      story_errors.attempt([&] { story->finish(); });
      story_errors.throw_if_any();
    }
  });
  spec.epoch = UtcInstant::from_civil(2020, 1, 1);
  const bool epoch_ok = errors.attempt([&] {
    if (const Json* epoch = top.raw("epoch")) {
      std::optional<UtcInstant> parsed;
      if (epoch->is_string()) {
        parsed = UtcInstant::parse(epoch->get<std::string>());
      }
      if (!parsed) {
        throw top.error("epoch", json_brief(*epoch) + " is not a UTC instant",
                        "write ISO 8601 in UTC between 1677-09-22 and 2262-04-11, e.g. "
                        "\"2015-09-20T09:00:00Z\"");
      }
      spec.epoch = *parsed;
    }
  });
  errors.attempt([&] { top.get("seed", spec.seed); });
  spec.duration = Duration::hours(1);
  const bool duration_ok = errors.attempt([&] {
    top.require("duration", "\"4h\"");
    top.get("duration", spec.duration, {.min = Duration::nanos(1)});
  });
  if (epoch_ok && duration_ok) {
    errors.attempt([&] {
      // UTC time of the run is epoch + elapsed, in int64 nanoseconds since 1970: the whole run
      // must fit (it ends before 2262-04-11).
      if (spec.epoch.unix_ns() > std::numeric_limits<std::int64_t>::max() - spec.duration.ns()) {
        throw top.error(top.has("epoch") ? "epoch" : "duration",
                        "the run would end after 2262-04-11T23:47:16Z, the last instant "
                        "faultline's 64-bit nanosecond clock can name",
                        "start the epoch earlier or shorten the duration");
      }
    });
  }
  const ModelBinding* binding = nullptr;
  errors.attempt([&] {
    auto model = top.object("model");
    if (!model) {
      top.require("model", "{\"name\": \"services\", \"params\": {...}}");
    }
    const Json& model_name = model->require("name", "\"services\"");
    if (!model_name.is_string()) {
      throw model->error("name", "the model name must be a string",
                         suggestion("", registry.names()));
    }
    spec.model = model_name.get<std::string>();
    binding = registry.find(spec.model);
    if (binding == nullptr) {
      auto names = registry.names();
      throw model->error("name", "unknown model \"" + spec.model + "\"",
                         suggestion(spec.model, names));
    }
    if (const Json* params = model->raw("params"); params != nullptr && !params->is_object()) {
      binding = nullptr;
      throw model->error("params", "expected an object of the model's parameters");
    }
    model->finish();
  });
  if (binding != nullptr) {
    for (const auto& section : kSections) {
      errors.attempt([&] {
        if (top.raw(section) != nullptr &&
            std::find(binding->sections.begin(), binding->sections.end(), section) ==
                binding->sections.end()) {
          throw top.error(section,
                          "model \"" + spec.model + "\" does not read \"" + section + "\"",
                          "remove it; the model's params hold its configuration");
        }
      });
    }
  }
  spec.document = doc;
  std::unique_ptr<ModelInstance> model;
  if (binding != nullptr && duration_ok) {
    errors.attempt([&] { model = spec.prepare_model(registry); });
  }

  // Observations and expectations name the model's scopes, probes and checkers: without a
  // model those names go unchecked, everything else still is.
  top.raw("variants");
  top.raw("swarm");  // read by sweeps (src/cli/swarm.hpp); a run has every fault
  resolve_measures(top, model.get(), spec, errors);
  errors.attempt([&] { top.finish(); });
  if (build && model && epoch_ok && duration_ok) {
    // Everything `run` checks before the first event: building the world and its fault
    // timeline (targets that name no node or zone), in a throwaway simulation.
    errors.attempt([&] { check_startable(spec, registry); });
  }
  errors.throw_if_any();

  Json canonical = doc;
  canonical.erase("seed");
  spec.config_hash = fnv1a64(canonical.dump());
  spec.source.catalog = nullptr;
  return spec;
}

void ScenarioFile::resolve_measures(ObjectReader& top, const ModelInstance* model,
                                    ScenarioSpec& spec, ErrorList& errors) const {
  const Source& source = spec.source;
  const std::size_t errors_before = errors.size();  // a key_series may name a broken series
  std::vector<std::string> broken;  // names of observations that did not parse
  const Json* obs = nullptr;
  errors.attempt([&] { obs = top.array("observations"); });
  if (obs != nullptr) {
    for (std::size_t i = 0; i < obs->size(); ++i) {
      const Json& raw_obs = (*obs)[i];
      if (raw_obs.is_object() && raw_obs.contains("name") && raw_obs["name"].is_string()) {
        broken.push_back(raw_obs["name"].get<std::string>());  // removed below if it parses
      }
      errors.attempt([&] {
        Observation o = parse_observation((*obs)[i], child_pointer("/observations", i), source,
                                          model, spec.duration);
        for (const auto& earlier : spec.observations) {
          if (earlier.name == o.name) {
            throw source.error(child_pointer(child_pointer("/observations", i), "name"),
                               "observation \"" + o.name + "\" is defined twice",
                               "give each series its own name");
          }
        }
        broken.erase(std::remove(broken.begin(), broken.end(), o.name), broken.end());
        spec.observations.push_back(std::move(o));
      });
    }
  }
  if (const Json* key = top.raw("key_series")) {
    errors.attempt([&] {
      if (!key->is_string()) {
        throw top.error("key_series", "expected a string naming an observation");
      }
      spec.key_series = key->get<std::string>();
      std::vector<std::string> names;
      for (const auto& o : spec.observations) {
        names.push_back(o.name);
      }
      if (std::find(names.begin(), names.end(), spec.key_series) == names.end() &&
          errors_before == 0) {
        throw top.error("key_series", "\"" + spec.key_series + "\" is not an observed series",
                        suggestion(spec.key_series, names));
      }
    });
  } else if (!spec.observations.empty()) {
    spec.key_series = spec.observations.front().name;
  }
  auto variants = variant_names();
  const Json* exps = nullptr;
  errors.attempt([&] { exps = top.array("expectations"); });
  if (exps != nullptr) {
    for (std::size_t i = 0; i < exps->size(); ++i) {
      try {
        Expectation e = parse_expectation((*exps)[i], child_pointer("/expectations", i), source,
                                          model, spec.duration, variants, spec.observations);
        if (e.applies_to(spec.variant)) {
          spec.expectations.push_back(std::move(e));
        }
      } catch (const ScenarioError& e) {
        // A series that is missing only because its observation is broken repeats that error.
        const Json& x = (*exps)[i];
        const bool cascade = e.pointer().size() >= 7 &&
                             e.pointer().compare(e.pointer().size() - 7, 7, "/series") == 0 &&
                             x.is_object() && x.contains("series") && x["series"].is_string() &&
                             std::find(broken.begin(), broken.end(),
                                       x["series"].get<std::string>()) != broken.end();
        if (!cascade) {
          errors.add(e);
        }
      }
    }
  }
}

void start_model(ModelInstance& model, Simulation& sim, const ScenarioSpec& spec) {
  try {
    model.start(sim);
  } catch (const ScenarioError&) {
    throw;
  } catch (const std::invalid_argument& e) {
    // The world and the models check what their builders are given; what they reject is
    // still the scenario's input.
    throw spec.source.error("/model", std::string("the model cannot be built: ") + e.what(),
                            "fix the parameter it names");
  }
}

void check_startable(const ScenarioSpec& spec, const ModelRegistry& registry) {
  Simulation sim({.seed = spec.seed, .epoch = spec.epoch});
  auto model = spec.prepare_model(registry);
  start_model(*model, sim, spec);
}

namespace {

// An error a variant inherits from the base is the base's error: report it once.
std::string error_key(const ScenarioError& e) {
  std::string problem = e.problem();
  if (auto at = problem.rfind(" (in variant \""); at != std::string::npos) {
    problem.resize(at);
  }
  return e.pointer() + "\n" + problem;
}

}  // namespace

void validate_file(const ScenarioFile& file, const ModelRegistry& registry) {
  ErrorList errors;
  std::set<std::string> seen;
  for (const auto& variant : file.variant_names()) {
    try {
      file.validate_variant(variant, registry);
    } catch (const ScenarioError& e) {
      for (const auto& one : each_error(e)) {
        if (seen.insert(error_key(one)).second) {
          errors.add(one);
        }
      }
    }
  }
  errors.throw_if_any();
}

}  // namespace faultline::scenario
