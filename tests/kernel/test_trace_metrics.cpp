#include <faultline/metrics.hpp>
#include <faultline/simulation.hpp>
#include <faultline/trace.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <sstream>

using namespace faultline;
using namespace faultline::literals;

TEST_CASE("trace: the rolling hash depends on every part of every record", "[kernel][trace]") {
  auto hash_of = [](auto&& fill) {
    Trace t;
    fill(t);
    return t.hash();
  };
  const auto base = hash_of([](Trace& t) {
    t.record(Time::zero() + 1_ms, "net", "deliver", {{"from", 1}, {"to", 2}});
  });
  CHECK(base == hash_of([](Trace& t) {
          t.record(Time::zero() + 1_ms, "net", "deliver", {{"from", 1}, {"to", 2}});
        }));
  CHECK(base != hash_of([](Trace& t) {
          t.record(Time::zero() + 2_ms, "net", "deliver", {{"from", 1}, {"to", 2}});
        }));
  CHECK(base != hash_of([](Trace& t) {
          t.record(Time::zero() + 1_ms, "cpu", "deliver", {{"from", 1}, {"to", 2}});
        }));
  CHECK(base != hash_of([](Trace& t) {
          t.record(Time::zero() + 1_ms, "net", "drop", {{"from", 1}, {"to", 2}});
        }));
  CHECK(base != hash_of([](Trace& t) {
          t.record(Time::zero() + 1_ms, "net", "deliver", {{"from", 2}, {"to", 1}});
        }));
  CHECK(base != hash_of([](Trace& t) {
          t.record(Time::zero() + 1_ms, "net", "deliver", {{"from", 1}, {"to", "2"}});
        }));
  // Order of records matters.
  const auto ab = hash_of([](Trace& t) {
    t.record(Time::zero(), "x", "a");
    t.record(Time::zero(), "x", "b");
  });
  const auto ba = hash_of([](Trace& t) {
    t.record(Time::zero(), "x", "b");
    t.record(Time::zero(), "x", "a");
  });
  CHECK(ab != ba);
}

TEST_CASE("trace: JSON lines are one escaped object per record", "[kernel][trace]") {
  std::ostringstream out;
  JsonLinesTraceSink sink(out);
  Trace t;
  t.attach(&sink);
  t.record(Time::zero() + 1500_ms, "net", "deliver",
           {{"bytes", 1024}, {"ok", true}, {"ratio", 0.5}, {"note", "a \"quoted\"\nline"}});
  t.detach(&sink);
  t.record(Time::zero() + 2_s, "net", "ignored");
  CHECK(out.str() ==
        "{\"i\":0,\"t_ns\":1500000000,\"src\":\"net\",\"kind\":\"deliver\",\"f\":{\"bytes\":1024,"
        "\"ok\":true,\"ratio\":0.5,\"note\":\"a \\\"quoted\\\"\\nline\"}}\n");
  CHECK(t.count() == 2);
}

TEST_CASE("metrics: the histogram's percentiles are within 1% of the exact ones",
          "[kernel][metrics]") {
  Histogram h;
  std::vector<std::int64_t> values;
  Rng r(11);
  for (int i = 0; i < 100'000; ++i) {
    // Latencies from 50 us to seconds, lognormal.
    const auto v = static_cast<std::int64_t>(r.lognormal(std::log(2e6), 1.5));
    values.push_back(v);
    h.record(v);
  }
  std::sort(values.begin(), values.end());
  auto exact = [&](double q) {
    auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
    return static_cast<double>(values[rank - 1]);
  };
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    INFO("q=" << q);
    CHECK(std::abs(static_cast<double>(h.quantile(q)) - exact(q)) / exact(q) <= 0.01);
  }
  CHECK(h.max() == values.back());
  CHECK(h.min() == values.front());
  CHECK(h.count() == 100'000);
  CHECK(h.quantile(1.0) == values.back());
}

TEST_CASE("metrics: small values are exact and buckets are contiguous", "[kernel][metrics]") {
  for (std::int64_t v = 0; v < 128; ++v) {
    CHECK(Histogram::index_of(v) == static_cast<std::size_t>(v));
    CHECK(Histogram::value_of(static_cast<std::size_t>(v)) == v);
  }
  // Every value maps to a bucket whose representative is within 1/128 of it.
  for (std::int64_t v : {128LL, 129LL, 255LL, 256LL, 1'000'003LL, 123'456'789'012LL}) {
    const auto rep = Histogram::value_of(Histogram::index_of(v));
    CHECK(std::abs(static_cast<double>(rep - v)) / static_cast<double>(v) <= 1.0 / 128);
  }
  CHECK(Histogram::index_of(255) + 1 == Histogram::index_of(256));
}

TEST_CASE("metrics: merged histograms equal one histogram of everything", "[kernel][metrics]") {
  Histogram a, b, all;
  for (int i = 1; i <= 1000; ++i) {
    (i % 2 ? a : b).record(i * 1000);
    all.record(i * 1000);
  }
  a.merge(b);
  CHECK(a.count() == all.count());
  CHECK(a.p99() == all.p99());
  CHECK(a.mean() == all.mean());
  CHECK(a.min() == 1000);
  CHECK(a.max() == 1'000'000);
}

TEST_CASE("metrics: the registry returns stable named instruments", "[kernel][metrics]") {
  Metrics m;
  Counter& c = m.counter("requests");
  c.inc();
  m.counter("requests").inc(4);
  CHECK(c.value() == 5);
  m.gauge("queue").set(3.5);
  CHECK(m.find_gauge("queue")->value() == 3.5);
  CHECK(m.find_counter("missing") == nullptr);
  m.counter("a");
  std::vector<std::string> names;
  for (const auto& [name, counter] : m.counters()) {
    names.push_back(name);
  }
  CHECK(names == std::vector<std::string>{"a", "requests"});
}
