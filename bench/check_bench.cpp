// Benchmark of the check layer's checkers on generated histories.
//
// Build (standalone):
//   g++ -O2 -std=c++20 -I include bench/check_bench.cpp
//       <build>/src/check/libfaultline_check.a <build>/src/kernel/libfaultline_kernel.a -lfmt
// Run: ./a.out [--quick | --append]
//   --quick: one case of each kind. --append: only the list-append cases (issue #13: values
//   0-4, 10 keys and 1 key, each check bounded to 5 s and 256 MB), then the peak resident
//   memory of the process.
//
// Histories come from a correct sequential key-value store driven by concurrent clients, as
// in a simulation: each operation takes effect at one instant inside its [invoke, complete]
// interval; a few end as `info` (timeouts) having taken effect or not. Timing uses the wall
// clock: benchmarks are outside the simulation's determinism contract.
#include <faultline/check/check.hpp>
#include <faultline/rng.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <sys/resource.h>

namespace {

using namespace faultline;
using namespace faultline::check;

struct Workload {
  int clients = 10;
  int ops = 10'000;
  int keys = 200;
  int info_pct = 2;
  bool transactions = false;
  /// Mean operation latency relative to mean think time: higher means more overlap.
  std::int64_t latency_us = 2000;
  std::int64_t think_us = 500;
  /// Appends and list reads (Elle's list-append, one key at a time) instead of registers.
  bool appends = false;
  /// Values drawn from 0..value_range-1 (as Jepsen's clients do); 0: unique values.
  std::int64_t value_range = 0;
};

History generate(std::uint64_t seed, const Workload& w) {
  Rng rng(seed);
  struct G {
    std::int64_t client, invoke, point, complete;
    Op op;
    bool info = false;
    bool applies = true;
  };
  std::vector<G> ops;
  std::vector<std::int64_t> free_at(static_cast<std::size_t>(w.clients), 0);
  std::int64_t next_value = 1;
  auto key = [&] { return "k" + std::to_string(rng.below(static_cast<std::uint64_t>(w.keys))); };
  for (int i = 0; i < w.ops; ++i) {
    auto c = static_cast<std::size_t>(rng.below(static_cast<std::uint64_t>(w.clients)));
    G g;
    g.client = static_cast<std::int64_t>(c);
    g.invoke = free_at[c] + static_cast<std::int64_t>(rng.exponential(double(w.think_us)));
    std::int64_t latency = 1 + static_cast<std::int64_t>(rng.exponential(double(w.latency_us)));
    g.point = g.invoke + rng.uniform_int(0, latency - 1);
    g.complete = g.invoke + latency;
    free_at[c] = g.complete + 1;
    if (w.transactions) {
      std::vector<MicroOp> steps;
      for (std::int64_t s = rng.uniform_int(1, 4); s > 0; --s) {
        if (rng.below(2) == 0) {
          steps.push_back(MicroOp::read(key()));
        } else {
          steps.push_back(MicroOp::write(key(), next_value++));
        }
      }
      g.op = Op::transaction(std::move(steps));
    } else if (w.appends) {
      std::int64_t v = w.value_range > 0 ? rng.uniform_int(0, w.value_range - 1) : next_value++;
      g.op = rng.below(2) == 0 ? Op::read(key()) : Op::append(key(), v);
    } else {
      auto roll = rng.below(100);
      g.op = roll < 50 ? Op::read(key())
             : roll < 90 ? Op::write(key(), next_value++)
                         : Op::cas(key(), Value::nil(), next_value++);
    }
    if (g.op.kind != OpKind::kRead && rng.below(100) < static_cast<std::uint64_t>(w.info_pct)) {
      g.info = true;
      g.applies = rng.below(2) == 0;
    }
    ops.push_back(std::move(g));
  }
  std::vector<std::size_t> order(ops.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    order[i] = i;
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return ops[a].point < ops[b].point; });
  std::map<std::string, Value> store;
  for (std::size_t i : order) {
    G& g = ops[i];
    if (!g.applies) {
      continue;
    }
    if (g.op.kind == OpKind::kRead) {
      g.op.value = store[g.op.key];
    } else if (g.op.kind == OpKind::kWrite) {
      store[g.op.key] = g.op.value;
    } else if (g.op.kind == OpKind::kAppend) {
      store[g.op.key] = store[g.op.key].appended(g.op.value.as_int());
    } else if (g.op.kind == OpKind::kCas) {
      g.op.expected = store[g.op.key];
      store[g.op.key] = g.op.value;
    } else {
      for (MicroOp& m : g.op.txn) {
        if (m.kind == OpKind::kRead) {
          m.value = store[m.key];
        } else {
          store[m.key] = m.value;
        }
      }
    }
  }
  struct Ev {
    std::int64_t t;
    int kind;
    std::size_t op;
  };
  std::vector<Ev> evs;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    evs.push_back({ops[i].invoke, 1, i});
    evs.push_back({ops[i].complete, 0, i});
  }
  std::sort(evs.begin(), evs.end(), [](const Ev& a, const Ev& b) {
    return a.t != b.t ? a.t < b.t : a.kind != b.kind ? a.kind < b.kind : a.op < b.op;
  });
  History h;
  for (const Ev& e : evs) {
    const G& g = ops[e.op];
    Time t = Time::zero() + Duration::micros(e.t);
    if (e.kind == 1) {
      Op invoked = g.op;
      if (invoked.kind == OpKind::kRead) {
        invoked.value = Value::nil();
      }
      h.invoke(g.client, t, invoked);
    } else if (g.info) {
      h.info(g.client, t);
    } else {
      h.ok(g.client, t, g.op,
           w.transactions ? std::optional<std::int64_t>(g.point) : std::nullopt);
    }
  }
  return h;
}

/// Makes the last ok read that has an older overwritten value return it instead (stale).
bool inject_stale_read(History& h) {
  std::vector<Operation> ops = h.operations();
  for (auto r = ops.rbegin(); r != ops.rend(); ++r) {
    if (!r->ok() || r->op.kind != OpKind::kRead) {
      continue;
    }
    const Operation* w2 = nullptr;
    for (const Operation& w : ops) {
      if (w.ok() && w.op.kind == OpKind::kWrite && w.op.key == r->op.key &&
          w.complete_event < r->invoke_event) {
        w2 = &w;
      }
    }
    if (w2 == nullptr) {
      continue;
    }
    for (const Operation& w1 : ops) {
      if (w1.ok() && w1.op.kind == OpKind::kWrite && w1.op.key == r->op.key &&
          w1.complete_event < w2->invoke_event) {
        History out;
        for (std::size_t i = 0; i < h.events().size(); ++i) {
          Event e = h.events()[i];
          if (i == r->complete_event) {
            e.op.value = w1.op.value;
          }
          out.add(std::move(e));
        }
        h = std::move(out);
        return true;
      }
    }
  }
  return false;
}

/// Drops the last element from the list returned by the ok read at about `fraction` of the
/// history: the append it shows completed and is now missing (a lost append).
bool inject_lost_append(History& h, double fraction) {
  std::vector<Operation> ops = h.operations();
  auto start = static_cast<std::size_t>(fraction * static_cast<double>(ops.size()));
  for (std::size_t i = start; i < ops.size(); ++i) {
    const Operation& r = ops[i];
    if (!r.ok() || r.op.kind != OpKind::kRead || !r.op.value.is_list() ||
        r.op.value.as_list().size() < 3) {
      continue;
    }
    History out;
    for (std::size_t e = 0; e < h.events().size(); ++e) {
      Event ev = h.events()[e];
      if (e == r.complete_event) {
        std::vector<std::int64_t> items = ev.op.value.as_list();
        items.erase(items.begin() + static_cast<std::ptrdiff_t>(items.size() / 2));
        ev.op.value = Value::list(std::move(items));
      }
      out.add(std::move(ev));
    }
    h = std::move(out);
    return true;
  }
  return false;
}

double time_ms(const std::function<void()>& fn, int reps) {
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    auto start = std::chrono::steady_clock::now();
    fn();
    auto end = std::chrono::steady_clock::now();
    t.push_back(std::chrono::duration<double, std::milli>(end - start).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

void row(const char* what, std::size_t events, double ms, const CheckResult& r) {
  std::printf("%-58s %7zu events %9.1f ms  %s\n", what, events, ms,
              r.ok ? "ok" : r.inconclusive ? "INCONCLUSIVE" : "FAILED");
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const int reps = quick || (argc > 1 && std::strcmp(argv[1], "--append") == 0) ? 1 : 3;
  std::printf("check layer benchmark (median of %d runs)\n", reps);

  struct Case {
    const char* name;
    Workload w;
  };
  std::vector<Case> lin_cases = {
      {"linearizable: 10k ops, 10 clients, 200 keys", {10, 10'000, 200, 2, false, 2000, 500}},
      {"linearizable: 10k ops, 10 clients, 20 keys", {10, 10'000, 20, 2, false, 2000, 500}},
      {"linearizable: 1k ops, 10 clients, 1 key", {10, 1'000, 1, 2, false, 2000, 500}},
      {"linearizable: 10k ops, 10 clients, 1 key", {10, 10'000, 1, 2, false, 2000, 500}},
      {"linearizable: 2k ops, 20 clients, 1 key, no info", {20, 2'000, 1, 0, false, 2000, 500}},
  };
  if (quick) {
    lin_cases.resize(1);
  }
  if (argc > 1 && std::strcmp(argv[1], "--append") == 0) {
    lin_cases.clear();
  }
  for (const Case& c : lin_cases) {
    History h = generate(1, c.w);
    CheckResult r;
    double ms = time_ms([&] { r = check_linearizable(h, Model::key_value()); }, reps);
    row(c.name, h.size(), ms, r);
    History bad = h;
    if (inject_stale_read(bad)) {
      std::string name = std::string("  + one stale read (search, shrink, explain)");
      double bad_ms = time_ms([&] { r = check_linearizable(bad, Model::key_value()); }, reps);
      row(name.c_str(), bad.size(), bad_ms, r);
      LinearizabilityOptions no_shrink;
      no_shrink.minimise = false;
      double search_ms =
          time_ms([&] { r = check_linearizable(bad, Model::key_value(), no_shrink); }, reps);
      row("  + one stale read (search only, no shrinking)", bad.size(), search_ms, r);
    }
  }
  {
    // List-valued states (issue #13): 2,000 appends and reads of small values (0-4) on 10
    // keys, correct and with one element dropped from a read's list.
    struct AppendCase {
      const char* name;
      Workload w;
      double where;
    };
    std::vector<AppendCase> append_cases = {
        {"list-append: 2k ops, 10 clients, 10 keys, values 0-4", {10, 2'000, 10, 2, false, 2000, 500, true, 5}, 0.5},
        {"list-append: 2k ops, 10 clients, 1 key, values 0-4", {10, 2'000, 1, 2, false, 2000, 500, true, 5}, 0.5},
        {"list-append: 10k ops, 10 clients, 10 keys, values 0-4", {10, 10'000, 10, 2, false, 2000, 500, true, 5}, 0.9},
    };
    if (quick) {
      append_cases.resize(1);
    }
    if (argc > 1 && std::strcmp(argv[1], "--append") == 0) {
      append_cases.resize(2);
    }
    // Bounded: 5 s and 256 MB at most per check; an undecided key is reported as such.
    LinearizabilityOptions bounded;
    bounded.time_limit = std::chrono::milliseconds(5000);
    bounded.memory_limit_bytes = std::size_t{256} << 20;
    for (const AppendCase& c : append_cases) {
      History h = generate(5, c.w);
      CheckResult r;
      double ms =
          time_ms([&] { r = check_linearizable(h, Model::list_append(), bounded); }, reps);
      row(c.name, h.size(), ms, r);
      std::printf("    %s\n", r.summary.c_str());
      if (r.inconclusive) {
        std::printf("    %s\n", r.details.c_str());
      }
      History bad = h;
      if (inject_lost_append(bad, c.where)) {
        double bad_ms =
            time_ms([&] { r = check_linearizable(bad, Model::list_append(), bounded); }, reps);
        row("  + one lost append (search, shrink, explain)", bad.size(), bad_ms, r);
        LinearizabilityOptions no_shrink = bounded;
        no_shrink.minimise = false;
        double search_ms = time_ms(
            [&] { r = check_linearizable(bad, Model::list_append(), no_shrink); }, reps);
        row("  + one lost append (search only, no shrinking)", bad.size(), search_ms, r);
      }
    }
  }
  {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    std::printf("peak resident memory so far: %ld MB\n", usage.ru_maxrss / 1024);
  }
  if (argc > 1 && std::strcmp(argv[1], "--append") == 0) {
    return 0;
  }
  {
    History h = generate(2, {10, 10'000, 200, 2, false, 2000, 500});
    CheckResult r;
    double ms = time_ms([&] { r = check_stale_reads_and_lost_updates(h); }, reps);
    row("stale reads / lost updates: 10k ops, 200 keys", h.size(), ms, r);
  }
  {
    History h = generate(3, {10, 10'000, 200, 2, true, 2000, 500});
    CheckResult r;
    double ms = time_ms([&] { r = check_strict_serializable(h); }, reps);
    row("strict serializability: 10k txns (1-4 steps), 200 keys", h.size(), ms, r);
  }
  {
    History h;
    std::vector<Effect> effects;
    Rng rng(4);
    std::int64_t t = 0;
    for (int i = 0; i < 10'000; ++i) {
      std::string id = "ik_" + std::to_string(i);
      h.invoke(i % 10, Time::zero() + Duration::micros(t), Op::request(id));
      effects.push_back({id, Time::zero() + Duration::micros(t), ""});
      h.ok(i % 10, Time::zero() + Duration::micros(t + 1));
      t += 2;
    }
    CheckResult r;
    double ms = time_ms([&] { r = check_exactly_once(h, effects); }, reps);
    row("exactly-once: 10k requests, 10k effects", h.size(), ms, r);
  }
  return 0;
}
