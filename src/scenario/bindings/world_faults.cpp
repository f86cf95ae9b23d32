#include "world_faults.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace faultline::scenario::bindings {
namespace {

const std::vector<std::string>& fault_kinds() {
  static const std::vector<std::string> kinds = {
      "crash", "restart", "pause", "resume", "partition", "heal", "clog", "unclog", "latency",
      "packet-loss", "clock-jump", "clock-set", "clock-drift", "disk-faults", "cpu-stall"};
  return kinds;
}

world::Target parse_target(ObjectReader& r, std::string_view key,
                           const std::vector<std::string>& groups) {
  world::Target t;
  const Json* v = r.raw(key);
  if (v == nullptr) {
    return t;  // all
  }
  if (!v->is_string()) {
    throw r.error(key, json_brief(*v) + " is not a target",
                  "write \"all\" or kind:name, e.g. \"group:tier/api\", \"host:h3\"");
  }
  std::string text = v->get<std::string>();
  if (text == "all") {
    return t;
  }
  auto colon = text.find(':');
  std::optional<world::TargetKind> kind;
  if (colon != std::string::npos) {
    kind = world::parse_target_kind(text.substr(0, colon));
  }
  if (!kind || colon + 1 >= text.size()) {
    throw r.error(key, "\"" + text + "\" is not a target",
                  "write \"all\" or kind:name with kind one of node, group, host, zone, region "
                  "(e.g. \"group:tier/api\")");
  }
  t.kind = *kind;
  t.name = text.substr(colon + 1);
  if (t.kind == world::TargetKind::kGroup && !groups.empty() &&
      std::find(groups.begin(), groups.end(), t.name) == groups.end()) {
    throw r.error(key, "no node group \"" + t.name + "\" in this model",
                  suggestion(t.name, groups));
  }
  return t;
}

world::Ratio parse_ratio(ObjectReader& r, std::string_view key) {
  world::Ratio ratio;
  double p = 0.0;
  r.get(key, p, {.min = 0.0, .max = 1.0});
  // Probabilities become exact integer ratios in millionths.
  ratio.num = static_cast<std::uint64_t>(std::llround(p * 1e6));
  ratio.den = 1'000'000;
  if (p > 0.0 && ratio.num == 0) {
    throw r.error(key, fmt::format("{:g} is below the resolution of fault ratios", p),
                  "ratios are counted in millionths: use 0 for never or at least 0.000001");
  }
  return ratio;
}

}  // namespace

FaultPlan parse_faults(const Json* faults, const Source& source, Duration duration,
                       const std::vector<std::string>& groups) {
  FaultPlan plan;
  plan.source = source;
  if (faults == nullptr) {
    return plan;
  }
  if (!faults->is_array()) {
    throw source.error("/faults", "expected an array of faults, found " + json_type_name(*faults),
                       "write \"faults\": [{\"kind\": \"crash\", \"at\": \"10s\", ...}]");
  }
  for (std::size_t i = 0; i < faults->size(); ++i) {
    ObjectReader r((*faults)[i], child_pointer("/faults", i), source);
    world::FaultSpec spec;
    std::string kind;
    const Json& k = r.require("kind", "\"crash\"");
    if (!k.is_string()) {
      throw r.error("kind", "expected a string", suggestion("", fault_kinds()));
    }
    kind = k.get<std::string>();
    auto parsed = world::parse_fault_kind(kind);
    if (!parsed) {
      throw r.error("kind", "unknown fault kind \"" + kind + "\"", suggestion(kind, fault_kinds()));
    }
    spec.kind = *parsed;
    spec.target = parse_target(r, "target", groups);
    spec.peer = parse_target(r, "peer", groups);
    r.get("for", spec.duration, {.min = Duration::zero()});
    r.get("one_way", spec.one_way);
    r.get("amount", spec.amount);
    r.get("ppm", spec.ppm);
    spec.ratio = parse_ratio(r, "ratio");
    if (spec.kind == world::FaultKind::kPacketLoss && spec.ratio.num == 0) {
      throw r.error("ratio", "a packet-loss fault needs a ratio above 0",
                    "give the fraction of packets lost, e.g. \"ratio\": 0.1");
    }
    spec.torn = parse_ratio(r, "torn");
    if (r.has("hits_in_flight")) {
      bool hits = true;
      r.get("hits_in_flight", hits);
      spec.hits_in_flight = hits;
    }
    if (r.has("mean_interval")) {
      world::RandomFaultSpec random;
      random.kind = spec.kind;
      random.scope = spec.target;
      random.shape = spec;
      r.get("mean_interval", random.mean_interval, {.min = Duration::nanos(1)});
      if (duration / random.mean_interval > kMaxRandomFaultsPerRun) {
        throw r.error("mean_interval",
                      fmt::format("\"{}\" over a {} run would inject about {} faults, more than "
                                  "the {} a run may schedule",
                                  random.mean_interval.to_string(), duration.to_string(),
                                  duration / random.mean_interval, kMaxRandomFaultsPerRun),
                      "use a mean interval of at least " +
                          Duration::nanos(duration.ns() / kMaxRandomFaultsPerRun + 1).to_string());
      }
      std::string pick = "node";
      r.get_choice("pick", pick, {"node", "host", "zone", "region"});
      random.pick = *world::parse_target_kind(pick);
      r.get("start", random.start, {.min = Duration::zero(), .max = duration});
      r.get("end", random.end, {.min = Duration::zero()});
      r.finish();
      try {
        random.validate();
      } catch (const std::invalid_argument& e) {
        throw r.error_here(e.what());
      }
      plan.random.push_back(std::move(random));
      plan.random_pointers.push_back(r.pointer());
      continue;
    }
    r.require("at", "\"20s\"");
    r.get("at", spec.at, {.min = Duration::zero(), .max = duration});
    r.finish();
    try {
      spec.validate();
    } catch (const std::invalid_argument& e) {
      throw r.error_here(e.what());
    }
    plan.scheduled.push_back(std::move(spec));
    plan.scheduled_pointers.push_back(r.pointer());
  }
  return plan;
}

void schedule_faults(world::FaultInjector& injector, const FaultPlan& plan) {
  auto guarded = [&](const std::string& pointer, auto&& schedule) {
    try {
      schedule();
    } catch (const std::invalid_argument& e) {
      throw plan.source.error(child_pointer(pointer, "target"), e.what(),
                              "name a node, host, zone or region the model creates");
    }
  };
  for (std::size_t i = 0; i < plan.scheduled.size(); ++i) {
    guarded(plan.scheduled_pointers[i], [&] { injector.schedule(plan.scheduled[i]); });
  }
  for (std::size_t i = 0; i < plan.random.size(); ++i) {
    guarded(plan.random_pointers[i], [&] { injector.add_random(plan.random[i]); });
  }
}

void check_request_count(const ObjectReader& r, std::string_view key, double rate_per_s,
                         Duration run) {
  const double requests = rate_per_s * run.to_seconds();
  if (requests > kMaxRequestsPerClient) {
    throw r.error(key,
                  fmt::format("{:g} per second over a {} run is {:.3g} requests, more than the "
                              "{:g} one client may issue in a run (memory and time grow with it)",
                              rate_per_s, run.to_string(), requests, kMaxRequestsPerClient),
                  fmt::format("lower the rate to at most {:.4g} per second or shorten the run",
                              kMaxRequestsPerClient / run.to_seconds()));
  }
}

void check_sample_count(const ObjectReader& r, std::string_view key, Duration every,
                        Duration run) {
  if (run / every > kMaxSamplesPerRun) {
    throw r.error(key,
                  fmt::format("\"{}\" over a {} run would take {} samples, more than the {} a "
                              "run may keep",
                              every.to_string(), run.to_string(), run / every, kMaxSamplesPerRun),
                  "sample at least every " +
                      Duration::nanos(run.ns() / kMaxSamplesPerRun + 1).to_string());
  }
}

ScenarioError params_error(const std::string& message, const std::string& base_pointer,
                           const Source& source) {
  auto colon = message.find(": ");
  if (colon == std::string::npos) {
    return source.error(base_pointer, message);
  }
  std::string field = message.substr(0, colon);
  std::string rest = message.substr(colon + 2);
  std::string fix;
  if (auto semi = rest.find("; "); semi != std::string::npos) {
    fix = rest.substr(semi + 2);
    rest = rest.substr(0, semi);
  }
  if (field.rfind("services.", 0) == 0) {
    field = field.substr(9);
  }
  std::string pointer = base_pointer;
  std::string token;
  auto flush = [&] {
    if (!token.empty()) {
      pointer = child_pointer(pointer, token);
      token.clear();
    }
  };
  for (char c : field) {
    if (c == '.' || c == '[') {
      flush();
    } else if (c == ']') {
      flush();
    } else {
      token += c;
    }
  }
  flush();
  return source.error(pointer, rest, fix);
}

void read_smear(ObjectReader& r, world::SmearParams& out) {
  r.get("before", out.before, {.min = Duration::zero()},
        "the smear starts this long before the midnight after 23:59:60");
  r.get("after", out.after, {.min = Duration::zero()},
        "the smear ends this long after that midnight");
  std::string shape(world::to_string(out.shape));
  r.get_choice("shape", shape, {"linear", "cosine"},
               "linear (Google since 2016, AWS) or cosine (Google 2008-2012: the lie grows as "
               "(1 - cos(pi t / w)) / 2, model-facts §1.2)");
  out.shape = *world::parse_smear_shape(shape);
  r.finish();
  try {
    out.validate("smear");
  } catch (const std::invalid_argument& e) {
    r.report(r.error_here(e.what(), "fix the smear window"));
  }
}

void read_timed_wait_threads(ObjectReader& r, int& threads, Duration& wait, Duration& cpu_slice,
                             int max_threads, Doc threads_doc, Doc slice_doc) {
  r.get("timed_wait_threads", threads, {.min = 0, .max = static_cast<double>(max_threads)},
        threads_doc);
  r.get("timed_wait", wait, {.min = Duration::nanos(1)},
        "length of each absolute timed wait of those threads (under 1 s to be hit by the 2012 "
        "bug)");
  r.get("cpu_slice", cpu_slice, {.min = Duration::zero()}, slice_doc);
}

void read_clock(ObjectReader& r, world::ClockParams& out) {
  r.get("initial_offset", out.initial_offset, {},
        "host clock offset from true time at the start of the run");
  r.get("drift_ppm", out.drift_ppm, {.min = -1e5, .max = 1e5},
        "frequency error of the host's oscillator, µs per s (ppm)");
  r.get("ntp_enabled", out.ntp_enabled, "an NTP daemon disciplines the clock");
  r.get("ntp_poll_interval", out.ntp_poll_interval, {.min = Duration::nanos(1)},
        "how often NTP polls its server (ntpd's default minimum: 64 s)");
  std::string correction(world::to_string(out.ntp_correction));
  r.get_choice("ntp_correction", correction, {"step", "slew", "step-or-slew"},
               "how NTP corrects an offset: step the clock, slew it, or step above "
               "ntp_step_threshold");
  out.ntp_correction = *world::parse_ntp_correction(correction);
  r.get("ntp_step_threshold", out.ntp_step_threshold, {.min = Duration::zero()},
        "offsets above this are stepped, below slewed (ntpd: 128 ms)");
  r.get("ntp_max_slew_ppm", out.ntp_max_slew_ppm, {.min = 0.0, .max = 1e5},
        "fastest NTP slew, µs per s (500 ppm, model-facts §1.2)");
  std::string leap(world::to_string(out.leap_mode));
  r.get_choice("leap_mode", leap, {"none", "step", "smear", "kernel-2012"},
               "how a leap second reaches the host: ignored, a step, a smear, or the 2012 Linux "
               "kernel bug");
  out.leap_mode = *world::parse_leap_mode(leap);
  if (auto s = r.object("smear", "the smear window around the leap second's midnight")) {
    read_smear(*s, out.smear);
  }
  r.get("timed_wait_cost", out.timed_wait_cost, {.min = Duration::zero()},
        "CPU cost of one wake-up of an absolute timed wait (the 2012 futex livelock)");
  r.finish();
  try {
    out.validate();
  } catch (const std::invalid_argument& e) {
    throw r.error_here(e.what(), "fix the clock parameters");
  }
}

void read_leap_seconds(ObjectReader& r, std::string_view key, std::vector<UtcInstant>& out) {
  std::vector<std::string> texts;
  r.get(key, texts,
        "inserted leap seconds, each named by the UTC midnight after it "
        "(\"2012-07-01T00:00:00Z\")");
  if (!r.has(key)) {
    return;
  }
  out.clear();
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const auto t = UtcInstant::parse(texts[i]);
    if (!t) {
      throw r.source().error(child_pointer(r.pointer(key), i),
                             fmt::format("\"{}\" is not a UTC instant", texts[i]),
                             "name each leap second by the midnight after it, e.g. "
                             "\"2012-07-01T00:00:00Z\" for 2012-06-30T23:59:60Z");
    }
    out.push_back(*t);
  }
}

}  // namespace faultline::scenario::bindings
