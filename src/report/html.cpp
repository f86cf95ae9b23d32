// The HTML report: the page's data from results and specs, and the page around it.
#include <faultline/report/html.hpp>

#include <algorithm>
#include <cmath>
#include <set>

namespace faultline::report {
namespace {

using nlohmann::json;

json seconds_or_null(const std::optional<Duration>& d) {
  return d ? json(d->to_seconds()) : json(nullptr);
}

json optional_number(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

std::string observation_label(const scenario::Observation& o) {
  using K = scenario::Observation::Kind;
  std::string what;
  switch (o.kind) {
    case K::kAvailability: what = "availability"; break;
    case K::kErrorRate: what = "error rate"; break;
    case K::kThroughput: what = "throughput (successes/s)"; break;
    case K::kRequestRate: what = "request rate (requests/s)"; break;
    case K::kRetryAmplification: what = "attempts per request"; break;
    case K::kProbe: what = "probe " + o.probe; break;
  }
  if (!o.of.empty()) {
    what += " of " + o.of;
  }
  return what + ", every " + o.every.to_string();
}

// The observation an expectation's bound can be drawn on, or "" when none measures the same
// quantity (latency percentiles, checker verdicts, scopes nobody observes).
std::string plot_of(const scenario::Expectation& e,
                    const std::vector<scenario::Observation>& observations) {
  using EK = scenario::Expectation::Kind;
  using OK = scenario::Observation::Kind;
  for (const auto& o : observations) {
    bool match = false;
    switch (e.kind) {
      case EK::kAvailability: match = o.kind == OK::kAvailability && o.of == e.of; break;
      case EK::kErrorRate: match = o.kind == OK::kErrorRate && o.of == e.of; break;
      case EK::kThroughput: match = o.kind == OK::kThroughput && o.of == e.of; break;
      case EK::kRetryAmplification:
        match = o.kind == OK::kRetryAmplification && o.of == e.of;
        break;
      case EK::kProbeMean: match = o.kind == OK::kProbe && o.probe == e.probe; break;
      case EK::kSeriesMean:
      case EK::kTimeToRecover: match = o.name == e.series; break;
      case EK::kLatency:
      case EK::kChecker: break;
    }
    if (match) {
      return o.name;
    }
  }
  return {};
}

// Reduces a series to at most kMaxPointsPerSeries points: each bucket keeps its first sample
// and its minimum and maximum (in time order), so a spike or a dip is never smoothed away.
json downsample(const json& samples, bool& reduced) {
  reduced = samples.size() > kMaxPointsPerSeries;
  if (!reduced) {
    return samples;
  }
  const std::size_t buckets = kMaxPointsPerSeries / 3;
  const std::size_t n = samples.size();
  json out = json::array();
  for (std::size_t b = 0; b < buckets; ++b) {
    const std::size_t lo = b * n / buckets;
    const std::size_t hi = (b + 1) * n / buckets;
    if (lo >= hi) {
      continue;
    }
    std::size_t imin = lo;
    std::size_t imax = lo;
    for (std::size_t i = lo; i < hi; ++i) {
      const auto& v = samples[i][1];
      if (!v.is_number()) {
        continue;
      }
      if (!samples[imin][1].is_number() || v.get<double>() < samples[imin][1].get<double>()) {
        imin = i;
      }
      if (!samples[imax][1].is_number() || v.get<double>() > samples[imax][1].get<double>()) {
        imax = i;
      }
    }
    std::set<std::size_t> keep = {lo, imin, imax};
    for (std::size_t i : keep) {
      out.push_back(samples[i]);
    }
  }
  return out;
}

std::string fault_label(const json& f) {
  std::string label = f.value("kind", std::string("fault"));
  if (f.contains("target") && f["target"].is_string()) {
    label += " " + f["target"].get<std::string>();
  }
  if (f.contains("peer") && f["peer"].is_string()) {
    label += " ↔ " + f["peer"].get<std::string>();
  }
  if (f.contains("amount") && f["amount"].is_string()) {
    label += " +" + f["amount"].get<std::string>();
  }
  return label;
}

// JSON inside <script>: "<" only occurs inside strings, where \u003c means the same, so no
// "</script>" or "<!--" in a story or a name can end the element early.
std::string script_safe(const json& j) {
  std::string text = j.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '<') {
      out += "\\u003c";
    } else {
      out += c;
    }
  }
  return out;
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string page(const std::string& title, const json& data, const char* script) {
  const auto& a = web_assets();
  std::string out;
  out += "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += "<meta name=\"generator\" content=\"faultline (uPlot " + std::string(a.uplot_version) +
         ")\">\n";
  out += "<title>" + html_escape(title) + "</title>\n";
  out += "<style>\n" + std::string(a.uplot_css) + "\n</style>\n";
  out += "<style>\n" + std::string(a.report_css) + "\n</style>\n";
  out += "</head>\n<body>\n<div id=\"app\"><noscript>This report draws its plots with "
         "JavaScript; the data is in the element #faultline-data.</noscript></div>\n";
  // The first script catches errors of every later one, so a broken page says so on screen
  // (and the browser test sees it).
  out += "<script>window.faultlineErrors=[];window.addEventListener('error',function(e){"
         "window.faultlineErrors.push(String(e.message||e));});</script>\n";
  out += "<script type=\"application/json\" id=\"faultline-data\">" + script_safe(data) +
         "</script>\n";
  out += "<script>\n" + std::string(a.uplot_js) + "\n</script>\n";
  out += "<script>\n" + std::string(a.dom_js) + "\n</script>\n";
  out += "<script>\n" + std::string(script) + "\n</script>\n";
  out += "</body>\n</html>\n";
  return out;
}

}  // namespace

json run_page_data(const RunPageInput& input) {
  if (input.specs.size() != input.runs.size() || input.specs.empty()) {
    throw std::invalid_argument("run_page_data: one spec per run, at least one run");
  }
  const auto& base = input.specs.front();
  json d;
  d["kind"] = "run";
  d["uplot_version"] = web_assets().uplot_version;
  d["scenario"] = base.name;
  d["file"] = base.file;
  d["model"] = base.model;
  d["epoch"] = base.epoch.to_string();
  d["duration_s"] = base.duration.to_seconds();
  d["story"] = {{"summary", base.story.summary}, {"sources", base.story.sources}};
  d["key_series"] = base.key_series;

  d["variants"] = json::array();
  for (std::size_t i = 0; i < input.runs.size(); ++i) {
    const auto& r = input.runs[i];
    const auto& s = input.specs[i];
    json v;
    for (const char* k : {"variant", "seed", "config_hash", "trace_hash", "trace_records",
                          "events", "ok", "reproduce", "key", "duration"}) {
      if (r.contains(k)) {
        v[k] = r[k];
      }
    }
    v["name"] = s.variant;
    v["description"] = s.variant_description;
    d["variants"].push_back(std::move(v));
  }

  // Observations in the base's order, then any a variant adds.
  d["observations"] = json::array();
  std::set<std::string> seen_obs;
  std::vector<scenario::Observation> all_obs;
  for (const auto& s : input.specs) {
    for (const auto& o : s.observations) {
      if (seen_obs.insert(o.name).second) {
        all_obs.push_back(o);
        d["observations"].push_back({{"name", o.name}, {"label", observation_label(o)},
                                     {"every_s", o.every.to_seconds()}});
      }
    }
  }

  // Series per observation and variant, reduced when long.
  d["series"] = json::object();
  d["downsampled"] = json::array();
  for (std::size_t i = 0; i < input.runs.size(); ++i) {
    const auto& r = input.runs[i];
    if (!r.contains("series")) {
      continue;
    }
    for (const auto& [name, samples] : r["series"].items()) {
      bool reduced = false;
      d["series"][name][input.specs[i].variant] = downsample(samples, reduced);
      if (reduced) {
        d["downsampled"].push_back({{"series", name},
                                    {"variant", input.specs[i].variant},
                                    {"points", samples.size()},
                                    {"drawn", d["series"][name][input.specs[i].variant].size()}});
      }
    }
  }

  // Expectations, one entry per place in the file, with each variant's verdict.
  d["expectations"] = json::array();
  std::map<std::string, std::size_t> by_pointer;
  for (std::size_t i = 0; i < input.specs.size(); ++i) {
    const auto& s = input.specs[i];
    const auto& results = input.runs[i].value("expectations", json::array());
    for (std::size_t k = 0; k < s.expectations.size(); ++k) {
      const auto& e = s.expectations[k];
      auto [it, fresh] = by_pointer.emplace(e.pointer, d["expectations"].size());
      if (fresh) {
        json x;
        x["pointer"] = e.pointer;
        x["metric"] = e.metric;
        x["description"] = e.describe();
        if (e.kind == scenario::Expectation::Kind::kTimeToRecover) {
          x["from_s"] = e.after.to_seconds();
          x["to_s"] = e.max ? json(e.after.to_seconds() + *e.max) : json(nullptr);
          x["threshold"] = e.threshold;
          x["min"] = nullptr;
          x["max"] = nullptr;
        } else {
          x["from_s"] = e.from.to_seconds();
          x["to_s"] = seconds_or_null(e.to);
          x["min"] = optional_number(e.min);
          x["max"] = optional_number(e.max);
        }
        x["duration_valued"] = e.duration_valued();
        x["plot"] = plot_of(e, all_obs);
        x["results"] = json::object();
        d["expectations"].push_back(std::move(x));
      }
      json verdict = {{"ok", false}, {"measured", "not evaluated"}, {"bound", ""}};
      if (k < results.size()) {
        verdict = {{"ok", results[k].value("ok", false)},
                   {"measured", results[k].value("measured", std::string())},
                   {"bound", results[k].value("bound", std::string())}};
      }
      d["expectations"][it->second]["results"][s.variant] = std::move(verdict);
    }
  }

  // Declared faults, each with the variants that have it (variants may patch faults away).
  d["faults"] = json::array();
  std::map<std::string, std::size_t> by_fault;
  for (const auto& s : input.specs) {
    if (!s.document.contains("faults") || !s.document["faults"].is_array()) {
      continue;
    }
    for (const auto& f : s.document["faults"]) {
      auto [it, fresh] = by_fault.emplace(f.dump(), d["faults"].size());
      if (fresh) {
        json x;
        x["label"] = fault_label(f);
        x["kind"] = f.value("kind", std::string());
        std::optional<Duration> at;
        std::optional<Duration> length;
        if (f.contains("at") && f["at"].is_string()) {
          at = Duration::parse(f["at"].get<std::string>());
        }
        if (f.contains("for") && f["for"].is_string()) {
          length = Duration::parse(f["for"].get<std::string>());
        }
        x["at_s"] = seconds_or_null(at);
        x["for_s"] = seconds_or_null(length);
        x["spec"] = f;
        x["variants"] = json::array();
        d["faults"].push_back(std::move(x));
      }
      d["faults"][it->second]["variants"].push_back(s.variant);
    }
  }
  d["diagram"] = input.diagram.is_null() ? json{{"missing", "no diagram was recorded"}}
                                         : input.diagram;
  return d;
}

std::string render_run_page(const RunPageInput& input) {
  json data = run_page_data(input);
  return page("faultline · " + input.specs.front().name, data, web_assets().report_js);
}

json sweep_page_data(const json& results, const SweepErrors& errors) {
  json d;
  d["kind"] = "sweep";
  d["uplot_version"] = web_assets().uplot_version;
  d["variants"] = json::array();
  std::map<std::string, std::size_t> index;
  std::set<std::uint64_t> seeds;
  auto variant_entry = [&](const std::string& name) -> json& {
    auto [it, fresh] = index.emplace(name, d["variants"].size());
    if (fresh) {
      d["variants"].push_back({{"name", name}, {"runs", json::object()}});
    }
    return d["variants"][it->second];
  };
  for (const auto& r : results.value("runs", json::array())) {
    d["scenario"] = r.value("scenario", std::string());
    d["file"] = r.value("file", std::string());
    const auto seed = r.value("seed", std::uint64_t{0});
    seeds.insert(seed);
    json cell;
    cell["ok"] = r.value("ok", false);
    cell["reproduce"] = r.value("reproduce", std::string());
    cell["trace_hash"] = r.value("trace_hash", std::string());
    if (r.contains("key") && r["key"].contains("availability")) {
      cell["availability"] = r["key"]["availability"];
    }
    cell["failed"] = json::array();
    for (const auto& e : r.value("expectations", json::array())) {
      if (!e.value("ok", false)) {
        cell["failed"].push_back(e.value("description", std::string()) + " " +
                                 e.value("bound", std::string()) + ", measured " +
                                 e.value("measured", std::string()));
      }
    }
    variant_entry(r.value("variant", std::string()))["runs"][std::to_string(seed)] = cell;
  }
  for (const auto& [variant, list] : errors) {
    for (const auto& [seed, message] : list) {
      seeds.insert(seed);
      variant_entry(variant)["runs"][std::to_string(seed)] = {
          {"ok", false}, {"error", message}, {"failed", json::array()}};
    }
  }
  d["seeds"] = json::array();
  for (auto s : seeds) {
    d["seeds"].push_back(s);
  }
  return d;
}

std::string render_sweep_page(const json& results, const SweepErrors& errors) {
  json data = sweep_page_data(results, errors);
  return page("faultline sweep · " + data.value("scenario", std::string("(no runs)")), data,
              web_assets().sweep_js);
}

}  // namespace faultline::report
