// Reproduces Marc Brooker, "Exponential Backoff And Jitter" (AWS Architecture Blog, 2015):
// N clients each make one optimistic-concurrency write to a single row. A client reads the
// row's version, then writes conditional on it; a conflicting write fails and the client
// backs off and starts over. Network delay is |N(10 ms, 2 ms)| per message, base 5 ms,
// cap 2 s, as in the blog's simulator. The blog's finding: exponential backoff without jitter
// does the most work; full jitter the least; equal and decorrelated jitter in between.
#include <faultline/resilience/backoff.hpp>
#include <faultline/simulation.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

using namespace faultline;
using namespace faultline::resilience;

namespace {

struct OccResult {
  std::uint64_t calls = 0;  // conditional writes sent
  Duration completion;      // time until the last client's write succeeded
};

OccResult run_occ(int clients, Jitter jitter, std::uint64_t seed) {
  Simulation sim(Simulation::Options{.seed = seed});
  Rng net = sim.rng("net");
  auto delay = [&net] {
    return Duration::from_seconds(std::abs(net.normal(10.0, 2.0)) * 1e-3);
  };
  RetryParams rp;
  rp.max_attempts = 100;
  rp.base = Duration::millis(5);
  rp.cap = Duration::millis(2000);
  rp.jitter = jitter;

  struct Client {
    Backoff backoff;
    Rng rng;
    int failures = 0;
  };
  std::vector<std::unique_ptr<Client>> cs;
  std::uint64_t version = 0;
  OccResult result;
  for (int i = 0; i < clients; ++i) {
    cs.push_back(std::make_unique<Client>(
        Client{Backoff(rp), sim.rng("client/" + std::to_string(i)), 0}));
  }
  // read -> reply -> conditional write -> reply -> done or back off and read again
  std::function<void(Client*)> start_read = [&](Client* c) {
    sim.schedule_after(delay(), [&, c] {
      const std::uint64_t seen = version;  // the server reads the row
      sim.schedule_after(delay(), [&, c, seen] {
        sim.schedule_after(delay(), [&, c, seen] {
          ++result.calls;  // the server handles the conditional write
          const bool ok = seen == version;
          if (ok) {
            ++version;
          }
          sim.schedule_after(delay(), [&, c, ok] {
            if (ok) {
              result.completion = sim.now().since_start();
              return;
            }
            ++c->failures;
            const Duration pause = c->backoff.delay(c->failures, c->rng);
            sim.schedule_after(pause, [&, c] { start_read(c); });
          });
        });
      });
    });
  };
  for (auto& c : cs) {
    start_read(c.get());
  }
  sim.run();
  REQUIRE(version == static_cast<std::uint64_t>(clients));
  return result;
}

struct Mean {
  double calls = 0;
  double completion_ms = 0;
};
Mean mean_of(int clients, Jitter j, int runs) {
  Mean m;
  for (int r = 0; r < runs; ++r) {
    const OccResult o = run_occ(clients, j, 1000 + static_cast<std::uint64_t>(r));
    m.calls += static_cast<double>(o.calls) / runs;
    m.completion_ms += o.completion.to_millis() / runs;
  }
  return m;
}
double mean_calls(int clients, Jitter j, int runs) { return mean_of(clients, j, runs).calls; }

}  // namespace

TEST_CASE("backoff story: full jitter needs far fewer calls than un-jittered backoff, with "
          "equal and decorrelated jitter in between (Brooker 2015)",
          "[resilience][backoff][story]") {
  const int clients = 50;
  const int runs = 20;
  const double none = mean_calls(clients, Jitter::none, runs);
  const double full = mean_calls(clients, Jitter::full, runs);
  const double equal = mean_calls(clients, Jitter::equal, runs);
  const double decorrelated = mean_calls(clients, Jitter::decorrelated, runs);
  INFO("calls per run, 50 clients: none " << none << ", full " << full << ", equal " << equal
                                          << ", decorrelated " << decorrelated);
  CHECK(full < 0.75 * none);
  CHECK(equal < none);
  CHECK(decorrelated < none);
  CHECK(full < equal);
  CHECK(full < decorrelated);
  WARN("calls per run, 50 clients: none " << none << ", full " << full << ", equal " << equal
                                          << ", decorrelated " << decorrelated);
}

TEST_CASE("backoff story: the figure, calls and completion time for 10 to 50 clients",
          "[resilience][backoff][story][.slow]") {
  for (int clients = 10; clients <= 50; clients += 10) {
    for (Jitter j : {Jitter::none, Jitter::full, Jitter::equal, Jitter::decorrelated}) {
      const Mean m = mean_of(clients, j, 100);
      WARN(clients << " clients, " << to_string(j) << ": " << m.calls << " calls, "
                   << m.completion_ms << " ms");
      CHECK(m.calls >= clients);  // every client's write succeeded once
    }
  }
}
