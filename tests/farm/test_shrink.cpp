// `faultline shrink`: a planted failure reduced to its one necessary fault.
#include "cli_fixture.hpp"
#include "toy_model.hpp"

#include <faultline/scenario/registry.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;
using namespace faultline;

namespace {

const scenario::ModelRegistry& registry() {
  static const scenario::ModelRegistry r = [] {
    scenario::ModelRegistry reg;
    scenario::register_builtin_models(reg);
    scenario::testing::register_test_models(reg);
    return reg;
  }();
  return r;
}

faultline::testing::CliOutcome faultline_cli(const std::vector<std::string>& args) {
  return faultline::testing::run_cli_captured(args, registry());
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A fresh folder with a copy of the fixture, so the minimal scenario lands beside it.
fs::path fixture_copy(const std::string& name) {
  const fs::path dir = fs::path(FAULTLINE_BINARY_DIR) / "shrink" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::copy_file(fs::path(FAULTLINE_SOURCE_DIR) / "tests/farm/fixtures/planted-crash.json",
                dir / "planted-crash.json");
  return dir / "planted-crash.json";
}

}  // namespace

TEST_CASE("shrink: a planted crash among decoy faults is reduced to that one fault",
          "[farm][shrink]") {
  const auto file = fixture_copy("planted");
  // The fixture fails with its five faults (and so does seed 3).
  REQUIRE(faultline_cli({"run", file.string(), "--seed", "3", "--quiet"}).code == cli::kExitExpectationFailed);

  const auto r = faultline_cli({"shrink", file.string(), "--seed", "3"});
  INFO(r.out << r.err);
  REQUIRE(r.code == cli::kExitOk);
  const auto minimal = file.parent_path() / "planted-crash.base.seed3.min.json";
  REQUIRE(fs::exists(minimal));
  const auto doc = nlohmann::json::parse(slurp(minimal));
  // Exactly the crash of api-0 is left: every latency decoy, scheduled or random, is gone.
  REQUIRE(doc["faults"].size() == 1);
  CHECK(doc["faults"][0]["kind"] == "crash");
  CHECK(doc["faults"][0]["target"] == "node:api-0");
  CHECK(doc["seed"] == 3);
  CHECK_FALSE(doc.contains("variants"));
  CHECK(r.out.find("random faults materialised") != std::string::npos);
  CHECK(r.out.find("removed: fault latency node:api-1 at 2s for 1s") != std::string::npos);
  CHECK(r.out.find("removed: fault latency node:api-2 at 15s for 2s") != std::string::npos);
  CHECK(r.out.find("1 fault left; crash node:api-0") != std::string::npos);
  CHECK(r.out.find("replay: faultline run " + minimal.string() + " --seed 3") !=
        std::string::npos);

  // The minimal scenario still fails, and the same expectation.
  const auto replay = faultline_cli({"run", minimal.string(), "--quiet"});
  CHECK(replay.code == cli::kExitExpectationFailed);
  CHECK(replay.out.find("✗ no request lost: availability of web over [0s, end] >= 0.97") !=
        std::string::npos);
  // Without the crash it passes: the one fault left is the necessary one.
  auto no_fault = doc;
  no_fault.erase("faults");
  const auto without = file.parent_path() / "without-crash.json";
  std::ofstream(without) << no_fault.dump(2);
  CHECK(faultline_cli({"run", without.string(), "--quiet"}).code == cli::kExitOk);

  // Deterministic: the same input gives the same minimal scenario, byte for byte.
  const std::string first = slurp(minimal);
  REQUIRE(faultline_cli({"shrink", file.string(), "--seed", "3"}).code == cli::kExitOk);
  CHECK(slurp(minimal) == first);
}

TEST_CASE("shrink: a budget bounds the runs and still writes a failing scenario",
          "[farm][shrink]") {
  const auto file = fixture_copy("budget");
  const auto out = file.parent_path() / "small.json";
  const auto r = faultline_cli({"shrink", file.string(), "--seed", "3", "--budget", "3", "-o",
                      out.string()});
  INFO(r.out << r.err);
  REQUIRE(r.code == cli::kExitOk);
  CHECK(r.out.find("the budget ran out") != std::string::npos);
  CHECK(faultline_cli({"run", out.string(), "--quiet"}).code == cli::kExitExpectationFailed);
}

TEST_CASE("shrink: a checker failure prints the checker's evidence in the minimal run",
          "[farm][shrink]") {
  const fs::path dir = fs::path(FAULTLINE_BINARY_DIR) / "shrink" / "checker";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const auto file = dir / "toy.json";
  std::ofstream(file) << R"({"format_version": 1, "name": "toy-checker", "seed": 1,
    "story": {"summary": "a checker that always fails", "sources": ["test"]},
    "epoch": "2020-01-01T00:00:00Z", "duration": "4s",
    "model": {"name": "toy", "params": {}},
    "faults": [{"kind": "outage", "at": "1s", "for": "1s"}, {"kind": "outage", "at": "2s"}],
    "expectations": [{"metric": "checker", "checker": "never_ok"}]})";
  const auto r = faultline_cli({"shrink", file.string(), "--seed", "5"});
  INFO(r.out << r.err);
  REQUIRE(r.code == cli::kExitOk);
  // The failure needs no fault at all, and the shrinker says so.
  CHECK(r.out.find("0 faults left") != std::string::npos);
  CHECK(r.out.find("the checker's minimal failing sub-history:") != std::string::npos);
  CHECK(r.out.find("    witness op 20") != std::string::npos);
}

// An expectation that the incident must hurt (here: availability at most 0.5, which the
// crash of a quarter of the API does not reach) fails further from its bound with no fault at
// all. The old shrinker "minimised" it to no fault; now it says so and writes nothing. Turned
// back into a hold-up expectation (min 0.97), the same file shrinks as before.
TEST_CASE("shrink: an incident-must-hurt failure is reported, not shrunk to no fault",
          "[farm][shrink]") {
  const auto file = fixture_copy("hurt");
  const auto minimal = file.parent_path() / "planted-crash.base.seed3.min.json";
  const auto r = faultline_cli({"shrink", file.string(), "--seed", "3", "--set",
                                "expectations.0.min=0", "--set", "expectations.0.max=0.5"});
  INFO(r.out << r.err);
  REQUIRE(r.code == cli::kExitOk);
  CHECK(r.out.find("fails even with no fault at all, and by more") != std::string::npos);
  CHECK(r.out.find("nothing to shrink") != std::string::npos);
  CHECK(r.out.find("--set expectations.0.max=0.5") != std::string::npos);
  CHECK_FALSE(fs::exists(minimal));
}

TEST_CASE("shrink: a passing seed, bad input and unwritable outputs", "[farm][shrink]") {
  const auto file = fixture_copy("errors");
  const auto pass = faultline_cli({"shrink", file.string(), "--seed", "3", "--set",
                         "expectations.0.min=0.5"});
  CHECK(pass.code == cli::kExitOk);
  CHECK(pass.out.find("nothing to shrink") != std::string::npos);
  CHECK_FALSE(fs::exists(file.parent_path() / "planted-crash.base.seed3.min.json"));

  CHECK(faultline_cli({"shrink", file.string()}).code == cli::kExitBadInput);
  CHECK(faultline_cli({"shrink", file.string(), "--seed", "x"}).code == cli::kExitBadInput);
  CHECK(faultline_cli({"shrink", (file.parent_path() / "missing.json").string(), "--seed", "1"}).code ==
        cli::kExitBadInput);
  const auto bad_variant = faultline_cli({"shrink", file.string(), "--seed", "1", "--variant", "nope"});
  CHECK(bad_variant.code == cli::kExitBadInput);
  CHECK(bad_variant.err.find("/variants") != std::string::npos);
  CHECK(faultline_cli({"shrink", file.string(), "--seed", "1", "-o", "/no/such/dir/x.json"}).code ==
        cli::kExitBadInput);
  CHECK(faultline_cli({"shrink", file.string(), "--seed", "1", "--bogus"}).code == cli::kExitBadInput);
}
