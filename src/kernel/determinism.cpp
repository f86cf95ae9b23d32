#include <faultline/determinism.hpp>

#include <vector>

namespace faultline {

namespace {

class HashRecorder : public TraceSink {
public:
  void on_record(const TraceRecordView& r) override { hashes.push_back(r.record_hash); }
  std::vector<std::uint64_t> hashes;
};

// Compares against a reference run and keeps the text of the first record that differs.
class Comparer : public TraceSink {
public:
  explicit Comparer(const std::vector<std::uint64_t>& ref) : ref_(ref) {}
  void on_record(const TraceRecordView& r) override {
    if (divergence) {
      return;
    }
    if (r.index >= ref_.size() || ref_[r.index] != r.record_hash) {
      divergence = r.index;
      text = r.to_string();
    }
  }
  std::optional<std::uint64_t> divergence;
  std::string text;

private:
  const std::vector<std::uint64_t>& ref_;
};

class Capture : public TraceSink {
public:
  explicit Capture(std::uint64_t index) : index_(index) {}
  void on_record(const TraceRecordView& r) override {
    if (r.index == index_) {
      text = r.to_string();
    }
  }
  std::string text;

private:
  std::uint64_t index_;
};

}  // namespace

DeterminismReport check_determinism(const Simulation::Options& options,
                                    const std::function<void(Simulation&)>& body) {
  DeterminismReport report;
  HashRecorder first;
  {
    Simulation sim(options);
    sim.trace().attach(&first);
    body(sim);
    report.hash_first = sim.trace().hash();
    report.records_first = sim.trace().count();
  }
  Comparer second(first.hashes);
  {
    Simulation sim(options);
    sim.trace().attach(&second);
    body(sim);
    report.hash_second = sim.trace().hash();
    report.records_second = sim.trace().count();
  }
  if (!second.divergence && report.records_second < report.records_first) {
    second.divergence = report.records_second;
    second.text = "<end of trace>";
  }
  report.deterministic = !second.divergence && report.hash_first == report.hash_second;
  if (report.deterministic) {
    return report;
  }
  report.first_divergence = second.divergence;
  report.record_second = second.text;
  // A third run recovers the first run's version of the diverging record, so that the check
  // keeps only hashes in memory however long the runs are.
  if (*second.divergence >= report.records_first) {
    report.record_first = "<end of trace>";
  } else {
    Capture again(*second.divergence);
    Simulation sim(options);
    sim.trace().attach(&again);
    body(sim);
    report.record_first = again.text.empty() ? "<not reproduced>" : again.text;
  }
  return report;
}

std::string DeterminismReport::describe() const {
  if (deterministic) {
    return fmt::format("deterministic: {} records, trace hash {:016x} in both runs",
                       records_first, hash_first);
  }
  return fmt::format(
      "NONDETERMINISTIC: the runs diverge at trace record #{}\n"
      "  first run : {}\n"
      "  second run: {}\n"
      "  ({} vs {} records; hashes {:016x} vs {:016x}). Look for wall-clock reads, unseeded\n"
      "  randomness, or iteration over unordered containers in the code that produced it.",
      first_divergence.value_or(0), record_first, record_second, records_first, records_second,
      hash_first, hash_second);
}

}  // namespace faultline
