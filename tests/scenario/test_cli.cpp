#include "cli_fixture.hpp"
#include "scenario_fixtures.hpp"

#include <faultline/report/terminal.hpp>

#include <catch2/catch.hpp>

#include <fstream>
#include <limits>
#include <sstream>

using faultline::scenario::Json;
using faultline::scenario::testing::kToyScenario;
using faultline::scenario::testing::TempDir;
using faultline::scenario::testing::test_registry;

namespace {

faultline::testing::CliOutcome cli(const std::vector<std::string>& args, unsigned cores = 2) {
  return faultline::testing::run_cli_captured(args, test_registry(), cores);
}

Json read_json(const std::string& path) {
  std::ifstream in(path);
  return Json::parse(in);
}

}  // namespace

TEST_CASE("cli: run prints the variants side by side with verdicts and reproduce lines",
          "[scenario][cli]") {
  TempDir dir("run");
  std::string file = dir.write("toy.json", kToyScenario);
  auto r = cli({"run", file});
  INFO(r.out << r.err);
  CHECK(r.code == 0);
  CHECK(r.out.find("base") != std::string::npos);
  CHECK(r.out.find("no-outage") != std::string::npos);
  CHECK(r.out.find("retries") != std::string::npos);
  CHECK(r.out.find("✓ availability over [20s, 30s] <= 0.01   measured 0") != std::string::npos);
  CHECK(r.out.find("reproduce: faultline run " + file + " --variant retries --seed 7") !=
        std::string::npos);
  CHECK(r.out.find("▁") != std::string::npos);  // the outage dip in the sparkline
  CHECK(r.out.find("█") != std::string::npos);
  // spdlog diagnostics carry simulated time.
  CHECK(r.err.find("[sim 1m] info: toy-outage / base: done") != std::string::npos);
}

TEST_CASE("cli: a failed expectation exits 1 and names the measured value", "[scenario][cli]") {
  TempDir dir("fail");
  std::string file = dir.write("toy.json", kToyScenario);
  auto r = cli({"run", file, "--variant", "retries", "--set", "model.params.max_attempts=1",
                "--quiet"});
  CHECK(r.code == 1);
  CHECK(r.out.find("✗ retry_amplification over [20s, 30s] >= 2.5   measured 1") !=
        std::string::npos);
}

// --set expectations=[] clears the file's expectations for every variant: the run that fails
// above (exit 1) passes with none, and the results hold none.
TEST_CASE("cli: --set expectations=[] runs every variant with no expectations",
          "[scenario][cli]") {
  TempDir dir("no-expectations");
  std::string file = dir.write("toy.json", kToyScenario);
  auto r = cli({"run", file, "--set", "model.params.max_attempts=1", "--set", "expectations=[]",
                "--json", dir.file("r.json")});
  INFO(r.out << r.err);
  CHECK(r.code == 0);
  CHECK(r.out.find("0/0 ✓") != std::string::npos);
  CHECK(r.out.find("measured") == std::string::npos);
  Json results = read_json(dir.file("r.json"));
  REQUIRE(results["runs"].size() == 3);
  for (const auto& run : results["runs"]) {
    CHECK(run["expectations"].empty());
  }
}

TEST_CASE("cli: run writes JSON results, a Perfetto trace and a JSON-lines trace",
          "[scenario][cli]") {
  TempDir dir("outputs");
  std::string file = dir.write("toy.json", kToyScenario);
  auto r = cli({"run", file, "--variant", "base", "--json", dir.file("r.json"), "--perfetto",
                dir.file("p.json"), "--trace", dir.file("t.jsonl"), "--quiet"});
  REQUIRE(r.code == 0);
  Json results = read_json(dir.file("r.json"));
  CHECK(results["ok"] == true);
  REQUIRE(results["runs"].size() == 1);
  CHECK(results["runs"][0]["variant"] == "base");
  CHECK(results["runs"][0]["seed"] == 7);
  CHECK(results["runs"][0]["series"]["availability"].size() == 60);

  Json perfetto = read_json(dir.file("p.json"));
  bool global_fault = false;
  bool slice = false;
  for (const auto& e : perfetto["traceEvents"]) {
    if (e["ph"] == "i" && e.value("s", "") == "g" && e["cat"] == "fault") {
      global_fault = true;
      CHECK(e["ts"].get<double>() == Approx(20e6));
    }
    if (e["ph"] == "X" && e["cat"] == "client") {
      slice = true;
    }
  }
  CHECK(global_fault);
  CHECK(slice);

  std::ifstream lines(dir.file("t.jsonl"));
  std::string first;
  REQUIRE(std::getline(lines, first));
  CHECK(Json::parse(first).contains("t_ns"));
  // No temporary files are left behind.
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    CHECK(entry.path().string().find(".tmp-") == std::string::npos);
  }
}

TEST_CASE("cli: check-determinism passes a deterministic model and names a divergence",
          "[scenario][cli][determinism]") {
  TempDir dir("det");
  std::string toy = dir.write("toy.json", kToyScenario);
  auto ok = cli({"check-determinism", toy, "--variant", "base"});
  CHECK(ok.code == 0);
  CHECK(ok.out.find("deterministic") != std::string::npos);
  std::string flaky = dir.write(
      "flaky.json",
      R"({"format_version": 1, "name": "flaky", "duration": "1s", "model": {"name": "flaky"}})");
  auto bad = cli({"check-determinism", flaky});
  CHECK(bad.code == 3);
  CHECK(bad.out.find("diverge at trace record #5") != std::string::npos);
  CHECK(bad.out.find("reproduce: faultline check-determinism") != std::string::npos);
}

TEST_CASE("cli: sweep runs every seed on a thread pool and lists failing seeds",
          "[scenario][cli][sweep]") {
  TempDir dir("sweep");
  std::string file = dir.write("toy.json", kToyScenario);
  auto ok = cli({"sweep", file, "--seeds", "1..4", "-j", "2", "--quiet"});
  INFO(ok.out << ok.err);
  CHECK(ok.code == 0);
  CHECK(ok.out.find("summary: 12 runs (4 seeds × 3 variants) on 2 threads") != std::string::npos);
  CHECK(ok.out.find("12 passed, 0 failed") != std::string::npos);

  // 99.9% availability over the whole run is impossible with the outage: every seed fails.
  auto bad = cli({"sweep", file, "--seeds", "10..12", "--variant", "base", "--set",
                  R"(expectations.1={"metric":"availability","min":0.999})", "--json",
                  dir.file("sweep.json")});
  CHECK(bad.code == 1);
  CHECK(bad.out.find("0 passed, 3 failed") != std::string::npos);
  CHECK(bad.out.find("seed 11: ✗ availability over [0s, end] >= 0.999") != std::string::npos);
  CHECK(bad.out.find("reproduce: faultline run " + file + " --variant base --seed 12 --set") !=
        std::string::npos);
  CHECK(read_json(dir.file("sweep.json"))["runs"].size() == 3);
}

TEST_CASE("cli: sweep results do not depend on the number of threads", "[scenario][cli][sweep]") {
  TempDir dir("sweepj");
  std::string file = dir.write("toy.json", kToyScenario);
  cli({"sweep", file, "--seeds", "1..3", "-j", "1", "--json", dir.file("a.json"), "--quiet"});
  cli({"sweep", file, "--seeds", "1..3", "-j", "3", "--json", dir.file("b.json"), "--quiet"});
  // -jN written together, as make and ctest take it.
  REQUIRE(cli({"sweep", file, "--seeds", "1..3", "-j2", "--json", dir.file("c.json"), "--quiet"})
              .code == 0);
  CHECK(cli({"sweep", file, "--seeds", "1..3", "-jx", "--quiet"}).code == 2);
  Json a = read_json(dir.file("a.json"));
  Json b = read_json(dir.file("b.json"));
  Json c = read_json(dir.file("c.json"));
  REQUIRE(a["runs"].size() == 9);
  REQUIRE(c["runs"].size() == 9);
  for (std::size_t i = 0; i < a["runs"].size(); ++i) {
    CHECK(a["runs"][i]["trace_hash"] == b["runs"][i]["trace_hash"]);
    CHECK(a["runs"][i]["trace_hash"] == c["runs"][i]["trace_hash"]);
  }
}

TEST_CASE("cli: list, validate and help", "[scenario][cli]") {
  TempDir dir("list");
  dir.write("toy.json", kToyScenario);
  auto list = cli({"list", dir.path().string()});
  CHECK(list.code == 0);
  CHECK(list.out.find("toy ") != std::string::npos);
  CHECK(list.out.find("variants: base no-outage retries") != std::string::npos);
  auto validate = cli({"validate", dir.path().string()});
  CHECK(validate.code == 0);
  CHECK(validate.out.find("ok: ") != std::string::npos);
  CHECK(cli({"--help"}).code == 0);
  auto help = cli({"sweep", "--help"});
  CHECK(help.code == 0);
  CHECK(help.out.find("--seeds A..B") != std::string::npos);
  CHECK(cli({}).code == 2);
  CHECK(cli({"demo"}).code == 0);
}

TEST_CASE("cli: a checker's evidence is printed capped and kept whole in --json; a scenario "
          "can expect a violation",
          "[scenario][cli][report]") {
  TempDir dir("evidence");
  Json doc = Json::parse(kToyScenario);
  doc["expectations"] = Json::array();
  doc["expectations"].push_back({{"name", "the planted bug is caught"},
                                 {"metric", "checker"},
                                 {"checker", "never_ok"},
                                 {"expect", "violated"}});
  doc["expectations"].push_back({{"name", "clean history"}, {"metric", "checker"},
                                 {"checker", "never_ok"}, {"in", {"base"}}});
  std::string file = dir.write("toy.json", doc.dump());
  auto r = cli({"run", file, "--variant", "base", "--json", dir.file("r.json")});
  INFO(r.out << r.err);
  CHECK(r.code == 1);  // the second expectation fails; the first passes because it is caught
  CHECK(r.out.find("✓ the planted bug is caught: checker never_ok violated   measured violated: "
                   "planted failure") != std::string::npos);
  CHECK(r.out.find("✗ clean history: checker never_ok ok") != std::string::npos);
  CHECK(r.out.find("        witness op 12\n") != std::string::npos);
  CHECK(r.out.find("witness op 13") == std::string::npos);
  CHECK(r.out.find("… 8 more lines (the whole evidence is in --json)") != std::string::npos);
  auto j = read_json(dir.file("r.json"));
  const auto& e = j["runs"][0]["expectations"][1];
  CHECK(e["name"] == "clean history");
  CHECK(e["evidence"].get<std::string>().find("witness op 20") != std::string::npos);
  // The reproduce line of the base names it: without --variant every variant would run.
  CHECK(r.out.find("reproduce: faultline run " + file + " --variant base --seed 7") !=
        std::string::npos);

  SECTION("an unknown verdict is refused") {
    doc["expectations"][0]["expect"] = "caught";
    auto bad = cli({"validate", dir.write("bad.json", doc.dump())});
    CHECK(bad.code == 2);
    CHECK(bad.err.find("/expectations/0/expect: \"caught\" is not a valid choice") !=
          std::string::npos);
  }
}

TEST_CASE("cli: the availability column says whose it is", "[scenario][cli][report]") {
  TempDir dir("population");
  std::string file = dir.write("toy.json", kToyScenario);
  auto r = cli({"run", file, "--variant", "base"});
  INFO(r.out);
  CHECK(r.out.find("\navailability client ") != std::string::npos);
}

TEST_CASE("report: unmeasured retry amplification is a dash, long variant names keep clear of "
          "their sparklines, every population is shown",
          "[scenario][report]") {
  faultline::scenario::ScenarioSpec spec;
  spec.name = "s";
  spec.file = "s.json";
  spec.key_series = "availability";
  spec.duration = faultline::Duration::seconds(2);
  std::vector<faultline::scenario::RunResult> runs(2);
  runs[0].variant = "base";
  runs[1].variant = "a-variant-name-of-thirty-chars";
  for (auto& r : runs) {
    r.file = "s.json";
    r.key.retry_amplification = std::numeric_limits<double>::quiet_NaN();
    r.key.population = "web";
    r.key.populations = {{"web", 10, 1.0}, {"zone-b-clients", 10, 0.0}};
    r.series.push_back({"availability",
                        {{faultline::Time::zero() + faultline::Duration::seconds(1), 1.0},
                         {faultline::Time::zero() + faultline::Duration::seconds(2), 0.5}}});
  }
  std::ostringstream out;
  faultline::report::print_report(out, spec, runs, {}, {});
  const std::string text = out.str();
  INFO(text);
  CHECK(text.find("retry amplification") != std::string::npos);
  CHECK(text.find("—") != std::string::npos);
  CHECK(text.find("nanx") == std::string::npos);
  CHECK(text.find("availability web") != std::string::npos);
  CHECK(text.find("  zone-b-clients") != std::string::npos);
  CHECK(text.find("0.00%") != std::string::npos);
  // The sparkline of the long-named variant starts after at least one space.
  CHECK(text.find("a-variant-name-of-thirty-chars  █▁") != std::string::npos);
}
