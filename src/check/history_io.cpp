// JSON-lines load and save of histories. The only file of the check layer that knows JSON.
#include <faultline/check/exactly_once.hpp>
#include <faultline/check/history.hpp>

#include <fmt/format.h>
#include <fstream>
#include <istream>
#include <nlohmann/json.hpp>
#include <ostream>

namespace faultline::check {

namespace {

using nlohmann::json;

json value_to_json(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kNil:
      return nullptr;
    case Value::Kind::kInt:
      return v.as_int();
    case Value::Kind::kList:
      return v.as_list();
  }
  return nullptr;
}

// Errors inside one line; the caller adds the source and line number.
struct LineError {
  std::string message;
};

Value value_from_json(const json& j, std::string_view field) {
  if (j.is_null()) {
    return Value::nil();
  }
  if (j.is_number_integer()) {
    return Value::of(j.get<std::int64_t>());
  }
  if (j.is_array()) {
    std::vector<std::int64_t> items;
    for (const json& x : j) {
      if (!x.is_number_integer()) {
        throw LineError{fmt::format("\"{}\" must be a list of integers, got {}", field, j.dump())};
      }
      items.push_back(x.get<std::int64_t>());
    }
    return Value::list(std::move(items));
  }
  throw LineError{
      fmt::format("\"{}\" must be null, an integer or a list of integers, got {}", field, j.dump())};
}

OpKind kind_from_json(const json& j, std::string_view field) {
  if (!j.is_string()) {
    throw LineError{fmt::format("\"{}\" must be a string, got {}", field, j.dump())};
  }
  auto k = parse_op_kind(j.get<std::string>());
  if (!k) {
    throw LineError{fmt::format(
        "\"{}\" is \"{}\"; expected one of read, write, cas, append, txn, request", field,
        j.get<std::string>())};
  }
  return *k;
}

json event_to_json(const Event& e) {
  json j;
  j["type"] = std::string(to_string(e.type));
  j["client"] = e.client;
  j["time"] = e.time.ns();
  j["f"] = std::string(to_string(e.op.kind));
  if (!e.op.key.empty()) {
    j["key"] = e.op.key;
  }
  if (e.op.kind != OpKind::kTxn && e.op.kind != OpKind::kRequest) {
    j["value"] = value_to_json(e.op.value);
  }
  if (e.op.kind == OpKind::kCas) {
    j["expected"] = value_to_json(e.op.expected);
  }
  if (e.op.cas_failed) {
    j["cas_failed"] = true;
  }
  if (e.op.kind == OpKind::kTxn) {
    json steps = json::array();
    for (const MicroOp& m : e.op.txn) {
      steps.push_back(json::array(
          {std::string(to_string(m.kind)), m.key, value_to_json(m.value)}));
    }
    j["value"] = std::move(steps);
  }
  if (!e.op.request_id.empty()) {
    j["request_id"] = e.op.request_id;
  }
  if (e.commit_ts) {
    j["commit_ts"] = *e.commit_ts;
  }
  return j;
}

Event event_from_json(const json& j) {
  if (!j.is_object()) {
    throw LineError{"each line must be a JSON object"};
  }
  auto require = [&](const char* name) -> const json& {
    auto it = j.find(name);
    if (it == j.end()) {
      throw LineError{fmt::format("missing field \"{}\"", name)};
    }
    return *it;
  };
  Event e;
  const json& type = require("type");
  std::string type_name = type.is_string() ? type.get<std::string>() : type.dump();
  if (type_name == "invoke") {
    e.type = EventType::kInvoke;
  } else if (type_name == "ok") {
    e.type = EventType::kOk;
  } else if (type_name == "fail") {
    e.type = EventType::kFail;
  } else if (type_name == "info") {
    e.type = EventType::kInfo;
  } else {
    throw LineError{fmt::format(
        "\"type\" is {}; expected \"invoke\", \"ok\", \"fail\" or \"info\"", type.dump())};
  }
  const json& client = require("client");
  if (!client.is_number_integer()) {
    throw LineError{fmt::format("\"client\" must be an integer, got {}", client.dump())};
  }
  e.client = client.get<std::int64_t>();
  const json& time = require("time");
  if (!time.is_number_integer() || time.get<std::int64_t>() < 0) {
    throw LineError{fmt::format(
        "\"time\" must be a non-negative integer of nanoseconds, got {}", time.dump())};
  }
  e.time = Time::from_ns(time.get<std::int64_t>());
  e.op.kind = kind_from_json(require("f"), "f");
  if (auto it = j.find("key"); it != j.end()) {
    if (!it->is_string()) {
      throw LineError{fmt::format("\"key\" must be a string, got {}", it->dump())};
    }
    e.op.key = it->get<std::string>();
  }
  if (auto it = j.find("value"); it != j.end()) {
    if (e.op.kind == OpKind::kTxn) {
      if (!it->is_array()) {
        throw LineError{"\"value\" of a txn must be a list of [f, key, value] steps"};
      }
      for (const json& step : *it) {
        if (!step.is_array() || step.size() != 3 || !step[1].is_string()) {
          throw LineError{fmt::format(
              "txn step {} must be [\"read\"|\"write\"|\"append\", key, value]", step.dump())};
        }
        MicroOp m;
        m.kind = kind_from_json(step[0], "txn step f");
        if (m.kind != OpKind::kRead && m.kind != OpKind::kWrite && m.kind != OpKind::kAppend) {
          throw LineError{fmt::format("txn step {} must be a read, write or append", step.dump())};
        }
        m.key = step[1].get<std::string>();
        m.value = value_from_json(step[2], "txn step value");
        e.op.txn.push_back(std::move(m));
      }
    } else {
      e.op.value = value_from_json(*it, "value");
    }
  }
  if (auto it = j.find("expected"); it != j.end()) {
    e.op.expected = value_from_json(*it, "expected");
  }
  if (auto it = j.find("cas_failed"); it != j.end()) {
    if (!it->is_boolean()) {
      throw LineError{fmt::format("\"cas_failed\" must be true or false, got {}", it->dump())};
    }
    e.op.cas_failed = it->get<bool>();
    if (e.op.cas_failed && (e.op.kind != OpKind::kCas || e.type != EventType::kOk)) {
      throw LineError{"\"cas_failed\": true belongs on the ok line of a cas (the compare "
                      "failed, so nothing was written)"};
    }
  }
  if (auto it = j.find("request_id"); it != j.end()) {
    if (!it->is_string()) {
      throw LineError{fmt::format("\"request_id\" must be a string, got {}", it->dump())};
    }
    e.op.request_id = it->get<std::string>();
  }
  if (auto it = j.find("commit_ts"); it != j.end()) {
    if (!it->is_number_integer()) {
      throw LineError{fmt::format("\"commit_ts\" must be an integer, got {}", it->dump())};
    }
    e.commit_ts = it->get<std::int64_t>();
  }
  return e;
}

}  // namespace

void History::save_jsonl(std::ostream& out) const {
  if (initial_) {
    json j;
    j["initial"] = value_to_json(*initial_);
    out << j.dump() << '\n';
  }
  for (const Event& e : events_) {
    out << event_to_json(e).dump() << '\n';
  }
}

History History::load_jsonl(std::istream& in, std::string_view source) {
  History h;
  std::string line;
  std::size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) {
      continue;  // blank lines are allowed, e.g. a trailing newline
    }
    try {
      json j = json::parse(line);
      if (j.is_object() && j.contains("initial") && !j.contains("type")) {
        if (!h.empty()) {
          throw LineError{"the {\"initial\": ...} line must come before the first event"};
        }
        h.set_initial(value_from_json(j["initial"], "initial"));
        continue;
      }
      Event e = event_from_json(j);
      const bool writes = e.op.kind == OpKind::kWrite || e.op.kind == OpKind::kAppend ||
                          e.op.kind == OpKind::kCas;
      if (e.type == EventType::kInvoke) {
        if (writes && !j.contains("value")) {
          throw LineError{fmt::format("a {} needs \"value\" (the value it writes)",
                                      to_string(e.op.kind))};
        }
        if (e.op.kind == OpKind::kCas && !j.contains("expected")) {
          throw LineError{"a cas needs \"expected\" (the value it compares against; null for "
                          "nil)"};
        }
      } else {
        // The client's invocation, to fill in what a completion leaves out and to check that
        // an ok line changes nothing but results.
        const Event* invoked = nullptr;
        for (std::size_t i = h.events().size(); i-- > 0;) {
          if (h.events()[i].client == e.client) {
            invoked = h.events()[i].type == EventType::kInvoke ? &h.events()[i] : nullptr;
            break;
          }
        }
        if (invoked != nullptr) {
          if (!j.contains("key")) {
            e.op.key = invoked->op.key;
          }
          if (writes && !j.contains("value")) {
            e.op.value = invoked->op.value;
          }
          if (e.op.kind == OpKind::kCas && !j.contains("expected")) {
            e.op.expected = invoked->op.expected;
          }
          if (e.op.kind == OpKind::kTxn && !j.contains("value")) {
            e.op.txn = invoked->op.txn;
          }
          if (e.type == EventType::kOk && e.op.kind == OpKind::kRead && !j.contains("value")) {
            throw LineError{"an ok read needs the \"value\" it returned (null for nil)"};
          }
          if (e.type == EventType::kOk) {
            check_completion_matches(invoked->op, e.op);
          }
        }
      }
      h.add(std::move(e));
    } catch (const json::exception& ex) {
      throw HistoryError(fmt::format("{}:{}: not valid JSON ({})", source, line_no, ex.what()));
    } catch (const LineError& ex) {
      throw HistoryError(fmt::format("{}:{}: {}", source, line_no, ex.message));
    } catch (const HistoryError& ex) {
      throw HistoryError(fmt::format("{}:{}: {}", source, line_no, ex.what()));
    }
  }
  return h;
}

std::vector<Effect> load_effects_jsonl(std::istream& in, std::string_view source) {
  std::vector<Effect> out;
  std::string line;
  std::size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) {
      continue;
    }
    try {
      json j = json::parse(line);
      if (!j.is_object()) {
        throw LineError{"each line must be a JSON object like {\"request_id\":\"ik_1\",\"time\":0}"};
      }
      auto id = j.find("request_id");
      if (id == j.end() || !id->is_string() || id->get<std::string>().empty()) {
        throw LineError{"\"request_id\" must be a non-empty string (the request the effect "
                        "belongs to)"};
      }
      auto time = j.find("time");
      if (time == j.end() || !time->is_number_integer() || time->get<std::int64_t>() < 0) {
        throw LineError{"\"time\" must be a non-negative integer of nanoseconds"};
      }
      Effect e;
      e.request_id = id->get<std::string>();
      e.time = Time::from_ns(time->get<std::int64_t>());
      if (auto what = j.find("what"); what != j.end() && what->is_string()) {
        e.what = what->get<std::string>();
      }
      out.push_back(std::move(e));
    } catch (const json::exception& ex) {
      throw HistoryError(fmt::format("{}:{}: not valid JSON ({})", source, line_no, ex.what()));
    } catch (const LineError& ex) {
      throw HistoryError(fmt::format("{}:{}: {}", source, line_no, ex.message));
    }
  }
  return out;
}

void save_effects_jsonl(std::span<const Effect> effects, std::ostream& out) {
  for (const Effect& e : effects) {
    json j;
    j["request_id"] = e.request_id;
    j["time"] = e.time.ns();
    if (!e.what.empty()) {
      j["what"] = e.what;
    }
    out << j.dump() << '\n';
  }
}

void History::save_file(const std::string& path) const {
  std::ofstream out(path);
  if (!out) {
    throw HistoryError(fmt::format("history: cannot open {} for writing", path));
  }
  save_jsonl(out);
  if (!out) {
    throw HistoryError(fmt::format("history: writing {} failed", path));
  }
}

History History::load_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    throw HistoryError(fmt::format("history: cannot open {} for reading", path));
  }
  return load_jsonl(in, path);
}

}  // namespace faultline::check
