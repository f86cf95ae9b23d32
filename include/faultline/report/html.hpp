// The HTML report: one self-contained page per scenario run (or per sweep) that opens offline.
//
// A run's page shows every observation as a time-series plot with the variants overlaid, fault
// windows shaded, expectation windows and bounds drawn (uPlot, from the npm registry, embedded
// into the binary at build time); the expectations table; the run facts (seeds, hashes,
// reproduce commands); the story; and a space-time diagram of a window of one variant's run,
// recorded by a SpaceTimeRecorder attached to that run. A sweep's page is the pass/fail matrix
// of variants × seeds, each failing seed linked to its replay command.
//
// The page is a function of its inputs alone (no wall-clock time anywhere), so the same
// results give the same bytes. docs/report.md describes the page.
#pragma once

#include <faultline/scenario/scenario.hpp>
#include <faultline/time.hpp>
#include <faultline/trace.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace faultline::report {

/// Which part of which run the space-time diagram draws.
struct DiagramWindow {
  Duration from;
  Duration to;
  /// At most this many messages are drawn; sends after the cap are left out and the page says
  /// where the drawing stops.
  std::size_t max_messages = 250;
  /// The moment the diagram is about (a fault). When set, messages sent in [from, anchor) are
  /// kept only up to a quarter of the cap (the latest ones), so the drawing opens shortly
  /// before the anchor however busy the network is; the page says when earlier ones were left
  /// out.
  std::optional<Duration> anchor;
  /// Without an anchor: when set, a window in which nothing is sent moves forward to open at
  /// the first message sent after it (keeping its length, ending by this time at the latest),
  /// so a sparse run's quiet stretch does not leave the diagram empty. The page says so.
  std::optional<Duration> slide_until;
};

/// The default window of a spec: around its first scheduled fault (from 2 s before it, to 2 s
/// after, anchored at the fault), or the two seconds after the first tenth of the run when it
/// has none (sliding to the first message sent after them when nothing is sent in them).
DiagramWindow default_diagram_window(const scenario::ScenarioSpec& spec);

/// Parses "A..B" (durations since the start, e.g. "19m..19m02s"); throws std::invalid_argument
/// with a message naming the fix.
DiagramWindow parse_diagram_window(const std::string& text);

/// A trace sink that keeps what the space-time diagram draws: the node names, every message
/// sent in the window (up to the cap) with its delivery or drop, node crashes, restarts and
/// pauses, and every fault record of the run. It asks for trace notes (message sends), which
/// are neither hashed nor counted, so attaching it leaves the run and its trace hash unchanged.
class SpaceTimeRecorder : public TraceSink {
public:
  explicit SpaceTimeRecorder(DiagramWindow window);
  void on_record(const TraceRecordView& record) override;
  bool wants_notes() const override { return true; }

  /// The diagram's data for the page (times in integer nanoseconds since the start).
  nlohmann::json to_json() const;
  std::size_t message_count() const { return messages_.size(); }
  bool capped() const { return capped_; }

private:
  struct Message {
    std::int64_t id;
    std::int64_t src;
    std::int64_t dst;
    std::int64_t sent_ns;
    std::int64_t done_ns = -1;  // delivered or dropped; -1 while in flight
    std::string kind;
    std::string drop_reason;  // empty when delivered
  };
  struct NodeInfo {
    std::string name;
    std::string group;
    std::string host;
  };

  DiagramWindow window_;
  std::map<std::int64_t, NodeInfo> nodes_;
  std::deque<Message> messages_;
  std::size_t dropped_front_ = 0;  // messages trimmed from the front (before the anchor)
  std::size_t before_anchor_ = 0;  // kept messages sent before the anchor
  std::map<std::int64_t, std::size_t> in_flight_;  // message id → dropped_front_ + position
  std::vector<nlohmann::json> node_events_;         // [t_ns, node or host, kind]
  std::vector<nlohmann::json> faults_;              // [t_ns, kind, target, origin]
  bool capped_ = false;
  std::int64_t capped_at_ns_ = -1;
  std::int64_t sends_after_cap_ = 0;
  std::optional<std::int64_t> slid_from_ns_;  // the window's first start, when it slid
};

/// Everything a run's page shows. `runs` is the "runs" array of results_to_json (one scenario
/// file); `specs[i]` is the resolved spec of runs[i]; `diagram` is a SpaceTimeRecorder's JSON
/// with {"variant": ...} added, or an object {"missing": "why"}.
struct RunPageInput {
  nlohmann::json runs;
  std::vector<scenario::ScenarioSpec> specs;
  nlohmann::json diagram;
};

/// Series longer than this many points are reduced to it (each bucket keeps its first sample,
/// minimum and maximum, so spikes survive); the page lists every reduced series.
inline constexpr std::size_t kMaxPointsPerSeries = 1200;

/// The page's data (what the embedded script draws), exposed for tests.
nlohmann::json run_page_data(const RunPageInput& input);
/// The complete page.
std::string render_run_page(const RunPageInput& input);

/// The sweep page from results_to_json of a sweep (every run of one file over a seed range),
/// plus the seeds whose run ended in an error (`errors[variant]` = [[seed, message], ...]).
using SweepErrors = std::map<std::string, std::vector<std::pair<std::uint64_t, std::string>>>;
nlohmann::json sweep_page_data(const nlohmann::json& results, const SweepErrors& errors = {});
std::string render_sweep_page(const nlohmann::json& results, const SweepErrors& errors = {});

/// The assets embedded at build time (uPlot's script and style, the report's own script and
/// style), for tests and for `faultline report --help` to name the library version.
struct WebAssets {
  const char* uplot_js;
  const char* uplot_css;
  const char* uplot_version;
  const char* dom_js;  ///< web/src/dom.js: the helper both pages use, embedded before them
  const char* report_js;
  const char* sweep_js;
  const char* report_css;
};
const WebAssets& web_assets();

}  // namespace faultline::report
