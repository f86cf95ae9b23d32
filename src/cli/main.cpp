// The faultline command line. For now: a kernel demo; scenario commands arrive with the
// scenario layer.
#include <faultline/simulation.hpp>
#include <faultline/task.hpp>

#include <cstdio>
#include <string_view>

using namespace faultline::literals;

namespace {

faultline::Task<void> ping(faultline::Simulation& sim, int id, int rounds) {
  for (int i = 0; i < rounds; ++i) {
    co_await sim.sleep(faultline::Duration::millis(10 + id));
    sim.record("demo", "tick", {{"task", id}, {"round", i}});
  }
}

int demo() {
  faultline::Simulation sim({.seed = 42});
  faultline::Process proc(sim, "demo");
  for (int id = 0; id < 3; ++id) {
    proc.spawn(ping(sim, id, 5));
  }
  sim.run();
  std::printf("kernel demo: %llu events, %llu trace records, trace hash %016llx, ended at %s\n",
              static_cast<unsigned long long>(sim.events_run()),
              static_cast<unsigned long long>(sim.trace().count()),
              static_cast<unsigned long long>(sim.trace().hash()),
              sim.utc_now().to_string().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string_view cmd = argc > 1 ? argv[1] : "demo";
  if (cmd == "demo") {
    return demo();
  }
  std::fprintf(stderr, "faultline: unknown command '%.*s' (try: faultline demo)\n",
               static_cast<int>(cmd.size()), cmd.data());
  return 2;
}
