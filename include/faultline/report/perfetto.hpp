// Export of a run's trace as Chrome trace-event JSON, which ui.perfetto.dev and chrome://tracing
// open directly.
//
// Attach a PerfettoTraceSink to sim.trace() for the run, then write(). Mapping of trace records:
// - track: "host/<n>" when the record has an integer field "host" (so hosts are tracks);
//   "node/<n>" for an integer field "dst" (a message is drawn on its receiver's track);
//   "node/<name>" for a string field "node"; else the record's source ("fault", "client", ...);
// - a record with a field "latency_ns", "duration_ns" or "dur_ns" becomes a slice that ends at
//   the record's time (an RPC completing after its latency is drawn as the RPC);
// - records of kind "<x>.begin" / "<x>.end" (or "<x>_begin" / "<x>_end") with the same source
//   and "id" field become a slice named <x>;
// - records from source "fault" are global instant events (a vertical line across all tracks);
// - everything else is an instant event on its track.
// Every record's fields become the event's args. Timestamps are microseconds of true time.
#pragma once

#include <faultline/trace.hpp>

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace faultline::report {

class PerfettoTraceSink : public TraceSink {
public:
  /// `process_name` labels this run's process in the viewer (e.g. "scenario / variant"); runs
  /// of several variants go into one file as processes with distinct `pid`s.
  explicit PerfettoTraceSink(std::string process_name = "faultline", int pid = 1);
  void on_record(const TraceRecordView& record) override;
  /// Writes {"traceEvents": [...]} of this run alone to `out`.
  void write(std::ostream& out) const;
  /// Writes this run's events, each preceded by ",\n" unless it is the file's first.
  void write_events(std::ostream& out, bool& first) const;
  std::size_t event_count() const { return events_.size(); }

private:
  int track_of(const std::string& name);

  std::string process_name_;
  int pid_;
  std::map<std::string, int> tracks_;
  std::vector<std::string> events_;  // serialised JSON objects, in record order
  // Open begin/end slices: (source, kind stem, id) → (track, begin time ns).
  std::map<std::string, std::pair<int, std::int64_t>> open_;
};

/// Writes the runs of several sinks into one trace file, one process each.
void write_perfetto_trace(std::ostream& out, const std::vector<const PerfettoTraceSink*>& sinks);

}  // namespace faultline::report
