// The HTML report's data and the space-time recorder, without a browser (the browser tests in
// this folder open the pages for real).
#include <faultline/report/html.hpp>
#include <faultline/report/json_results.hpp>
#include <faultline/scenario/runner.hpp>
#include <faultline/simulation.hpp>

#include <catch2/catch.hpp>

#include <algorithm>

using faultline::Duration;
using faultline::report::DiagramWindow;
using faultline::report::SpaceTimeRecorder;
using faultline::scenario::ModelRegistry;
using faultline::scenario::ScenarioFile;
using nlohmann::json;

namespace {

const std::string kScenario =
    std::string(FAULTLINE_SOURCE_DIR) + "/scenarios/instance-crash-retries.json";

ModelRegistry registry() {
  ModelRegistry r;
  faultline::scenario::register_builtin_models(r);
  return r;
}

struct CountingSink : faultline::TraceSink {
  bool notes;
  std::size_t seen = 0;
  explicit CountingSink(bool wants) : notes(wants) {}
  void on_record(const faultline::TraceRecordView&) override { ++seen; }
  bool wants_notes() const override { return notes; }
};

}  // namespace

TEST_CASE("trace: notes reach only sinks that want them and change neither hash nor count",
          "[report][trace]") {
  faultline::Trace trace;
  CountingSink plain(false);
  CountingSink noting(true);
  trace.attach(&plain);
  CHECK_FALSE(trace.noting());
  trace.attach(&noting);
  CHECK(trace.noting());
  const auto t = faultline::Time::zero() + Duration::seconds(1);
  trace.record(t, "net", "deliver", {{"id", 1}});
  const auto hash = trace.hash();
  const auto count = trace.count();
  trace.note(t, "net", "send", {{"id", 2}});
  CHECK(trace.hash() == hash);
  CHECK(trace.count() == count);
  CHECK(plain.seen == 1);
  CHECK(noting.seen == 2);
  // The same content as a record does change the hash: the check above can fail.
  trace.record(t, "net", "send", {{"id", 2}});
  CHECK(trace.hash() != hash);
  trace.detach(&noting);
  CHECK_FALSE(trace.noting());
}

TEST_CASE("space-time recorder: attaching it leaves a run's trace hash unchanged and sees its "
          "messages, names, crash and fault",
          "[report][diagram]") {
  auto reg = registry();
  auto spec = ScenarioFile::load(kScenario).resolve("base", {}, reg);
  auto plain = faultline::scenario::run_scenario(spec, reg);

  DiagramWindow w;
  w.from = Duration::seconds(19);
  w.to = Duration::seconds(21);
  w.max_messages = 100000;
  SpaceTimeRecorder recorder(w);
  faultline::scenario::RunOptions options;
  options.sinks.push_back(&recorder);
  auto recorded = faultline::scenario::run_scenario(spec, reg, options);
  CHECK(recorded.trace_hash == plain.trace_hash);
  CHECK(recorded.trace_records == plain.trace_records);

  json d = recorder.to_json();
  CHECK_FALSE(d["capped"].get<bool>());
  REQUIRE(d["messages"].size() > 100);
  std::size_t delivered = 0;
  std::size_t dropped_down = 0;
  for (const auto& m : d["messages"]) {
    const auto sent = m[2].get<std::int64_t>();
    CHECK(sent >= w.from.ns());
    CHECK(sent < w.to.ns());
    if (m[5] == "" && m[3].get<std::int64_t>() >= sent) {
      ++delivered;
    }
    dropped_down += m[5] == "process_down" ? 1 : 0;
  }
  CHECK(delivered > 100);
  CHECK(dropped_down > 0);  // api-0 is down from 20 s: requests to it are dropped
  bool named = false;
  for (const auto& n : d["nodes"]) {
    named = named || n[1] == "api-0";
  }
  CHECK(named);
  bool crash = false;
  for (const auto& e : d["node_events"]) {
    crash = crash || (e[2] == "api-0" && e[3] == "crash" && e[0] == 20'000'000'000LL);
  }
  CHECK(crash);
  REQUIRE_FALSE(d["faults"].empty());
  CHECK(d["faults"][0][1] == "crash");
}

TEST_CASE("space-time recorder: the cap stops the drawing and says where; the anchor keeps "
          "the moment of the fault in view",
          "[report][diagram]") {
  auto reg = registry();
  auto spec = ScenarioFile::load(kScenario).resolve("base", {}, reg);
  auto w = faultline::report::default_diagram_window(spec);
  REQUIRE(w.anchor);
  CHECK(*w.anchor == Duration::seconds(20));  // the scenario's crash
  w.max_messages = 40;
  SpaceTimeRecorder recorder(w);
  faultline::scenario::RunOptions options;
  options.sinks.push_back(&recorder);
  faultline::scenario::run_scenario(spec, reg, options);
  json d = recorder.to_json();
  CHECK(d["capped"].get<bool>());
  CHECK(d["messages"].size() == 40);
  CHECK(d["sends_left_out"].get<std::int64_t>() > 0);
  std::size_t before = 0;
  for (const auto& m : d["messages"]) {
    before += m[2].get<std::int64_t>() < w.anchor->ns() ? 1 : 0;
  }
  CHECK(before == 10);  // a quarter of the cap before the fault, the rest after it
  CHECK(d["left_out_before"].get<std::int64_t>() > 0);
  CHECK(d["from_ns"].get<std::int64_t>() > w.from.ns());
}

// A sparse run without faults: nothing is sent in the default window (a tenth into the run),
// so the window slides to the first send after it. Without slide_until (an explicit
// --diagram-window) the same records leave the diagram empty: the slide is what fills it.
TEST_CASE("space-time recorder: an empty default window slides to the first message after it",
          "[report][diagram]") {
  const auto at = [](double s) { return faultline::Time::zero() + Duration::from_seconds(s); };
  auto feed = [&](SpaceTimeRecorder& recorder) {
    faultline::Trace trace;
    trace.attach(&recorder);
    trace.note(at(0.5), "net", "send", {{"id", 1}, {"src", 0}, {"dst", 1}, {"kind", "request"}});
    trace.record(at(0.6), "net", "deliver", {{"id", 1}});
    trace.note(at(10), "net", "send", {{"id", 2}, {"src", 0}, {"dst", 1}, {"kind", "request"}});
    trace.record(at(10.1), "net", "deliver", {{"id", 2}});
    trace.note(at(11), "net", "send", {{"id", 3}, {"src", 1}, {"dst", 0}, {"kind", "reply"}});
    trace.note(at(13), "net", "send", {{"id", 4}, {"src", 0}, {"dst", 1}, {"kind", "request"}});
    trace.detach(&recorder);
  };
  DiagramWindow w;
  w.from = Duration::seconds(1);
  w.to = Duration::seconds(3);

  SpaceTimeRecorder fixed(w);
  feed(fixed);
  CHECK(fixed.message_count() == 0);
  CHECK_FALSE(fixed.to_json().contains("slid_from_ns"));

  w.slide_until = Duration::seconds(60);
  SpaceTimeRecorder sliding(w);
  feed(sliding);
  const json d = sliding.to_json();
  CHECK(sliding.message_count() == 2);  // sent at 10 s and 11 s; 13 s is past the slid window
  CHECK(d["slid_from_ns"].get<std::int64_t>() == Duration::seconds(1).ns());
  CHECK(d["from_ns"].get<std::int64_t>() == Duration::seconds(10).ns());
  CHECK(d["to_ns"].get<std::int64_t>() == Duration::seconds(12).ns());
  CHECK(d["messages"][0][3].get<std::int64_t>() == Duration::from_seconds(10.1).ns());
}

TEST_CASE("diagram window: A..B parses, bad input names the fix", "[report][diagram]") {
  auto w = faultline::report::parse_diagram_window("19m..19m02s");
  CHECK(w.from == Duration::minutes(19));
  CHECK(w.to == Duration::minutes(19) + Duration::seconds(2));
  CHECK_THROWS_WITH(faultline::report::parse_diagram_window("19m"),
                    Catch::Contains("write FROM..TO"));
  CHECK_THROWS_WITH(faultline::report::parse_diagram_window("2s..1s"),
                    Catch::Contains("earlier time first"));
  CHECK_THROWS_WITH(faultline::report::parse_diagram_window("x..1s"),
                    Catch::Contains("bad duration"));
}

TEST_CASE("html: the page holds every series, expectation and fault, downsamples long series "
          "keeping their extremes, and is the same bytes for the same results",
          "[report][html]") {
  auto reg = registry();
  auto file = ScenarioFile::load(kScenario);
  faultline::report::RunPageInput input;
  std::vector<faultline::scenario::RunResult> runs;
  for (const auto& v : file.variant_names()) {
    input.specs.push_back(file.resolve(v, {}, reg));
    runs.push_back(faultline::scenario::run_scenario(input.specs.back(), reg));
  }
  // One long series with a single spike, to see it survive the reduction.
  auto& long_series = runs[0].series.emplace_back();
  long_series.name = "long";
  for (int i = 0; i < 5000; ++i) {
    long_series.samples.push_back(
        {faultline::Time::zero() + Duration::millis(i), i == 3217 ? 99.0 : 1.0});
  }
  input.runs = faultline::report::results_to_json(runs, {})["runs"];
  input.diagram = json{{"missing", "not recorded in this test"}};
  json d = faultline::report::run_page_data(input);
  CHECK(d["variants"].size() == file.variant_names().size());
  CHECK(d["observations"].size() == input.specs[0].observations.size());
  for (const auto& o : input.specs[0].observations) {
    CHECK(d["series"][o.name].size() == runs.size());
  }
  REQUIRE(d["downsampled"].size() == 1);
  CHECK(d["downsampled"][0]["series"] == "long");
  const auto& drawn = d["series"]["long"]["base"];
  CHECK(drawn.size() <= faultline::report::kMaxPointsPerSeries);
  CHECK(std::any_of(drawn.begin(), drawn.end(), [](const json& p) { return p[1] == 99.0; }));
  // Every expectation is there once, with a verdict per variant it applies to; the availability
  // bounds are drawn on the availability plot.
  std::size_t verdicts = 0;
  for (const auto& e : d["expectations"]) {
    verdicts += e["results"].size();
    if (e["metric"] == "availability") {
      CHECK(e["plot"] == "availability");
    }
  }
  std::size_t expected = 0;
  for (const auto& r : runs) {
    expected += r.expectations.size();
  }
  CHECK(verdicts == expected);
  REQUIRE(d["faults"].size() == 1);
  CHECK(d["faults"][0]["at_s"] == 20.0);
  CHECK(d["faults"][0]["for_s"] == 20.0);

  const std::string page = faultline::report::render_run_page(input);
  CHECK(page == faultline::report::render_run_page(input));
  CHECK(page.find("uPlot") != std::string::npos);
  CHECK(page.find("src=\"http") == std::string::npos);  // nothing loaded from elsewhere
}

TEST_CASE("html: text from the scenario cannot end the data element early", "[report][html]") {
  auto reg = registry();
  auto file = ScenarioFile::load(kScenario);
  faultline::report::RunPageInput input;
  input.specs.push_back(file.resolve("base", {}, reg));
  input.specs[0].story.summary = "a story with </script><script>alert(1)</script> in it";
  input.runs = json::array({json{{"variant", "base"}, {"expectations", json::array()}}});
  const std::string page = faultline::report::render_run_page(input);
  CHECK(page.find("</script><script>alert(1)") == std::string::npos);
  CHECK(page.find("\\u003c/script>\\u003cscript>alert(1)") != std::string::npos);
}

TEST_CASE("html: the sweep page lists every variant and seed, failures with their replay "
          "command, and errors",
          "[report][html]") {
  json results = {{"format", "faultline-results"},
                  {"runs", json::array({
                               {{"file", "s.json"}, {"scenario", "s"}, {"variant", "base"},
                                {"seed", 1}, {"ok", true},
                                {"reproduce", "faultline run s.json --seed 1"},
                                {"expectations", json::array()}},
                               {{"file", "s.json"}, {"scenario", "s"}, {"variant", "base"},
                                {"seed", 2}, {"ok", false},
                                {"reproduce", "faultline run s.json --seed 2"},
                                {"expectations", json::array({{{"description", "availability"},
                                                               {"bound", ">= 0.99"},
                                                               {"measured", "0.5"},
                                                               {"ok", false}}})}},
                           })}};
  json d = faultline::report::sweep_page_data(results, {{"fix", {{3, "boom"}}}});
  CHECK(d["seeds"] == json::array({1, 2, 3}));
  REQUIRE(d["variants"].size() == 2);
  CHECK(d["variants"][0]["runs"]["2"]["reproduce"] == "faultline run s.json --seed 2");
  CHECK(d["variants"][0]["runs"]["2"]["failed"][0] == "availability >= 0.99, measured 0.5");
  CHECK(d["variants"][1]["runs"]["3"]["error"] == "boom");
}
