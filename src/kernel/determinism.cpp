#include <faultline/determinism.hpp>

#include <algorithm>
#include <array>
#include <vector>

namespace faultline {

namespace {

// Memory that does not grow with the run: the first run keeps one rolling hash per block of
// kBlock records (8 bytes per 4,096 records), not one hash per record. The second run keeps
// its own current block's record hashes and compares the rolling hash at each block's end;
// the first block that differs (or the trailing part block, when only the ends differ) is
// then narrowed to its first differing record by running the first configuration again over
// that block alone, and that record's text in the second run is captured by one more run.
constexpr std::uint64_t kBlock = 4096;

class Checkpoints : public TraceSink {
public:
  void on_record(const TraceRecordView& r) override {
    if (r.index % kBlock == kBlock - 1) {
      rolling.push_back(r.rolling_hash);
    }
  }
  std::vector<std::uint64_t> rolling;  // rolling hash after each full block
};

// The second run: its current block's record hashes, frozen at the first block whose rolling
// hash differs from the first run's (or that the first run does not have).
class BlockComparer : public TraceSink {
public:
  explicit BlockComparer(const std::vector<std::uint64_t>& ref) : ref_(ref) {}
  void on_record(const TraceRecordView& r) override {
    if (frozen) {
      return;
    }
    hashes[r.index % kBlock] = r.record_hash;
    if (r.index % kBlock == kBlock - 1) {
      const std::uint64_t block = r.index / kBlock;
      if (block >= ref_.size() || ref_[block] != r.rolling_hash) {
        frozen = true;
        bad_block = block;
      }
    }
  }
  bool frozen = false;
  std::uint64_t bad_block = 0;
  std::array<std::uint64_t, kBlock> hashes{};

private:
  const std::vector<std::uint64_t>& ref_;
};

// The first configuration again, over one block: the first record that differs from the
// second run's hashes of that block (`length` of them), and its text.
class BlockFinder : public TraceSink {
public:
  BlockFinder(std::uint64_t base, std::uint64_t length, const std::array<std::uint64_t, kBlock>& ref)
      : base_(base), length_(length), ref_(ref) {}
  void on_record(const TraceRecordView& r) override {
    if (found || r.index < base_ || r.index >= base_ + kBlock) {
      return;
    }
    const std::uint64_t j = r.index - base_;
    if (j >= length_ || ref_[j] != r.record_hash) {
      found = r.index;
      text = r.to_string();
    }
  }
  std::optional<std::uint64_t> found;
  std::string text;

private:
  std::uint64_t base_;
  std::uint64_t length_;
  const std::array<std::uint64_t, kBlock>& ref_;
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
  Checkpoints first;
  {
    Simulation sim(options);
    sim.trace().attach(&first);
    body(sim);
    report.hash_first = sim.trace().hash();
    report.records_first = sim.trace().count();
  }
  BlockComparer second(first.rolling);
  {
    Simulation sim(options);
    sim.trace().attach(&second);
    body(sim);
    report.hash_second = sim.trace().hash();
    report.records_second = sim.trace().count();
  }
  report.deterministic = !second.frozen && report.records_first == report.records_second &&
                         report.hash_first == report.hash_second;
  if (report.deterministic) {
    return report;
  }
  // Every full block before `base` agrees; the first difference is within [base, base + kBlock)
  // of the second run (`length` records of it), or where one of the runs ended.
  const std::uint64_t block = second.frozen ? second.bad_block : report.records_second / kBlock;
  const std::uint64_t base = block * kBlock;
  const std::uint64_t length =
      second.frozen ? kBlock : report.records_second - std::min(report.records_second, base);
  BlockFinder again(base, length, second.hashes);
  {
    Simulation sim(options);
    sim.trace().attach(&again);
    body(sim);
  }
  std::uint64_t at = 0;
  if (again.found) {
    at = *again.found;
    report.record_first = again.text;
  } else if (report.records_first < base + length) {
    at = report.records_first;  // the first run ended while the second went on
    report.record_first = "<end of trace>";
  } else if (!second.frozen && report.records_second < report.records_first) {
    // Every record of the second run matched; it ended early. (This pass did not reach the
    // first run's next record, so that record's text is unknown.)
    at = report.records_second;
    report.record_first = "<not reproduced>";
  } else {
    at = base;  // the first run did not come out the same way this time
    report.record_first = "<not reproduced>";
  }
  report.first_divergence = at;
  if (at >= report.records_second) {
    report.record_second = "<end of trace>";
  } else {
    Capture capture(at);
    Simulation sim(options);
    sim.trace().attach(&capture);
    body(sim);
    report.record_second = capture.text.empty() ? "<not reproduced>" : capture.text;
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
