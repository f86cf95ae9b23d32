#include <faultline/report/perfetto.hpp>

#include <cmath>

#include <fmt/format.h>

namespace faultline::report {
namespace {

std::string micros(std::int64_t ns) {
  // Exact decimal microseconds, so sub-microsecond events keep their order in the viewer.
  return fmt::format("{}.{:03}", ns / 1000, ns % 1000 < 0 ? -(ns % 1000) : ns % 1000);
}

std::string args_json(const TraceRecordView& r) {
  std::string out;
  append_json_fields(out, r.fields);
  return out;
}

const TraceField* field(const TraceRecordView& r, std::string_view key) {
  for (const auto& f : r.fields) {
    if (f.key == key) {
      return &f;
    }
  }
  return nullptr;
}

bool strip_suffix(std::string_view kind, std::string_view& stem, std::string_view a,
                  std::string_view b) {
  for (auto suffix : {a, b}) {
    if (kind.size() > suffix.size() && kind.substr(kind.size() - suffix.size()) == suffix) {
      stem = kind.substr(0, kind.size() - suffix.size());
      return true;
    }
  }
  return false;
}

}  // namespace

PerfettoTraceSink::PerfettoTraceSink(std::string process_name, int pid)
    : process_name_(std::move(process_name)), pid_(pid) {}

int PerfettoTraceSink::track_of(const std::string& name) {
  auto it = tracks_.find(name);
  if (it != tracks_.end()) {
    return it->second;
  }
  int id = static_cast<int>(tracks_.size()) + 1;
  tracks_.emplace(name, id);
  return id;
}

void PerfettoTraceSink::on_record(const TraceRecordView& r) {
  std::string track_name(r.source);
  const TraceField* host = field(r, "host");
  const TraceField* dst = field(r, "dst");
  const TraceField* node = field(r, "node");
  if (host != nullptr && host->value.kind() == TraceValue::Kind::kInt) {
    track_name = "host/" + std::to_string(host->value.as_int());
  } else if (dst != nullptr && dst->value.kind() == TraceValue::Kind::kInt) {
    // A message shows on the track of the node that receives it.
    track_name = "node/" + std::to_string(dst->value.as_int());
  } else if (node != nullptr && (node->value.kind() == TraceValue::Kind::kString ||
                                  node->value.kind() == TraceValue::Kind::kInt)) {
    // Same "node/" prefix as the receiver tracks above, so every node track reads alike and
    // sorts together; a record naming its node by id joins that node's receiver track.
    track_name = "node/" + node->value.to_string();
  }
  const int tid = track_of(track_name);
  const std::int64_t t = r.time.ns();
  std::string name(r.source);
  name += ' ';
  name += r.kind;
  std::string event = "{\"name\":";
  append_json_string(event, name);
  event += ",\"cat\":";
  append_json_string(event, r.source);

  const TraceField* dur = nullptr;
  for (auto key : {"latency_ns", "duration_ns", "dur_ns"}) {
    if (dur == nullptr) {
      dur = field(r, key);
    }
  }
  std::string_view stem;
  const TraceField* id = field(r, "id");
  if (dur != nullptr && dur->value.kind() == TraceValue::Kind::kInt && dur->value.as_int() >= 0) {
    std::int64_t d = dur->value.as_int();
    event += fmt::format(",\"ph\":\"X\",\"ts\":{},\"dur\":{}", micros(t - d), micros(d));
  } else if (id != nullptr && strip_suffix(r.kind, stem, ".begin", "_begin")) {
    open_[fmt::format("{}\x1f{}\x1f{}", r.source, stem, id->value.to_string())] = {tid, t};
    return;
  } else if (id != nullptr && strip_suffix(r.kind, stem, ".end", "_end")) {
    auto key = fmt::format("{}\x1f{}\x1f{}", r.source, stem, id->value.to_string());
    auto it = open_.find(key);
    if (it == open_.end()) {
      event += fmt::format(",\"ph\":\"i\",\"s\":\"t\",\"ts\":{}", micros(t));
    } else {
      event.clear();
      event = "{\"name\":";
      append_json_string(event, std::string(r.source) + ' ' + std::string(stem));
      event += ",\"cat\":";
      append_json_string(event, r.source);
      event += fmt::format(",\"ph\":\"X\",\"ts\":{},\"dur\":{}", micros(it->second.second),
                           micros(t - it->second.second));
      open_.erase(it);
    }
  } else if (r.source == "fault") {
    event += fmt::format(",\"ph\":\"i\",\"s\":\"g\",\"ts\":{}", micros(t));
  } else {
    event += fmt::format(",\"ph\":\"i\",\"s\":\"t\",\"ts\":{}", micros(t));
  }
  event += fmt::format(",\"pid\":{},\"tid\":{},\"args\":{}}}", pid_, tid, args_json(r));
  events_.push_back(std::move(event));
}

void PerfettoTraceSink::write(std::ostream& out) const { write_perfetto_trace(out, {this}); }

void PerfettoTraceSink::write_events(std::ostream& out, bool& first) const {
  auto emit = [&](const std::string& e) {
    out << (first ? "" : ",\n") << e;
    first = false;
  };
  std::string meta =
      fmt::format("{{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":{},\"args\":{{\"name\":", pid_);
  append_json_string(meta, process_name_);
  meta += "}}";
  emit(meta);
  for (const auto& [name, tid] : tracks_) {
    std::string m = fmt::format(
        "{{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":{},\"tid\":{},\"args\":{{\"name\":",
        pid_, tid);
    append_json_string(m, name);
    m += "}}";
    emit(m);
    emit(fmt::format("{{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":{},\"tid\":{},"
                     "\"args\":{{\"sort_index\":{}}}}}",
                     pid_, tid, tid));
  }
  for (const auto& e : events_) {
    emit(e);
  }
}

void write_perfetto_trace(std::ostream& out, const std::vector<const PerfettoTraceSink*>& sinks) {
  out << "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n";
  bool first = true;
  for (const auto* sink : sinks) {
    sink->write_events(out, first);
  }
  out << "\n]}\n";
}

}  // namespace faultline::report
