// `faultline report` and `run --html`: outputs, and bad input that exits 2 with a message.
#include "cli_fixture.hpp"

#include <catch2/catch.hpp>

#include <faultline/scenario/registry.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

namespace {

namespace fs = std::filesystem;

faultline::testing::CliOutcome cli(const std::vector<std::string>& args) {
  faultline::scenario::ModelRegistry registry;
  faultline::scenario::register_builtin_models(registry);
  return faultline::testing::run_cli_captured(args, registry, 2);
}

struct Dir {
  fs::path path =
      fs::temp_directory_path() / ("faultline-report-test-" + std::to_string(::getpid()));
  Dir() {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~Dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

const std::string kScenario =
    std::string(FAULTLINE_SOURCE_DIR) + "/scenarios/instance-crash-retries.json";

}  // namespace

TEST_CASE("report: run --html and report from the saved results give the same page",
          "[report][cli]") {
  Dir dir;
  auto run = cli({"run", kScenario, "--quiet", "--json", dir.file("r.json"), "--html",
                  dir.file("run.html")});
  REQUIRE(run.code == 0);
  auto rep = cli({"report", dir.file("r.json"), "-o", dir.file("report.html")});
  INFO(rep.err);
  REQUIRE(rep.code == 0);
  const std::string a = slurp(dir.file("run.html"));
  CHECK(a.size() > 50000);
  CHECK(a == slurp(dir.file("report.html")));
  // The same run again: byte for byte the same page (no wall clock in it).
  REQUIRE(cli({"run", kScenario, "--quiet", "--html", dir.file("again.html")}).code == 0);
  CHECK(a == slurp(dir.file("again.html")));
}

TEST_CASE("report: a chosen variant and window, and bad choices exit 2 naming the fix",
          "[report][cli]") {
  Dir dir;
  REQUIRE(cli({"run", kScenario, "--quiet", "--json", dir.file("r.json")}).code == 0);
  auto ok = cli({"report", dir.file("r.json"), "-o", dir.file("w.html"), "--diagram-variant",
                 "retry-once", "--diagram-window", "21s..21.2s"});
  INFO(ok.err);
  CHECK(ok.code == 0);
  CHECK(slurp(dir.file("w.html")).find("\"variant\":\"retry-once\"") != std::string::npos);

  auto bad_variant = cli({"report", dir.file("r.json"), "-o", dir.file("x.html"),
                          "--diagram-variant", "retry-onse"});
  CHECK(bad_variant.code == 2);
  CHECK_THAT(bad_variant.err, Catch::Contains("retry-once"));
  CHECK_FALSE(fs::exists(dir.file("x.html")));

  auto bad_window = cli({"report", dir.file("r.json"), "-o", dir.file("x.html"),
                         "--diagram-window", "5s"});
  CHECK(bad_window.code == 2);
  CHECK_THAT(bad_window.err, Catch::Contains("FROM..TO"));
}

TEST_CASE("report: missing, malformed or stale results exit 2 and write nothing",
          "[report][cli]") {
  Dir dir;
  auto missing = cli({"report", dir.file("nope.json"), "-o", dir.file("x.html")});
  CHECK(missing.code == 2);
  CHECK_THAT(missing.err, Catch::Contains("cannot read"));

  std::ofstream(dir.file("junk.json")) << "{not json";
  auto junk = cli({"report", dir.file("junk.json"), "-o", dir.file("x.html")});
  CHECK(junk.code == 2);
  CHECK_THAT(junk.err, Catch::Contains("not JSON"));

  std::ofstream(dir.file("other.json")) << R"({"format": "something-else"})";
  auto other = cli({"report", dir.file("other.json"), "-o", dir.file("x.html")});
  CHECK(other.code == 2);
  CHECK_THAT(other.err, Catch::Contains("faultline-results"));

  auto no_output = cli({"report", dir.file("other.json")});
  CHECK(no_output.code == 2);
  CHECK_THAT(no_output.err, Catch::Contains("-o OUT.html"));

  // Results whose config hash no longer matches the scenario file.
  REQUIRE(cli({"run", kScenario, "--variant", "base", "--quiet", "--json", dir.file("r.json")})
              .code == 0);
  auto text = slurp(dir.file("r.json"));
  auto at = text.find("\"config_hash\": \"");
  REQUIRE(at != std::string::npos);
  text[at + 16] = text[at + 16] == '0' ? '1' : '0';
  std::ofstream(dir.file("stale.json")) << text;
  auto stale = cli({"report", dir.file("stale.json"), "-o", dir.file("x.html")});
  CHECK(stale.code == 2);
  CHECK_THAT(stale.err, Catch::Contains("scenario changed"));
  CHECK_FALSE(fs::exists(dir.file("x.html")));

  auto two_files = cli({"run", kScenario, kScenario, "--quiet", "--html", dir.file("x.html")});
  CHECK(two_files.code == 2);
  CHECK_THAT(two_files.err, Catch::Contains("one scenario file"));
}

TEST_CASE("report: sweep --html writes the matrix with replay commands", "[report][cli]") {
  Dir dir;
  auto sweep = cli({"sweep", kScenario, "--seeds", "1..3", "--variant", "base", "-j", "2",
                    "--quiet", "--html", dir.file("sweep.html"), "--json", dir.file("s.json")});
  REQUIRE((sweep.code == 0 || sweep.code == 1));
  const std::string page = slurp(dir.file("sweep.html"));
  CHECK(page.find("\"kind\":\"sweep\"") != std::string::npos);
  CHECK(page.find("\"seeds\":[1,2,3]") != std::string::npos);
  // faultline report recognises sweep results and gives the same page.
  REQUIRE(cli({"report", dir.file("s.json"), "-o", dir.file("again.html")}).code == 0);
  CHECK(page == slurp(dir.file("again.html")));
}

TEST_CASE("report: results of a run with --set overrides are resolved with the same overrides",
          "[report][cli]") {
  Dir dir;
  // Without its fault the incident fails its expectations (exit 1), but the results are saved.
  auto run = cli({"run", kScenario, "--variant", "base", "--quiet", "--set", "faults=[]",
                  "--json", dir.file("r.json"), "--html", dir.file("run.html")});
  REQUIRE(run.code == 1);
  // The config hash only matches when report applies the same --set (read back from the
  // reproduce command); without it this exits 2 as stale.
  auto rep = cli({"report", dir.file("r.json"), "-o", dir.file("report.html")});
  INFO(rep.err);
  REQUIRE(rep.code == 0);
  CHECK(slurp(dir.file("run.html")) == slurp(dir.file("report.html")));
}
