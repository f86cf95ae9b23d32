#include "run_result_codec.hpp"

#include <nlohmann/json.hpp>

#include <stdexcept>

namespace faultline::cli {
namespace {

using nlohmann::json;

json encode_key(const scenario::KeyMetrics& k) {
  json populations = json::array();
  for (const auto& p : k.populations) {
    populations.push_back(json::array({p.name, p.requests, p.availability}));
  }
  return json::array({k.population,      k.requests,       k.successes,     k.attempts,
          k.availability,    k.retry_amplification, k.throughput_per_s,
          k.latency_p50.ns(), k.latency_p99.ns(), populations});
}

scenario::KeyMetrics decode_key(const json& j) {
  scenario::KeyMetrics k;
  k.population = j.at(0).get<std::string>();
  k.requests = j.at(1).get<std::uint64_t>();
  k.successes = j.at(2).get<std::uint64_t>();
  k.attempts = j.at(3).get<std::uint64_t>();
  k.availability = j.at(4).get<double>();
  k.retry_amplification = j.at(5).get<double>();
  k.throughput_per_s = j.at(6).get<double>();
  k.latency_p50 = Duration::nanos(j.at(7).get<std::int64_t>());
  k.latency_p99 = Duration::nanos(j.at(8).get<std::int64_t>());
  for (const auto& p : j.at(9)) {
    k.populations.push_back(
        {p.at(0).get<std::string>(), p.at(1).get<std::uint64_t>(), p.at(2).get<double>()});
  }
  return k;
}

}  // namespace

std::vector<std::uint8_t> encode_run_result(const scenario::RunResult& run) {
  json series = json::array();
  for (const auto& s : run.series) {
    json samples = json::array();
    for (const auto& sample : s.samples) {
      samples.push_back(json::array({sample.time.ns(), sample.value}));
    }
    series.push_back(json::array({s.name, samples}));
  }
  json expectations = json::array();
  for (const auto& e : run.expectations) {
    expectations.push_back(
        json::array({e.name, e.description, e.bound, e.measured, e.value, e.evidence, e.ok}));
  }
  auto pairs = [](const std::vector<std::pair<std::string, std::uint64_t>>& list) {
    json out = json::array();
    for (const auto& [name, n] : list) {
      out.push_back(json::array({name, n}));
    }
    return out;
  };
  json j = json::array({run.file,          run.scenario,      run.variant,       run.seed,
            run.config_hash,   run.trace_hash,    run.trace_records, run.events,
            run.duration.ns(), encode_key(run.key), run.key_series,  series,
            expectations, pairs(run.faults_fired), pairs(run.probes)});
  return json::to_cbor(j);
}

scenario::RunResult decode_run_result(const std::vector<std::uint8_t>& bytes) {
  try {
    const json j = json::from_cbor(bytes);
    scenario::RunResult run;
    run.file = j.at(0).get<std::string>();
    run.scenario = j.at(1).get<std::string>();
    run.variant = j.at(2).get<std::string>();
    run.seed = j.at(3).get<std::uint64_t>();
    run.config_hash = j.at(4).get<std::uint64_t>();
    run.trace_hash = j.at(5).get<std::uint64_t>();
    run.trace_records = j.at(6).get<std::uint64_t>();
    run.events = j.at(7).get<std::uint64_t>();
    run.duration = Duration::nanos(j.at(8).get<std::int64_t>());
    run.key = decode_key(j.at(9));
    run.key_series = j.at(10).get<std::string>();
    for (const auto& s : j.at(11)) {
      scenario::SeriesResult series{s.at(0).get<std::string>(), {}};
      for (const auto& sample : s.at(1)) {
        series.samples.push_back(
            {Time::from_ns(sample.at(0).get<std::int64_t>()), sample.at(1).get<double>()});
      }
      run.series.push_back(std::move(series));
    }
    for (const auto& e : j.at(12)) {
      scenario::ExpectationResult r;
      r.name = e.at(0).get<std::string>();
      r.description = e.at(1).get<std::string>();
      r.bound = e.at(2).get<std::string>();
      r.measured = e.at(3).get<std::string>();
      r.value = e.at(4).get<double>();
      r.evidence = e.at(5).get<std::string>();
      r.ok = e.at(6).get<bool>();
      run.expectations.push_back(std::move(r));
    }
    for (const auto& p : j.at(13)) {
      run.faults_fired.emplace_back(p.at(0).get<std::string>(), p.at(1).get<std::uint64_t>());
    }
    for (const auto& p : j.at(14)) {
      run.probes.emplace_back(p.at(0).get<std::string>(), p.at(1).get<std::uint64_t>());
    }
    return run;
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(std::string("a sweep rank sent a malformed result: ") + e.what());
  }
}

}  // namespace faultline::cli
