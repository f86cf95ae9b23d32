// Fuzz targets of the scenario loader (issue #19): any input either loads or is refused with a
// ScenarioError (exit 2 in the CLI); anything else that escapes, or a crash, a hang or a
// sanitizer report, is a bug.
//
//   fuzz_loader: parse, resolve and validate every variant (what `faultline validate` does).
//   fuzz_run:    the same, then run the base for at most 20 ms of simulated time.
//
// Built with clang's libFuzzer when FAULTLINE_FUZZ is on; always built as a corpus replayer
// (replay_main.cpp) that runs every committed input that once failed as an ordinary test.
#include <faultline/scenario/runner.hpp>
#include <faultline/scenario/scenario.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

namespace {

using namespace faultline;
using namespace faultline::scenario;

const ModelRegistry& registry() {
  static const ModelRegistry r = [] {
    ModelRegistry m;
    register_builtin_models(m);
    return m;
  }();
  return r;
}

[[noreturn]] void bug(const char* what) {
  std::fprintf(stderr, "fuzz: an input escaped as \"internal error\": %s\n", what);
  std::abort();
}

}  // namespace

// Returns 0 whether the input loaded or was refused; aborts on anything else.
int fuzz_scenario_one(const std::uint8_t* data, std::size_t size, bool run) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    auto file = ScenarioFile::parse(text, "fuzz.json");
    validate_file(file, registry());
    if (run) {
      auto spec = file.resolve(kBaseVariant, {}, registry());
      // Briefly: the point is the model's start and first events, not a long simulation.
      if (spec.duration > Duration::millis(20)) {
        spec.duration = Duration::millis(20);
        spec.expectations.clear();  // windows of the full run do not fit the short one
        spec.observations.clear();
      }
      (void)run_scenario(spec, registry());
    }
  } catch (const ScenarioError&) {
    return 0;  // refused with a path and a fix: the loader did its job
  } catch (const std::exception& e) {
    bug(e.what());
  }
  return 0;
}
