#include "shrink_command.hpp"

#include "cli.hpp"

#include <faultline/report/output_file.hpp>
#include <faultline/scenario/diagnostics.hpp>
#include <faultline/scenario/runner.hpp>
#include <faultline/scenario/scenario.hpp>
#include <faultline/trace.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>

namespace faultline::cli {
namespace {

namespace fs = std::filesystem;
using scenario::Json;

constexpr const char* kShrinkHelp = R"(usage: faultline shrink FILE --seed N [options]

Searches for a smaller scenario that fails the same expectation (or the same checker) as
FILE's variant on seed N: random faults materialised into the explicit faults that fired, then
fewer faults, shorter fault windows, a shorter run and smaller populations (params counting
instances, nodes, clients, keys...), by delta debugging. Every expectation that held in the
failing run must still hold in a smaller one. An expectation that fails even with no fault
at all, and further from its bound (the incident must hurt, and on this seed it hurt less),
is reported, not shrunk: to tell, a scenario with faults is first run once more with every
fault removed (one run of the budget, counted in the runs printed).
Deterministic. Writes the minimal scenario next to FILE, prints what it removed and the
command that replays it.

options:
  --seed N            the failing seed (required)
  --variant NAME      the failing variant (default: base)
  --set PATH=VALUE    an override the failing run used (as for run)
  --budget N          at most N runs (default 200; each step stops when it runs out)
  -o OUT.json         where to write the minimal scenario
                      (default: FILE's folder, <stem>.<variant>.seed<N>.min.json)
  --quiet             print only the result

exit codes: 0 written (or the seed passes: nothing to shrink), 2 bad input, 3 internal error,
            4 the output could not be written
)";

struct Usage : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::uint64_t parse_count(const std::string& flag, const std::string& text) {
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) {
    throw Usage(flag + ": \"" + text + "\" is not a non-negative integer");
  }
  return v;
}

// A fault that fired, as the trace recorded it.
struct FiredRecord {
  Time time;
  std::string kind;
  std::string target;
  std::string origin;
};

class FaultRecorder : public TraceSink {
public:
  void on_record(const TraceRecordView& r) override {
    if (r.source != "fault") {
      return;
    }
    FiredRecord f{r.time, std::string(r.kind), {}, {}};
    for (const auto& field : r.fields) {
      if (field.key == "target") {
        f.target = field.value.to_string();
      } else if (field.key == "origin") {
        f.origin = field.value.to_string();
      }
    }
    fired.push_back(std::move(f));
  }
  std::vector<FiredRecord> fired;
};

// A duration as the scenario format writes it, exactly.
std::string duration_text(Duration d) {
  const std::string pretty = d.to_string();
  if (auto back = Duration::parse(pretty); back && back->ns() == d.ns()) {
    return pretty;
  }
  return fmt::format("{}ns", d.ns());
}

std::string fault_brief(const Json& f) {
  std::string s = f.value("kind", std::string("?"));
  if (f.contains("target") && f["target"].is_string()) {
    s += " " + f["target"].get<std::string>();
  }
  if (f.contains("mean_interval")) {
    s += " random every " + f["mean_interval"].dump();
  } else if (f.contains("at")) {
    s += " at " + f["at"].get<std::string>();
  }
  if (f.contains("for")) {
    s += " for " + f["for"].get<std::string>();
  }
  return s;
}

// Integer params named like a population size: smaller ones make a smaller run.
bool population_key(const std::string& key) {
  static const std::set<std::string> kNames = {
      "instances", "nodes",    "clients", "keys",     "processes", "members", "hosts",
      "replicas",  "accounts", "workers", "shards",   "partitions", "servers", "tables",
      "items",     "users",    "count",   "key_count", "node_count", "client_count"};
  return kNames.count(key) > 0;
}

void collect_populations(const Json& j, const std::string& pointer,
                         std::vector<std::string>& out) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string child = pointer + "/" + it.key();
      if (it->is_number_integer() && population_key(it.key()) && it->get<std::int64_t>() > 1) {
        out.push_back(child);
      } else {
        collect_populations(*it, child, out);
      }
    }
  } else if (j.is_array()) {
    for (std::size_t i = 0; i < j.size(); ++i) {
      collect_populations(j[i], pointer + "/" + std::to_string(i), out);
    }
  }
}

std::string dotted(const std::string& pointer) {
  std::string s = pointer.substr(1);
  std::replace(s.begin(), s.end(), '/', '.');
  return s;
}

class Shrinker {
public:
  Shrinker(const scenario::ModelRegistry& registry, std::string path, std::uint64_t seed,
           std::size_t budget)
      : registry_(registry), path_(std::move(path)), seed_(seed), budget_(budget) {}

  std::size_t runs() const { return runs_; }
  bool out_of_budget() const { return runs_ >= budget_; }
  void set_target(std::string target) { target_ = std::move(target); }
  const std::string& target() const { return target_; }

  /// Runs a candidate; nullopt when it is not a valid scenario or the budget is spent.
  std::optional<scenario::RunResult> run(const Json& doc, FaultRecorder* recorder = nullptr) {
    if (out_of_budget()) {
      return std::nullopt;
    }
    return run_beyond_budget(doc, recorder);
  }
  /// The first and the last run (the original and the minimal scenario) are always made.
  std::optional<scenario::RunResult> run_beyond_budget(const Json& doc,
                                                       FaultRecorder* recorder = nullptr) {
    ++runs_;
    try {
      const auto file = scenario::ScenarioFile::parse(doc.dump(), path_);
      const auto spec = file.resolve(scenario::kBaseVariant, {}, registry_);
      scenario::RunOptions options;
      options.seed = seed_;
      if (recorder != nullptr) {
        options.sinks.push_back(recorder);
      }
      return scenario::run_scenario(spec, registry_, options);
    } catch (const scenario::ScenarioError&) {
      return std::nullopt;  // a candidate the format or the model rejects is not a failure
    }
  }

  /// The first failed expectation's identity in a run, "" when every one holds.
  static std::string first_failure(const scenario::RunResult& r) {
    for (const auto& e : r.expectations) {
      if (!e.ok) {
        return e.description + " " + e.bound;
      }
    }
    return {};
  }

  const scenario::ExpectationResult* target_result(const scenario::RunResult& r) const {
    for (const auto& e : r.expectations) {
      if (!e.ok && e.description + " " + e.bound == target_) {
        return &e;
      }
    }
    return nullptr;
  }

  /// Every expectation of `r` that holds, by identity: a candidate must keep them holding.
  void keep_passing(const scenario::RunResult& r) {
    keep_.clear();
    for (const auto& e : r.expectations) {
      if (e.ok) {
        keep_.insert(e.description + " " + e.bound);
      }
    }
  }
  std::size_t kept() const { return keep_.size(); }

  /// The candidate fails the target, and every expectation that held in the failing run
  /// still holds: a smaller scenario that breaks something else as well is not the same
  /// failure (without this, an expectation that the incident must hurt "shrinks" to no fault
  /// at all while the expectations that the incident happened fail beside it).
  bool fails(const Json& doc) {
    auto r = run(doc);
    if (!r || target_result(*r) == nullptr) {
      return false;
    }
    std::size_t holding = 0;
    for (const auto& e : r->expectations) {
      if (e.ok && keep_.count(e.description + " " + e.bound) > 0) {
        ++holding;
      }
    }
    return holding == keep_.size();
  }

  /// The target fails in this candidate on the same side of its bound as in `failing`, and
  /// further from it: the faults that `failing` had were pushing it toward passing.
  bool fails_more_without(const Json& doc, const scenario::RunResult& failing) {
    const scenario::ExpectationResult* was = target_result(failing);
    auto r = run(doc);
    const scenario::ExpectationResult* now = r ? target_result(*r) : nullptr;
    if (was == nullptr || now == nullptr || was->miss == 0 || now->miss != was->miss) {
      return false;
    }
    return was->miss < 0 ? now->value < was->value : now->value > was->value;
  }

private:
  const scenario::ModelRegistry& registry_;
  std::string path_;
  std::uint64_t seed_;
  std::size_t budget_;
  std::size_t runs_ = 0;
  std::string target_;
  std::set<std::string> keep_;
};

Json with_faults(const Json& doc, const std::vector<Json>& faults) {
  Json d = doc;
  if (faults.empty()) {
    d.erase("faults");
  } else {
    d["faults"] = faults;
  }
  return d;
}

// Classic ddmin (Zeller and Hildebrandt, 2002) over the fault list: a 1-minimal list, i.e.
// removing any single remaining fault makes the failure go away (within the budget).
std::vector<Json> ddmin(std::vector<Json> items, const Json& doc, Shrinker& s) {
  if (s.fails(with_faults(doc, {}))) {
    return {};
  }
  std::size_t n = 2;
  while (items.size() >= 2 && !s.out_of_budget()) {
    const std::size_t chunk = (items.size() + n - 1) / n;
    bool reduced = false;
    // The chunks themselves, then their complements.
    for (int pass = 0; pass < 2 && !reduced; ++pass) {
      for (std::size_t start = 0; start < items.size() && !reduced; start += chunk) {
        const std::size_t end = std::min(items.size(), start + chunk);
        std::vector<Json> candidate;
        for (std::size_t i = 0; i < items.size(); ++i) {
          const bool inside = i >= start && i < end;
          if (inside == (pass == 0)) {
            candidate.push_back(items[i]);
          }
        }
        if (candidate.empty() || candidate.size() == items.size()) {
          continue;
        }
        if (s.fails(with_faults(doc, candidate))) {
          items = std::move(candidate);
          n = pass == 0 ? 2 : std::max<std::size_t>(n - 1, 2);
          reduced = true;
        }
      }
    }
    if (!reduced) {
      if (n >= items.size()) {
        break;
      }
      n = std::min(items.size(), n * 2);
    }
  }
  return items;
}

// Random faults replaced by the faults they fired in the failing run, when each fired fault
// can be told apart by kind (one random fault per kind).
std::optional<std::vector<Json>> materialise(const std::vector<Json>& faults,
                                            const std::vector<FiredRecord>& fired,
                                            std::string& why_not) {
  std::map<std::string, const Json*> random_by_kind;
  std::vector<Json> out;
  bool any = false;
  for (const auto& f : faults) {
    if (!f.contains("mean_interval")) {
      out.push_back(f);
      continue;
    }
    any = true;
    const std::string kind = f.value("kind", std::string());
    if (random_by_kind.count(kind)) {
      why_not = "two random faults of kind " + kind + " cannot be told apart in the trace";
      return std::nullopt;
    }
    random_by_kind[kind] = &f;
  }
  if (!any) {
    return std::nullopt;
  }
  for (const auto& r : fired) {
    if (r.origin != "random") {
      continue;
    }
    auto it = random_by_kind.find(r.kind);
    if (it == random_by_kind.end()) {
      why_not = "a random " + r.kind + " fault fired that no random fault of the file names";
      return std::nullopt;
    }
    Json explicit_fault = *it->second;
    for (const char* key : {"mean_interval", "pick", "start", "end", "hours"}) {
      explicit_fault.erase(key);
    }
    explicit_fault["target"] = r.target;
    explicit_fault["at"] = duration_text(r.time.since_start());
    out.push_back(std::move(explicit_fault));
  }
  return out;
}

int shrink(const std::vector<std::string>& args, const scenario::ModelRegistry& registry,
           std::ostream& out) {
  std::vector<std::string> positional;
  std::optional<std::uint64_t> seed;
  std::string variant(scenario::kBaseVariant);
  std::vector<std::string> sets;
  std::size_t budget = 200;
  std::string output;
  bool quiet = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) {
        throw Usage(arg + " needs a value");
      }
      return args[++i];
    };
    if (arg == "--help" || arg == "-h") {
      out << kShrinkHelp;
      return kExitOk;
    } else if (arg == "--seed") {
      seed = parse_count(arg, value());
    } else if (arg == "--variant") {
      variant = value();
    } else if (arg == "--set") {
      sets.push_back(value());
    } else if (arg == "--budget") {
      budget = parse_count(arg, value());
      if (budget == 0) {
        throw Usage("--budget 0: give at least one run");
      }
    } else if (arg == "-o" || arg == "--output") {
      output = value();
    } else if (arg == "--quiet") {
      quiet = true;
    } else if (!arg.empty() && arg[0] == '-') {
      const std::vector<std::string> flags = {"--seed", "--variant", "--set", "--budget", "-o",
                                              "--quiet"};
      const std::string hint = scenario::suggestion(arg, flags);
      throw Usage("unknown option " + arg + (hint.empty() ? "" : " (" + hint + ")"));
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.size() != 1) {
    throw Usage("shrink needs exactly one scenario file");
  }
  if (!seed) {
    throw Usage("shrink needs the failing seed: --seed N (a sweep prints it)");
  }
  const std::string path = positional.front();
  const auto file = scenario::ScenarioFile::load(path);
  const auto names = file.variant_names();
  if (std::find(names.begin(), names.end(), variant) == names.end()) {
    throw scenario::ScenarioError(path, "/variants", "--variant " + variant + ": no such variant",
                                  scenario::suggestion(variant, names));
  }
  const auto spec = file.resolve(variant, sets, registry);
  if (output.empty()) {
    const fs::path p(path);
    output = (p.parent_path() /
              fmt::format("{}.{}.seed{}.min.json", p.stem().string(), variant, *seed))
                 .string();
  }
  try {
    report::check_writable(output);
  } catch (const report::OutputError& e) {
    throw Usage(e.what());
  }

  // The variant as a file of its own: the merged document, only the expectations that apply
  // to the variant (without their "in" lists), and the failing seed.
  Json doc = spec.document;
  doc.erase("variants");
  doc["seed"] = *seed;
  if (doc.contains("expectations") && doc["expectations"].is_array()) {
    Json kept = Json::array();
    for (auto e : doc["expectations"]) {
      if (e.is_object() && e.contains("in")) {
        const auto& in = e["in"];
        if (in.is_array() && std::find(in.begin(), in.end(), Json(variant)) == in.end()) {
          continue;
        }
        e.erase("in");
      }
      kept.push_back(std::move(e));
    }
    doc["expectations"] = kept;
  }

  Shrinker s(registry, path, *seed, budget);
  FaultRecorder recorder;
  auto first = s.run_beyond_budget(doc, &recorder);
  if (!first) {
    throw std::runtime_error("the variant, written as a file of its own, does not load");
  }
  const std::string target = Shrinker::first_failure(*first);
  if (target.empty()) {
    out << fmt::format("{} / {} seed {}: every expectation holds; nothing to shrink\n",
                       spec.name, variant, *seed);
    return kExitOk;
  }
  s.set_target(target);
  s.keep_passing(*first);
  const bool checker = s.target_result(*first) != nullptr &&
                       s.target_result(*first)->description.find("checker") != std::string::npos;
  if (!quiet) {
    out << fmt::format("shrinking {} / {} seed {}: keeps failing ✗ {}\n", spec.name, variant,
                       *seed, target);
  }
  std::vector<std::string> removed;

  // 1. Random faults → the explicit faults they fired.
  std::vector<Json> faults;
  if (doc.contains("faults") && doc["faults"].is_array()) {
    faults = doc["faults"].get<std::vector<Json>>();
  }
  // An expectation that fails further from its bound with every fault gone says the incident
  // must hurt (a `min` on false positives, say), and on this seed it hurt less than it asks.
  // Taking faults away only makes that more certain, so no smaller scenario explains it: say
  // so and write nothing. (One that fails as much without faults, a checker finding a bug in
  // a quiet run, shrinks to no fault at all, which is its answer.)
  if (!faults.empty() && s.fails_more_without(with_faults(doc, {}), *first)) {
    std::string replay_flags =
        variant == scenario::kBaseVariant ? "" : " --variant " + variant;
    for (const auto& set : sets) {
      replay_flags += " --set " + set;
    }
    out << fmt::format(
        "{} / {} seed {}: ✗ {} fails even with no fault at all, and by more: it asks the "
        "incident to hurt more than it did on this seed, so removing faults cannot explain "
        "it; nothing to shrink (replay: faultline run {} --seed {}{})\n",
        spec.name, variant, *seed, target, path, *seed, replay_flags);
    return kExitOk;
  }
  const std::vector<Json> original_faults = faults;
  std::string why_not;
  if (auto explicit_faults = materialise(faults, recorder.fired, why_not)) {
    if (s.fails(with_faults(doc, *explicit_faults))) {
      removed.push_back(fmt::format("random faults materialised: {} explicit faults fired",
                                    explicit_faults->size() -
                                        static_cast<std::size_t>(std::count_if(
                                            faults.begin(), faults.end(), [](const Json& f) {
                                              return !f.contains("mean_interval");
                                            }))));
      faults = std::move(*explicit_faults);
    } else {
      why_not = "the explicit faults alone do not reproduce the failure";
    }
  }
  if (!why_not.empty() && !quiet) {
    out << "  random faults kept as they are: " << why_not << "\n";
  }

  // 2. Fewer faults.
  const std::size_t before = faults.size();
  faults = ddmin(faults, doc, s);
  if (faults.size() < before) {
    for (const auto& f : original_faults) {
      if (std::find(faults.begin(), faults.end(), f) == faults.end() &&
          !f.contains("mean_interval")) {
        removed.push_back("fault " + fault_brief(f));
      }
    }
    removed.push_back(fmt::format("faults: {} → {}", before, faults.size()));
  }
  doc = with_faults(doc, faults);

  // 3. Shorter fault windows.
  for (std::size_t i = 0; i < faults.size(); ++i) {
    if (!faults[i].contains("for") || !faults[i]["for"].is_string()) {
      continue;
    }
    const auto original = Duration::parse(faults[i]["for"].get<std::string>());
    if (!original || original->ns() <= 0) {
      continue;
    }
    Duration d = *original;
    while (d.ns() / 2 >= Duration::millis(1).ns() && !s.out_of_budget()) {
      Json f = faults[i];
      f["for"] = duration_text(Duration::nanos(d.ns() / 2));
      auto candidate = faults;
      candidate[i] = f;
      if (!s.fails(with_faults(doc, candidate))) {
        break;
      }
      faults = std::move(candidate);
      d = Duration::nanos(d.ns() / 2);
    }
    if (d.ns() != original->ns()) {
      removed.push_back(fmt::format("fault {}: window {} → {}", fault_brief(faults[i]),
                                    duration_text(*original), duration_text(d)));
    }
  }
  doc = with_faults(doc, faults);

  // 4. A shorter run.
  if (doc.contains("duration") && doc["duration"].is_string()) {
    if (const auto original = Duration::parse(doc["duration"].get<std::string>())) {
      Duration d = *original;
      while (d.ns() / 2 >= Duration::seconds(1).ns() && !s.out_of_budget()) {
        Json candidate = doc;
        candidate["duration"] = duration_text(Duration::nanos(d.ns() / 2));
        if (!s.fails(candidate)) {
          break;
        }
        doc = std::move(candidate);
        d = Duration::nanos(d.ns() / 2);
      }
      if (d.ns() != original->ns()) {
        removed.push_back(
            fmt::format("duration {} → {}", duration_text(*original), duration_text(d)));
      }
    }
  }

  // 5. Smaller populations.
  std::vector<std::string> populations;
  if (doc.contains("model")) {
    collect_populations(doc["model"], "/model", populations);
  }
  for (const auto& pointer : populations) {
    const Json::json_pointer ptr(pointer);
    const std::int64_t original = doc.at(ptr).get<std::int64_t>();
    std::int64_t v = original;
    // Halve while it fails, then step down by one.
    for (bool halving = true; v > 1 && !s.out_of_budget();) {
      const std::int64_t next = halving ? std::max<std::int64_t>(1, v / 2) : v - 1;
      Json candidate = doc;
      candidate[ptr] = next;
      if (s.fails(candidate)) {
        doc = std::move(candidate);
        v = next;
      } else if (halving && next != v - 1) {
        halving = false;
      } else {
        break;
      }
    }
    if (v != original) {
      removed.push_back(fmt::format("{} {} → {}", dotted(pointer), original, v));
    }
  }

  // The minimal scenario is checked once more, as it will be written.
  auto last = s.run_beyond_budget(doc);
  const scenario::ExpectationResult* failing = last ? s.target_result(*last) : nullptr;
  if (failing == nullptr) {
    throw std::runtime_error("the shrunk scenario no longer fails the expectation (a shrinker "
                             "bug: the run is deterministic)");
  }
  report::write_file_atomically(output, doc.dump(2) + "\n");
  out << fmt::format("{} / {} seed {}: ✗ {}, measured {}\n", spec.name, variant, *seed, target,
                     failing->measured);
  if (removed.empty()) {
    out << "  nothing could be removed: the scenario is already minimal\n";
  }
  for (const auto& r : removed) {
    out << "  removed: " << r << "\n";
  }
  const std::size_t left = doc.contains("faults") ? doc["faults"].size() : 0;
  out << fmt::format("  {} fault{} left", left, left == 1 ? "" : "s");
  for (const auto& f : doc.value("faults", Json::array())) {
    out << (&f == &doc["faults"].front() ? ": " : "; ") << fault_brief(f);
  }
  out << fmt::format("\n  {} runs{}\n", s.runs(),
                     s.out_of_budget() ? " (the budget ran out: a larger --budget may shrink "
                                         "further)"
                                       : "");
  if (checker && !failing->evidence.empty()) {
    out << "  the checker's minimal failing sub-history:\n";
    std::size_t start = 0;
    while (start < failing->evidence.size()) {
      const auto end = failing->evidence.find('\n', start);
      out << "    " << failing->evidence.substr(start, end - start) << "\n";
      if (end == std::string::npos) {
        break;
      }
      start = end + 1;
    }
  }
  out << "minimal scenario: " << output << "\n";
  out << "replay: faultline run " << output << " --seed " << *seed << "\n";
  return kExitOk;
}

}  // namespace

int run_shrink_command(const std::vector<std::string>& args,
                       const scenario::ModelRegistry& registry, std::ostream& out,
                       std::ostream& err) {
  try {
    return shrink(args, registry, out);
  } catch (const Usage& e) {
    err << "faultline shrink: " << e.what() << " (see faultline shrink --help)\n";
    return kExitBadInput;
  } catch (const scenario::ScenarioError& e) {
    for (const auto& one : scenario::each_error(e)) {
      err << "error: " << one.what() << "\n";
    }
    return kExitBadInput;
  } catch (const report::OutputError& e) {
    err << "error: " << e.what() << "\n";
    return kExitOutput;
  } catch (const std::exception& e) {
    err << "internal error: " << e.what() << "\n";
    return kExitInternal;
  }
}

}  // namespace faultline::cli
