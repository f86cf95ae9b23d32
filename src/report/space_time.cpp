// The space-time diagram's recorder: what one run's trace says about a window of it.
#include <faultline/report/html.hpp>

#include <algorithm>
#include <stdexcept>

namespace faultline::report {
namespace {

std::int64_t int_field(const TraceRecordView& r, std::string_view key, std::int64_t fallback) {
  for (const auto& f : r.fields) {
    if (f.key == key && f.value.kind() == TraceValue::Kind::kInt) {
      return f.value.as_int();
    }
  }
  return fallback;
}

std::string string_field(const TraceRecordView& r, std::string_view key) {
  for (const auto& f : r.fields) {
    if (f.key == key) {
      return f.value.to_string();
    }
  }
  return {};
}

}  // namespace

DiagramWindow default_diagram_window(const scenario::ScenarioSpec& spec) {
  DiagramWindow w;
  std::optional<Duration> first_fault;
  if (spec.document.contains("faults") && spec.document["faults"].is_array()) {
    for (const auto& f : spec.document["faults"]) {
      if (f.is_object() && f.contains("at") && f["at"].is_string()) {
        if (auto at = Duration::parse(f["at"].get<std::string>())) {
          first_fault = first_fault ? std::min(*first_fault, *at) : *at;
        }
      }
    }
  }
  if (first_fault) {
    w.from = std::max(Duration::zero(), *first_fault - Duration::seconds(2));
    w.to = std::min(spec.duration, *first_fault + Duration::seconds(2));
    w.anchor = *first_fault;
    return w;
  }
  const Duration span = std::min(Duration::seconds(2), spec.duration);
  w.from = std::clamp(spec.duration / 10, Duration::zero(), spec.duration - span);
  w.to = w.from + span;
  w.slide_until = spec.duration;
  return w;
}

DiagramWindow parse_diagram_window(const std::string& text) {
  auto dots = text.find("..");
  if (dots == std::string::npos) {
    throw std::invalid_argument("--diagram-window: \"" + text +
                                "\" is not a window; write FROM..TO, e.g. 19m..19m02s");
  }
  auto from = Duration::parse(text.substr(0, dots));
  auto to = Duration::parse(text.substr(dots + 2));
  if (!from || !to) {
    throw std::invalid_argument("--diagram-window: \"" + text +
                                "\" has a bad duration; write e.g. 19m..19m02s or 20s..21.5s");
  }
  if (*to <= *from) {
    throw std::invalid_argument("--diagram-window: \"" + text +
                                "\" is empty; write the earlier time first");
  }
  DiagramWindow w;
  w.from = *from;
  w.to = *to;
  return w;
}

SpaceTimeRecorder::SpaceTimeRecorder(DiagramWindow window) : window_(window) {}

void SpaceTimeRecorder::on_record(const TraceRecordView& r) {
  const std::int64_t t = r.time.ns();
  if (window_.slide_until && !window_.anchor && messages_.empty() && !capped_ &&
      !slid_from_ns_ && r.source == "net" && r.kind == "send" && t >= window_.to.ns() &&
      t < window_.slide_until->ns()) {
    // Nothing was sent in the window: open it at this first send after it instead.
    slid_from_ns_ = window_.from.ns();
    const Duration span = window_.to - window_.from;
    window_.from = Duration::nanos(t);
    window_.to = std::min(window_.from + span, *window_.slide_until);
  }
  const bool in_window = t >= window_.from.ns() && t < window_.to.ns();
  if (r.source == "net") {
    if (r.kind == "send") {
      if (!in_window) {
        return;
      }
      if (capped_ || messages_.size() >= window_.max_messages) {
        if (!capped_) {
          capped_ = true;
          capped_at_ns_ = t;
        }
        ++sends_after_cap_;
        return;
      }
      const std::int64_t id = int_field(r, "id", -1);
      const bool before_anchor = window_.anchor && t < window_.anchor->ns();
      if (before_anchor && before_anchor_ >= std::max<std::size_t>(1, window_.max_messages / 4)) {
        // Keep only the latest sends before the anchor: forget the oldest.
        in_flight_.erase(messages_.front().id);
        messages_.pop_front();
        ++dropped_front_;
        --before_anchor_;
      }
      before_anchor_ += before_anchor ? 1 : 0;
      in_flight_[id] = dropped_front_ + messages_.size();
      messages_.push_back({id, int_field(r, "src", -1), int_field(r, "dst", -1), t, -1,
                           string_field(r, "kind"), {}});
      return;
    }
    if (r.kind == "deliver" || r.kind == "drop") {
      auto it = in_flight_.find(int_field(r, "id", -1));
      if (it == in_flight_.end()) {
        return;
      }
      if (it->second < dropped_front_) {
        in_flight_.erase(it);
        return;
      }
      Message& m = messages_[it->second - dropped_front_];
      if (m.done_ns >= 0) {
        // A duplicate's second arrival: drawn as one more arrow from the same send.
        Message copy = m;
        copy.done_ns = t;
        copy.drop_reason = r.kind == "drop" ? string_field(r, "reason") : std::string();
        messages_.push_back(std::move(copy));
        return;
      }
      m.done_ns = t;
      if (r.kind == "drop") {
        m.drop_reason = string_field(r, "reason");
      }
      return;
    }
    return;
  }
  if (r.source == "node" && r.kind == "added") {
    nodes_[int_field(r, "id", -1)] = {string_field(r, "node"), string_field(r, "group"),
                                      string_field(r, "host")};
    return;
  }
  if (r.source == "fault") {
    faults_.push_back(nlohmann::json::array(
        {t, std::string(r.kind), string_field(r, "target"), string_field(r, "origin")}));
    return;
  }
  // Lifecycle events: kept for the whole run, so the page knows which nodes were already down
  // when the window opens.
  if ((r.source == "node" &&
       (r.kind == "crash" || r.kind == "start" || r.kind == "pause" || r.kind == "resume")) ||
      (r.source == "host" && (r.kind == "crash" || r.kind == "restart"))) {
    const std::string who = string_field(r, r.source == "host" ? "host" : "node");
    if (r.source == "node" && r.kind == "start" && t == 0) {
      return;  // every node starts at 0: nothing to mark
    }
    node_events_.push_back(
        nlohmann::json::array({t, std::string(r.source), who, std::string(r.kind)}));
  }
}

nlohmann::json SpaceTimeRecorder::to_json() const {
  nlohmann::json j;
  j["from_ns"] = window_.from.ns();
  j["requested_from_ns"] = window_.from.ns();
  if (dropped_front_ > 0 && !messages_.empty()) {
    // The drawing opens at the first message kept.
    j["from_ns"] = messages_.front().sent_ns;
    j["left_out_before"] = dropped_front_;
  }
  if (window_.anchor) {
    j["anchor_ns"] = window_.anchor->ns();
  }
  if (slid_from_ns_) {
    j["slid_from_ns"] = *slid_from_ns_;
  }
  j["to_ns"] = window_.to.ns();
  j["max_messages"] = window_.max_messages;
  j["capped"] = capped_;
  if (capped_) {
    j["capped_at_ns"] = capped_at_ns_;
    j["sends_left_out"] = sends_after_cap_;
  }
  nlohmann::json nodes = nlohmann::json::array();
  for (const auto& [id, n] : nodes_) {
    nodes.push_back(nlohmann::json::array({id, n.name, n.group, n.host}));
  }
  j["nodes"] = std::move(nodes);
  // Messages as [src, dst, sent_ns, done_ns or -1, kind, drop reason or ""], compact.
  nlohmann::json msgs = nlohmann::json::array();
  for (const auto& m : messages_) {
    msgs.push_back(nlohmann::json::array({m.src, m.dst, m.sent_ns, m.done_ns, m.kind,
                                          m.drop_reason}));
  }
  j["messages"] = std::move(msgs);
  j["node_events"] = node_events_;
  j["faults"] = faults_;
  return j;
}

}  // namespace faultline::report
