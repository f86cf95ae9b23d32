#include "scenario_fixtures.hpp"

#include <faultline/scenario/runner.hpp>
#include <faultline/scenario/scenario.hpp>

#include <catch2/catch.hpp>

using namespace faultline;
using namespace faultline::scenario;
using faultline::scenario::testing::kToyScenario;
using faultline::scenario::testing::test_registry;

namespace {

const ExpectationResult* find_result(const RunResult& r, std::string_view needle) {
  for (const auto& e : r.expectations) {
    if (e.description.find(needle) != std::string::npos) {
      return &e;
    }
  }
  return nullptr;
}

}  // namespace

TEST_CASE("scenario: a valid file parses into the spec it describes", "[scenario][parse]") {
  auto registry = test_registry();
  auto file = ScenarioFile::parse(kToyScenario, "toy.json");
  CHECK(file.name() == "toy-outage");
  CHECK(file.variant_names() == std::vector<std::string>{"base", "no-outage", "retries"});
  auto spec = file.resolve("base", {}, registry);
  CHECK(spec.seed == 7);
  CHECK(spec.duration == Duration::seconds(60));
  CHECK(spec.epoch == UtcInstant::from_civil(2015, 9, 20, 9));
  CHECK(spec.model == "toy");
  CHECK(spec.story.sources == std::vector<std::string>{"test"});
  REQUIRE(spec.observations.size() == 3);
  CHECK(spec.observations[2].kind == Observation::Kind::kProbe);
  CHECK(spec.key_series == "availability");
  // Expectations scoped with "in" apply only to their variants.
  CHECK(spec.expectations.size() == 4);
  CHECK(file.resolve("no-outage", {}, registry).expectations.size() == 3);
}

TEST_CASE("scenario: a merge-patch variant and an overrides variant both change the base",
          "[scenario][variants]") {
  auto registry = test_registry();
  auto file = ScenarioFile::parse(kToyScenario, "toy.json");
  auto base = file.resolve("base", {}, registry);
  auto no_outage = file.resolve("no-outage", {}, registry);
  auto retries = file.resolve("retries", {}, registry);
  CHECK(base.document.contains("faults"));
  CHECK_FALSE(no_outage.document.contains("faults"));
  CHECK(retries.document["model"]["params"]["max_attempts"] == 3);
  CHECK(base.document["model"]["params"]["max_attempts"] == 1);
  CHECK(base.config_hash != no_outage.config_hash);
  CHECK(base.config_hash != retries.config_hash);
  // --set applies on top of the variant, and the seed is not part of the configuration.
  auto set = file.resolve("retries", {"model.params.timeout=250ms", "seed=99"}, registry);
  CHECK(set.document["model"]["params"]["timeout"] == "250ms");
  CHECK(set.seed == 99);
  auto seed_only = file.resolve("base", {"seed=99"}, registry);
  CHECK(seed_only.config_hash == base.config_hash);
}

TEST_CASE("scenario: parse_set_argument reads JSON values and falls back to strings",
          "[scenario][variants]") {
  CHECK(parse_set_argument("a.b=3").second == 3);
  CHECK(parse_set_argument("a.b=true").second == true);
  CHECK(parse_set_argument("a.b=250ms").second == "250ms");
  CHECK(parse_set_argument("a.b=[1,2]").second.is_array());
  CHECK_THROWS_AS(parse_set_argument("no-equals"), ScenarioError);
}

TEST_CASE("scenario: edit distance suggests the intended key", "[scenario][errors]") {
  CHECK(edit_distance("kitten", "sitting") == 3);
  CHECK(edit_distance("", "abc") == 3);
  std::vector<std::string> keys = {"timeout", "max_attempts", "rate_per_s"};
  CHECK(closest_match("timout", keys) == "timeout");
  CHECK(closest_match("zzzzzzzz", keys).empty());
  CHECK(suggestion("zzzzzzzz", keys).find("expected one of") != std::string::npos);
}

TEST_CASE("scenario: the base run meets its expectations and measures the outage",
          "[scenario][expectations]") {
  auto registry = test_registry();
  auto file = ScenarioFile::parse(kToyScenario, "toy.json");
  auto result = run_scenario(file.resolve("base", {}, registry), registry);
  for (const auto& e : result.expectations) {
    INFO(e.description << " " << e.bound << " measured " << e.measured);
    CHECK(e.ok);
  }
  // The outage is a sixth of the run and the client does not retry.
  CHECK(result.key.availability == Approx(50.0 / 60.0).margin(0.02));
  CHECK(result.key.retry_amplification == Approx(1.0));
  const auto* during = find_result(result, "availability over [20s, 30s]");
  REQUIRE(during != nullptr);
  CHECK(during->value < 0.01);  // only requests begun just before 20 s succeed
  REQUIRE(result.series.size() == 3);
  CHECK(result.series[0].samples.size() == 60);
}

TEST_CASE("scenario: an expectation that must fail does fail, with its measured value",
          "[scenario][expectations]") {
  auto registry = test_registry();
  auto file = ScenarioFile::parse(kToyScenario, "toy.json");
  // Claims 99% availability over the whole incident, which had a 10 s outage.
  auto spec = file.resolve("base", {R"(expectations.1={"metric":"availability","min":0.99})",
                                    R"(expectations.5={"metric":"checker","checker":"never_ok"})"},
                           registry);
  auto result = run_scenario(spec, registry);
  CHECK_FALSE(result.ok());
  const auto* overall = find_result(result, "availability over [0s, end]");
  REQUIRE(overall != nullptr);
  CHECK_FALSE(overall->ok);
  CHECK(overall->value < 0.9);
  CHECK(overall->measured.find("0.8") == 0);
  const auto* checker = find_result(result, "checker never_ok");
  REQUIRE(checker != nullptr);
  CHECK_FALSE(checker->ok);
  CHECK(checker->measured.find("planted failure") != std::string::npos);
}

TEST_CASE("scenario: retries amplify attempts during the outage and the fix variant heals it",
          "[scenario][expectations]") {
  auto registry = test_registry();
  auto file = ScenarioFile::parse(kToyScenario, "toy.json");
  auto retries = run_scenario(file.resolve("retries", {}, registry), registry);
  const auto* amp = find_result(retries, "retry_amplification over [20s, 30s]");
  REQUIRE(amp != nullptr);
  CHECK(amp->value == Approx(3.0).margin(0.05));
  CHECK(retries.ok());
  auto healed = run_scenario(file.resolve("no-outage", {}, registry), registry);
  CHECK(healed.ok());
  CHECK(healed.key.availability > 0.999);
}

TEST_CASE("scenario: time to recover fails when recovery is slower than the bound",
          "[scenario][expectations]") {
  auto registry = test_registry();
  auto file = ScenarioFile::parse(kToyScenario, "toy.json");
  // A second outage right after the first delays recovery to 45 s.
  auto spec = file.resolve(
      "base", {R"(faults=[{"at":"20s","for":"10s"},{"at":"30s","for":"15s"}])",
               R"(expectations.0.window=["20s","45s"])"},
      registry);
  auto result = run_scenario(spec, registry);
  const auto* ttr = find_result(result, "time for availability");
  REQUIRE(ttr != nullptr);
  CHECK_FALSE(ttr->ok);
  CHECK(ttr->value == Approx(16.0).margin(1.01));
}

TEST_CASE("scenario: windowed percentiles count only the samples inside the window",
          "[scenario][expectations]") {
  Histogram before;
  for (int i = 0; i < 1000; ++i) {
    before.record(Duration::millis(1));
  }
  Histogram after = before;
  for (int i = 0; i < 100; ++i) {
    after.record(Duration::millis(50));
  }
  auto q = quantile_between(before, after, 0.5);
  REQUIRE(q.has_value());
  CHECK(static_cast<double>(*q) == Approx(50e6).epsilon(0.01));
  CHECK(static_cast<double>(after.p50()) == Approx(1e6).epsilon(0.01));
  CHECK_FALSE(quantile_between(after, after, 0.5).has_value());
}

TEST_CASE("scenario: same seed gives the same trace hash; another seed another",
          "[scenario][determinism]") {
  auto registry = test_registry();
  auto file = ScenarioFile::parse(kToyScenario, "toy.json");
  auto spec = file.resolve("base", {}, registry);
  auto a = run_scenario(spec, registry);
  auto b = run_scenario(spec, registry);
  auto c = run_scenario(spec, registry, {.seed = 8, .sinks = {}, .progress = {}});
  CHECK(a.trace_hash == b.trace_hash);
  CHECK(a.trace_hash != c.trace_hash);
  CHECK(c.seed == 8);
  CHECK(check_scenario_determinism(spec, registry).deterministic);
}

TEST_CASE("scenario: check-determinism catches a deliberately nondeterministic model",
          "[scenario][determinism]") {
  auto registry = test_registry();
  auto file = ScenarioFile::parse(R"({"format_version": 1, "name": "flaky", "duration": "1s",
                                      "model": {"name": "flaky"}})",
                                  "flaky.json");
  auto report = check_scenario_determinism(file.resolve("base", {}, registry), registry);
  CHECK_FALSE(report.deterministic);
  REQUIRE(report.first_divergence.has_value());
  CHECK(*report.first_divergence == 5);
}
