// Swarm testing in sweeps: each seed runs a subset of the fault kinds, chosen by the seed.
#include "cli_fixture.hpp"
#include "swarm.hpp"

#include <faultline/scenario/registry.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace fs = std::filesystem;
using namespace faultline;

namespace {

faultline::testing::CliOutcome faultline_cli(const std::vector<std::string>& args) {
  static const scenario::ModelRegistry registry = [] {
    scenario::ModelRegistry r;
    scenario::register_builtin_models(r);
    return r;
  }();
  return faultline::testing::run_cli_captured(args, registry);
}

const std::string kPlanted = FAULTLINE_SOURCE_DIR "/tests/farm/fixtures/planted-crash.json";

}  // namespace

TEST_CASE("swarm: the combination is a function of the seed, about half on, never empty",
          "[farm][swarm]") {
  const std::vector<std::string> kinds = {"crash", "latency", "partition"};
  std::vector<int> on(kinds.size());
  std::set<std::vector<bool>> combinations;
  for (std::uint64_t seed = 1; seed <= 400; ++seed) {
    const auto mask = cli::swarm_mask(kinds, seed);
    REQUIRE(mask == cli::swarm_mask(kinds, seed));
    REQUIRE(std::count(mask.begin(), mask.end(), true) >= 1);
    combinations.insert(mask);
    for (std::size_t i = 0; i < kinds.size(); ++i) {
      on[i] += mask[i] ? 1 : 0;
    }
  }
  // Seven non-empty combinations of three kinds; each kind on in 4/7 of them on average
  // (229 of 400), within a wide band so that only a broken coin fails.
  CHECK(combinations.size() == 7);
  for (int n : on) {
    CHECK(n > 180);
    CHECK(n < 280);
  }
}

TEST_CASE("swarm: only the seeds that kept the necessary fault fail, each naming its "
          "combination and a replay that fails",
          "[farm][swarm]") {
  const auto r = faultline_cli({"sweep", kPlanted, "--seeds", "1..12", "-j", "2", "--swarm"});
  INFO(r.out << r.err);
  // The fixture's kinds in order of first use: latency, then crash. Only the crash matters.
  std::size_t crash_on = 0;
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    const bool on = cli::swarm_mask({"latency", "crash"}, seed)[1];
    crash_on += on ? 1 : 0;
    const bool listed = r.out.find("  seed " + std::to_string(seed) + ": ✗") != std::string::npos;
    CHECK(listed == on);
  }
  REQUIRE(crash_on > 0);
  REQUIRE(crash_on < 12);  // else the test shows nothing about the swarm
  CHECK(r.code == cli::kExitExpectationFailed);
  CHECK(r.out.find(std::to_string(12 - crash_on) + " passed, " + std::to_string(crash_on) +
                   " failed") != std::string::npos);
  // Each failing seed names its combination, with the crash on.
  const std::regex swarm_line("    swarm: ([a-z+-]+)");
  std::size_t lines = 0;
  for (auto it = std::sregex_iterator(r.out.begin(), r.out.end(), swarm_line);
       it != std::sregex_iterator(); ++it) {
    ++lines;
    CHECK((*it)[1].str().find("crash") != std::string::npos);
  }
  CHECK(lines == crash_on);
  // The replay command of the first failing seed (with its faults as --set) fails too.
  const std::regex replay("--seed ([0-9]+) --set '(faults=[^']*)'");
  std::smatch m;
  REQUIRE(std::regex_search(r.out, m, replay));
  CHECK(faultline_cli({"run", kPlanted, "--seed", m[1].str(), "--set", m[2].str(), "--quiet"})
            .code == cli::kExitExpectationFailed);

  // Without --swarm every seed runs the crash and fails.
  const auto all = faultline_cli({"sweep", kPlanted, "--seeds", "1..4", "-j", "2"});
  CHECK(all.out.find("0 passed, 4 failed") != std::string::npos);
  CHECK(all.out.find("swarm:") == std::string::npos);
}

TEST_CASE("swarm: the scenario's section turns it on; a malformed one names its path",
          "[farm][swarm]") {
  const fs::path dir = fs::path(FAULTLINE_BINARY_DIR) / "swarm";
  fs::create_directories(dir);
  std::ifstream in(kPlanted);
  auto doc = nlohmann::json::parse(in);
  doc["swarm"] = {{"kinds", {"crash"}}};
  std::ofstream(dir / "only-crash.json") << doc.dump(2);
  const auto r = faultline_cli({"sweep", (dir / "only-crash.json").string(), "--seeds", "1..8",
                                "-j", "2"});
  INFO(r.out << r.err);
  // Swarming only the crash: it is on in every seed (at least one kind is), latencies stay.
  CHECK(r.out.find("0 passed, 8 failed") != std::string::npos);
  CHECK(r.out.find("    swarm: crash\n") != std::string::npos);
  // `run` ignores the section.
  CHECK(faultline_cli({"run", (dir / "only-crash.json").string(), "--quiet"}).code ==
        cli::kExitExpectationFailed);

  doc["swarm"] = {{"kinds", {"crush"}}};
  std::ofstream(dir / "bad.json") << doc.dump(2);
  const auto bad = faultline_cli({"sweep", (dir / "bad.json").string(), "--seeds", "1..2"});
  CHECK(bad.code == cli::kExitBadInput);
  CHECK(bad.err.find("/swarm/kinds/0") != std::string::npos);
}
