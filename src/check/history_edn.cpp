// Jepsen/Knossos EDN histories and Porcupine key-value logs (see history_formats.hpp). A small
// reader for the EDN subset those files use: maps, vectors, lists, sets, keywords, strings,
// integers, nil, booleans, symbols, comments, and commas as whitespace.
#include <faultline/check/history_formats.hpp>

#include <algorithm>
#include <fmt/format.h>
#include <fstream>
#include <istream>
#include <map>
#include <memory>
#include <sstream>

namespace faultline::check {

namespace {

struct Edn {
  enum class Kind { kNil, kBool, kInt, kKeyword, kString, kSymbol, kVector, kMap };
  Kind kind = Kind::kNil;
  std::int64_t i = 0;
  std::string s;          ///< keyword (without ':'), string or symbol
  std::vector<Edn> items;  ///< vector/list/set items; map: key, value, key, value...
  std::size_t line = 0;

  const Edn* get(std::string_view keyword) const {
    for (std::size_t k = 0; k + 1 < items.size(); k += 2) {
      if (items[k].kind == Kind::kKeyword && items[k].s == keyword) {
        return &items[k + 1];
      }
    }
    return nullptr;
  }
  std::string show() const {
    switch (kind) {
      case Kind::kNil:
        return "nil";
      case Kind::kBool:
        return i != 0 ? "true" : "false";
      case Kind::kInt:
        return std::to_string(i);
      case Kind::kKeyword:
        return ":" + s;
      case Kind::kString:
        return "\"" + s + "\"";
      case Kind::kSymbol:
        return s;
      case Kind::kVector:
        return fmt::format("[{} items]", items.size());
      case Kind::kMap:
        return "{map}";
    }
    return "?";
  }
};

struct EdnError {
  std::size_t line;
  std::string message;
};

class Reader {
public:
  explicit Reader(std::string text) : text_(std::move(text)) {}

  /// The next top-level form, or nullopt at the end.
  std::optional<Edn> next() {
    skip();
    if (pos_ >= text_.size()) {
      return std::nullopt;
    }
    return read();
  }

private:
  void skip() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == '\n') {
        ++line_;
        ++pos_;
      } else if (c == ' ' || c == '\t' || c == '\r' || c == ',') {
        ++pos_;
      } else if (c == ';') {
        while (pos_ < text_.size() && text_[pos_] != '\n') {
          ++pos_;
        }
      } else {
        break;
      }
    }
  }
  static bool delimiter(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',' || c == '(' ||
           c == ')' || c == '[' || c == ']' || c == '{' || c == '}' || c == '"' || c == ';';
  }
  Edn collection(char close, Edn::Kind kind) {
    Edn e;
    e.kind = kind;
    e.line = line_;
    const std::size_t open_line = line_;
    while (true) {
      skip();
      if (pos_ >= text_.size()) {
        const char open = close == '}' ? '{' : close == ']' ? '[' : '(';
        throw EdnError{open_line, fmt::format("'{}' opened here is never closed with '{}'", open,
                                              close)};
      }
      if (text_[pos_] == close) {
        ++pos_;
        break;
      }
      e.items.push_back(read());
    }
    if (kind == Edn::Kind::kMap && e.items.size() % 2 != 0) {
      throw EdnError{open_line, "a map needs an even number of forms (key value pairs)"};
    }
    return e;
  }
  Edn read() {
    skip();
    if (pos_ >= text_.size()) {
      throw EdnError{line_, "the input ends in the middle of a form"};
    }
    char c = text_[pos_];
    if (c == '{') {
      ++pos_;
      return collection('}', Edn::Kind::kMap);
    }
    if (c == '[') {
      ++pos_;
      return collection(']', Edn::Kind::kVector);
    }
    if (c == '(') {
      ++pos_;
      return collection(')', Edn::Kind::kVector);
    }
    if (c == '#' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '{') {
      pos_ += 2;
      return collection('}', Edn::Kind::kVector);
    }
    if (c == '#') {
      // A tagged literal (#jepsen.history.Op{...}): the tag is dropped, the form kept.
      ++pos_;
      while (pos_ < text_.size() && !delimiter(text_[pos_])) {
        ++pos_;
      }
      return read();
    }
    if (c == ')' || c == ']' || c == '}') {
      throw EdnError{line_, fmt::format("unexpected '{}' with nothing open to close", c)};
    }
    Edn e;
    e.line = line_;
    if (c == '"') {
      ++pos_;
      e.kind = Edn::Kind::kString;
      while (true) {
        if (pos_ >= text_.size()) {
          throw EdnError{e.line, "a string is never closed with '\"'"};
        }
        char d = text_[pos_++];
        if (d == '"') {
          break;
        }
        if (d == '\\' && pos_ < text_.size()) {
          char x = text_[pos_++];
          e.s += x == 'n' ? '\n' : x == 't' ? '\t' : x;
          continue;
        }
        if (d == '\n') {
          ++line_;
        }
        e.s += d;
      }
      return e;
    }
    std::size_t start = pos_;
    while (pos_ < text_.size() && !delimiter(text_[pos_])) {
      ++pos_;
    }
    std::string tok = text_.substr(start, pos_ - start);
    if (tok[0] == ':') {
      e.kind = Edn::Kind::kKeyword;
      e.s = tok.substr(1);
    } else if (tok == "nil") {
      e.kind = Edn::Kind::kNil;
    } else if (tok == "true" || tok == "false") {
      e.kind = Edn::Kind::kBool;
      e.i = tok == "true" ? 1 : 0;
    } else if ((tok[0] >= '0' && tok[0] <= '9') ||
               ((tok[0] == '-' || tok[0] == '+') && tok.size() > 1 && tok[1] >= '0' &&
                tok[1] <= '9')) {
      std::string digits = tok.back() == 'N' ? tok.substr(0, tok.size() - 1) : tok;
      std::size_t used = 0;
      try {
        e.i = std::stoll(digits, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != digits.size()) {
        throw EdnError{e.line, fmt::format("\"{}\" is not an integer (only integer values are "
                                           "supported)",
                                           tok)};
      }
      e.kind = Edn::Kind::kInt;
    } else {
      e.kind = Edn::Kind::kSymbol;
      e.s = tok;
    }
    return e;
  }

  std::string text_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
};

std::string read_all(std::istream& in) {
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Every top-level map, in order, unwrapping a top-level vector of maps.
std::vector<Edn> event_maps(std::istream& in) {
  Reader r(read_all(in));
  std::vector<Edn> out;
  while (std::optional<Edn> form = r.next()) {
    if (form->kind == Edn::Kind::kVector) {
      for (Edn& item : form->items) {
        if (item.kind != Edn::Kind::kMap) {
          throw EdnError{item.line, fmt::format("expected an operation map like {{:type :invoke, "
                                                ":f :read, :process 0}}, got {}",
                                                item.show())};
        }
        out.push_back(std::move(item));
      }
    } else if (form->kind == Edn::Kind::kMap) {
      out.push_back(std::move(*form));
    } else {
      throw EdnError{form->line, fmt::format("expected an operation map like {{:type :invoke, :f "
                                             ":read, :process 0}}, got {}",
                                             form->show())};
    }
  }
  return out;
}

Value value_of(const Edn& e, std::string_view what) {
  if (e.kind == Edn::Kind::kNil) {
    return Value::nil();
  }
  if (e.kind == Edn::Kind::kInt) {
    return Value::of(e.i);
  }
  if (e.kind == Edn::Kind::kVector) {
    std::vector<std::int64_t> items;
    for (const Edn& x : e.items) {
      if (x.kind != Edn::Kind::kInt) {
        throw EdnError{e.line, fmt::format("{} must be nil, an integer or a vector of integers; "
                                           "it holds {}",
                                           what, x.show())};
      }
      items.push_back(x.i);
    }
    return Value::list(std::move(items));
  }
  throw EdnError{e.line, fmt::format("{} must be nil, an integer or a vector of integers, got {}",
                                     what, e.show())};
}

std::string key_of(const Edn& e) {
  return e.kind == Edn::Kind::kString ? e.s : e.kind == Edn::Kind::kKeyword ? e.s : e.show();
}

EventType type_of(const Edn& m) {
  const Edn* t = m.get("type");
  if (t == nullptr || t->kind != Edn::Kind::kKeyword) {
    throw EdnError{m.line, "missing :type (one of :invoke, :ok, :fail, :info)"};
  }
  if (t->s == "invoke") {
    return EventType::kInvoke;
  }
  if (t->s == "ok") {
    return EventType::kOk;
  }
  if (t->s == "fail") {
    return EventType::kFail;
  }
  if (t->s == "info") {
    return EventType::kInfo;
  }
  throw EdnError{m.line, fmt::format(":type is {}; expected :invoke, :ok, :fail or :info",
                                     t->show())};
}

/// Jepsen's micro-op [:append k v] / [:r k v] / [:w k v].
MicroOp micro_op(const Edn& e) {
  if (e.kind != Edn::Kind::kVector || e.items.size() != 3 ||
      e.items[0].kind != Edn::Kind::kKeyword) {
    throw EdnError{e.line, "a :txn micro-op must be [:append k v], [:r k v] or [:w k v]"};
  }
  const std::string& f = e.items[0].s;
  MicroOp m;
  m.key = key_of(e.items[1]);
  m.value = value_of(e.items[2], "a micro-op's value");
  if (f == "r" || f == "read") {
    m.kind = OpKind::kRead;
  } else if (f == "w" || f == "write") {
    m.kind = OpKind::kWrite;
  } else if (f == "append") {
    m.kind = OpKind::kAppend;
  } else {
    throw EdnError{e.line, fmt::format("micro-op :{} is not :r, :w or :append", f)};
  }
  if (m.kind != OpKind::kRead && !m.value.is_int()) {
    throw EdnError{e.line, fmt::format("[:{} ...] must write an integer", f)};
  }
  return m;
}

/// Adds one event to `h`, rethrowing History's errors with the line. An ok completion must
/// not change what was invoked (only results may be filled in).
void add(History& h, Event e, std::size_t line, std::string_view source) {
  try {
    if (e.type == EventType::kOk) {
      for (std::size_t i = h.events().size(); i-- > 0;) {
        if (h.events()[i].client == e.client) {
          if (h.events()[i].type == EventType::kInvoke) {
            check_completion_matches(h.events()[i].op, e.op);
          }
          break;
        }
      }
    }
    h.add(std::move(e));
  } catch (const HistoryError& ex) {
    throw HistoryError(fmt::format("{}:{}: {}", source, line, ex.what()));
  }
}

}  // namespace

std::optional<HistoryFormat> parse_history_format(std::string_view name) {
  if (name == "jsonl" || name == "json") {
    return HistoryFormat::kJsonl;
  }
  if (name == "edn") {
    return HistoryFormat::kEdn;
  }
  if (name == "porcupine-kv") {
    return HistoryFormat::kPorcupineKv;
  }
  return std::nullopt;
}

History load_edn(std::istream& in, std::string_view source) {
  History h;
  try {
    std::vector<Edn> maps = event_maps(in);
    std::int64_t last_time = 0;
    // Clients whose read in flight names its key ([key nil] on invoke: Jepsen's independent).
    std::map<std::int64_t, bool> keyed_read;
    for (std::size_t n = 0; n < maps.size(); ++n) {
      const Edn& m = maps[n];
      const Edn* process = m.get("process");
      if (process == nullptr) {
        throw EdnError{m.line, "missing :process (the client's integer id)"};
      }
      if (process->kind != Edn::Kind::kInt) {
        continue;  // :nemesis and other non-client processes
      }
      Event e;
      e.type = type_of(m);
      e.client = process->i;
      const Edn* time = m.get("time");
      std::int64_t t = time != nullptr && time->kind == Edn::Kind::kInt
                           ? time->i
                           : static_cast<std::int64_t>(n);
      // Events are in the file's order; a clock that steps back is clamped, never reordered.
      last_time = std::max(last_time, t);
      e.time = Time::from_ns(last_time);
      const Edn* f = m.get("f");
      if (f == nullptr || f->kind != Edn::Kind::kKeyword) {
        throw EdnError{m.line, "missing :f (:read, :write, :cas, :append or :txn)"};
      }
      const Edn* value = m.get("value");
      static const Edn kNil;
      const Edn& v = value != nullptr ? *value : kNil;
      Op& op = e.op;
      // Jepsen's independent keys: [key value] on read/write/append, [key [from to]] on cas.
      auto keyed = [&](const Edn& x, bool cas) -> const Edn& {
        bool is_pair = x.kind == Edn::Kind::kVector && x.items.size() == 2;
        if (is_pair && (!cas || x.items[1].kind == Edn::Kind::kVector)) {
          op.key = key_of(x.items[0]);
          return x.items[1];
        }
        return x;
      };
      const std::string& name = f->s;
      if (name == "read" || name == "r") {
        op.kind = OpKind::kRead;
        bool pair = v.kind == Edn::Kind::kVector && v.items.size() == 2;
        if (e.type == EventType::kInvoke) {
          keyed_read[e.client] = pair && v.items[1].kind == Edn::Kind::kNil;
        }
        op.value = value_of(pair && keyed_read[e.client] ? keyed(v, false) : v, ":value");
        if (e.type == EventType::kInvoke) {
          op.value = Value::nil();  // what a read will return is not known yet
        }
      } else if (name == "write" || name == "w" || name == "append") {
        op.kind = name == "append" ? OpKind::kAppend : OpKind::kWrite;
        op.value = value_of(keyed(v, false), ":value");
        if (!op.value.is_int()) {
          throw EdnError{m.line, fmt::format(":{} needs an integer :value (or [key value]), got "
                                             "{}",
                                             name, v.show())};
        }
      } else if (name == "cas") {
        op.kind = OpKind::kCas;
        const Edn& pair = keyed(v, true);
        if (pair.kind != Edn::Kind::kVector || pair.items.size() != 2) {
          throw EdnError{m.line, fmt::format(":cas needs :value [from to] (or [key [from to]]), "
                                             "got {}",
                                             v.show())};
        }
        op.expected = value_of(pair.items[0], "a cas's from value");
        op.value = value_of(pair.items[1], "a cas's to value");
        const Edn* failed = m.get("cas-failed");
        op.cas_failed = failed != nullptr && failed->kind == Edn::Kind::kBool && failed->i != 0;
      } else if (name == "txn") {
        op.kind = OpKind::kTxn;
        if (v.kind != Edn::Kind::kVector) {
          throw EdnError{m.line, ":txn needs a :value vector of micro-ops"};
        }
        for (const Edn& x : v.items) {
          op.txn.push_back(micro_op(x));
        }
      } else {
        throw EdnError{m.line, fmt::format(":f is :{}; expected :read, :write, :cas, :append or "
                                           ":txn",
                                           name)};
      }
      add(h, std::move(e), m.line, source);
    }
  } catch (const EdnError& ex) {
    throw HistoryError(fmt::format("{}:{}: {}", source, ex.line, ex.message));
  }
  return h;
}

History load_porcupine_kv(std::istream& in, std::string_view source) {
  History h;
  try {
    std::vector<Edn> maps = event_maps(in);
    // Each distinct string put or appended becomes one integer chunk id.
    std::map<std::string, std::int64_t> chunk_ids;
    std::map<std::string, std::vector<std::string>> chunks_of_key;
    for (const Edn& m : maps) {
      const Edn* f = m.get("f");
      const Edn* v = m.get("value");
      const Edn* k = m.get("key");
      if (f != nullptr && f->kind == Edn::Kind::kKeyword && (f->s == "put" || f->s == "append") &&
          v != nullptr && v->kind == Edn::Kind::kString && k != nullptr) {
        chunk_ids.emplace(v->s, static_cast<std::int64_t>(chunk_ids.size()));
        auto& list = chunks_of_key[key_of(*k)];
        if (std::find(list.begin(), list.end(), v->s) == list.end()) {
          list.push_back(v->s);
        }
      }
    }
    // A get's string as the chunks of its key, in order: the first split found (chunks are
    // tried longest first); a string no split explains becomes a chunk nothing wrote.
    auto split = [&](const std::string& key, const std::string& s) -> Value {
      const std::vector<std::string>& chunks = chunks_of_key[key];
      std::vector<std::int64_t> out;
      std::vector<std::pair<std::size_t, std::size_t>> stack;  // (position, next chunk index)
      std::size_t pos = 0;
      std::size_t next = 0;
      while (pos < s.size()) {
        bool advanced = false;
        for (std::size_t c = next; c < chunks.size(); ++c) {
          const std::string& chunk = chunks[c];
          if (!chunk.empty() && s.compare(pos, chunk.size(), chunk) == 0) {
            stack.emplace_back(pos, c + 1);
            out.push_back(chunk_ids[chunk]);
            pos += chunk.size();
            next = 0;
            advanced = true;
            break;
          }
        }
        if (!advanced) {
          if (stack.empty()) {
            return Value::list({-1});  // never written: no state matches it
          }
          pos = stack.back().first;
          next = stack.back().second;
          stack.pop_back();
          out.pop_back();
        }
      }
      return Value::list(std::move(out));
    };
    for (std::size_t n = 0; n < maps.size(); ++n) {
      const Edn& m = maps[n];
      const Edn* process = m.get("process");
      if (process == nullptr || process->kind != Edn::Kind::kInt) {
        throw EdnError{m.line, "missing or non-integer :process (the client's id)"};
      }
      const Edn* f = m.get("f");
      const Edn* k = m.get("key");
      const Edn* v = m.get("value");
      if (f == nullptr || f->kind != Edn::Kind::kKeyword) {
        throw EdnError{m.line, "missing :f (:get, :put or :append)"};
      }
      if (k == nullptr || k->kind != Edn::Kind::kString) {
        throw EdnError{m.line, "missing :key (a string)"};
      }
      Event e;
      e.type = type_of(m);
      e.client = process->i;
      e.time = Time::from_ns(static_cast<std::int64_t>(n));
      e.op.key = k->s;
      const bool has_string = v != nullptr && v->kind == Edn::Kind::kString;
      if (f->s == "get") {
        e.op.kind = OpKind::kRead;
        if (e.type == EventType::kOk) {
          if (!has_string) {
            throw EdnError{m.line, "an ok :get needs the string it returned as :value"};
          }
          e.op.value = split(k->s, v->s);
        }
      } else if (f->s == "put" || f->s == "append") {
        if (!has_string) {
          throw EdnError{m.line, fmt::format(":{} needs a string :value", f->s)};
        }
        std::int64_t id = chunk_ids[v->s];
        e.op.kind = f->s == "put" ? OpKind::kWrite : OpKind::kAppend;
        e.op.value = f->s == "put" ? Value::list({id}) : Value::of(id);
      } else {
        throw EdnError{m.line, fmt::format(":f is :{}; expected :get, :put or :append", f->s)};
      }
      add(h, std::move(e), m.line, source);
    }
  } catch (const EdnError& ex) {
    throw HistoryError(fmt::format("{}:{}: {}", source, ex.line, ex.message));
  }
  h.set_initial(Value::list({}));
  return h;
}

History load_history_file(const std::string& path, HistoryFormat format) {
  std::ifstream in(path);
  if (!in) {
    throw HistoryError(fmt::format("history: cannot open {} for reading", path));
  }
  switch (format) {
    case HistoryFormat::kJsonl:
      return History::load_jsonl(in, path);
    case HistoryFormat::kEdn:
      return load_edn(in, path);
    case HistoryFormat::kPorcupineKv:
      return load_porcupine_kv(in, path);
  }
  return {};
}

}  // namespace faultline::check
