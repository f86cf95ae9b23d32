// `faultline check`: offline checking of recorded histories.
#include "check_command.hpp"

#include <faultline/check/check.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <fmt/format.h>
#include <optional>
#include <thread>

namespace faultline::cli {

namespace {

constexpr const char* kCheckHelp = R"(usage: faultline check HISTORY --model MODEL [options]

Checks a recorded history and prints the verdict, the witness (a small failing sub-history and
why it fails) and the time taken.

models:
  register, cas-register   one register: read, write, cas (keys are ignored)
  kv                       a map of independent registers (checked key by key)
  list-append              a map of append-only lists (append, read of the whole list)
  strict-serializable      transactions with commit timestamps
  stale-reads              stale reads and lost updates in a weak store (unique values)
  exactly-once             requests (idempotency keys) against the effects applied
                           (--effects FILE: one {"request_id":"ik_1","time":0} per line)

options:
  --format jsonl|edn|porcupine-kv
                      the file's format (default: edn for *.edn, else jsonl)
  --initial V         the value every register/key starts with: nil, 3, [] or [1,2]
                      (default: the file's {"initial": V} line, else nil)
  --time-limit S      give up after S seconds (inconclusive, exit 3); default none
  --memory-limit MB   the most memory the search may hold, shared by the keys searched at
                      once (default 1024)
  --threads N         search up to N keys at once (default: every local core); the verdict
                      and witness do not depend on N
  --all-keys          check every key and explain each failure (default: stop at the first)
  --effects FILE      exactly-once: the effects the server applied, as JSON lines

exit codes: 0 passes, 1 fails, 2 bad input, 3 inconclusive (a limit ran out first)
)";

struct Usage : std::runtime_error {
  using std::runtime_error::runtime_error;
};

check::Value parse_value(const std::string& text) {
  auto parse_int = [&](std::string s) -> std::int64_t {
    while (!s.empty() && s.front() == ' ') {
      s.erase(s.begin());
    }
    while (!s.empty() && s.back() == ' ') {
      s.pop_back();
    }
    std::size_t used = 0;
    std::int64_t v = 0;
    try {
      v = std::stoll(s, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (s.empty() || used != s.size()) {
      throw Usage(fmt::format("--initial {}: expected nil, an integer or a list such as [1,2]",
                              text));
    }
    return v;
  };
  if (text == "nil" || text == "null") {
    return check::Value::nil();
  }
  if (!text.empty() && text.front() == '[' && text.back() == ']') {
    std::vector<std::int64_t> items;
    std::string inner = text.substr(1, text.size() - 2);
    std::size_t start = 0;
    while (inner.find_first_not_of(" ,") != std::string::npos && start <= inner.size()) {
      std::size_t end = inner.find_first_of(", ", start);
      std::string item = inner.substr(start, end == std::string::npos ? std::string::npos
                                                                      : end - start);
      if (!item.empty()) {
        items.push_back(parse_int(item));
      }
      if (end == std::string::npos) {
        break;
      }
      start = end + 1;
    }
    return check::Value::list(std::move(items));
  }
  return check::Value::of(parse_int(text));
}

double parse_number(const std::string& flag, const std::string& text) {
  std::size_t used = 0;
  double v = -1;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || !(v > 0)) {
    throw Usage(fmt::format("{} {}: expected a positive number", flag, text));
  }
  return v;
}

}  // namespace

int run_check_command(const std::vector<std::string>& args, std::ostream& out,
                      std::ostream& err) {
  std::string path;
  std::string model_name;
  std::optional<std::string> format_name;
  std::optional<check::Value> initial;
  std::string effects_path;
  check::LinearizabilityOptions options;
  options.threads = std::max(1u, std::min(512u, std::thread::hardware_concurrency()));
  try {
    for (std::size_t i = 0; i < args.size(); ++i) {
      const std::string& a = args[i];
      auto value = [&]() -> const std::string& {
        if (i + 1 >= args.size()) {
          throw Usage(fmt::format("{} needs a value", a));
        }
        return args[++i];
      };
      if (a == "--help" || a == "-h") {
        out << kCheckHelp;
        return 0;
      }
      if (a == "--model") {
        model_name = value();
      } else if (a == "--format") {
        format_name = value();
      } else if (a == "--initial") {
        initial = parse_value(value());
      } else if (a == "--time-limit") {
        options.time_limit = std::chrono::milliseconds(
            static_cast<std::int64_t>(parse_number(a, value()) * 1000.0 + 0.5));
      } else if (a == "--memory-limit") {
        options.memory_limit_bytes =
            static_cast<std::size_t>(parse_number(a, value()) * 1024.0 * 1024.0);
      } else if (a == "--effects") {
        effects_path = value();
      } else if (a == "--all-keys") {
        options.all_keys = true;
      } else if (a == "--threads") {
        const double n = parse_number(a, value());
        if (n < 1 || n > 512 || n != static_cast<double>(static_cast<unsigned>(n))) {
          throw Usage(fmt::format("--threads {}: expected a whole number from 1 to 512",
                                  args[i]));
        }
        options.threads = static_cast<unsigned>(n);
      } else if (!a.empty() && a[0] == '-') {
        throw Usage(fmt::format("unknown option {}", a));
      } else if (path.empty()) {
        path = a;
      } else {
        throw Usage(fmt::format("one history file at a time (got {} and {})", path, a));
      }
    }
    if (path.empty()) {
      throw Usage("name the history file to check");
    }
    if (model_name.empty()) {
      throw Usage("--model is required (register, cas-register, kv, list-append, "
                  "strict-serializable, stale-reads)");
    }
  } catch (const Usage& e) {
    err << "faultline check: " << e.what() << " (see faultline check --help)\n";
    return 2;
  }
  check::HistoryFormat format = check::HistoryFormat::kJsonl;
  if (format_name) {
    auto f = check::parse_history_format(*format_name);
    if (!f) {
      err << "faultline check: --format " << *format_name
          << ": expected jsonl, edn or porcupine-kv\n";
      return 2;
    }
    format = *f;
  } else if (path.size() > 4 && path.compare(path.size() - 4, 4, ".edn") == 0) {
    format = check::HistoryFormat::kEdn;
  }
  const auto start = std::chrono::steady_clock::now();  // determinism-ok: reports wall time
  check::History history;
  try {
    history = check::load_history_file(path, format);
  } catch (const check::HistoryError& e) {
    err << "error: " << e.what() << "\n";
    return 2;
  }
  check::Value init = initial ? *initial : history.initial().value_or(check::Value::nil());
  if (format == check::HistoryFormat::kPorcupineKv && model_name != "kv") {
    err << "faultline check: a porcupine-kv log is a key-value history: use --model kv\n";
    return 2;
  }
  check::CheckResult result;
  try {
    if (model_name == "register" || model_name == "cas-register") {
      result = check::check_linearizable(history, check::Model::register_model(init), options);
    } else if (model_name == "kv") {
      result = check::check_linearizable(history, check::Model::key_value(init), options);
    } else if (model_name == "list-append") {
      result = check::check_linearizable(history, check::Model::list_append(init), options);
    } else if (model_name == "strict-serializable") {
      result = check::check_strict_serializable(history);
    } else if (model_name == "stale-reads") {
      result = check::check_stale_reads_and_lost_updates(history);
    } else if (model_name == "exactly-once") {
      if (effects_path.empty()) {
        err << "faultline check: --model exactly-once needs --effects FILE (the effects the "
               "server applied)\n";
        return 2;
      }
      std::ifstream in(effects_path);
      if (!in) {
        err << "error: cannot open " << effects_path << " for reading\n";
        return 2;
      }
      std::vector<check::Effect> effects;
      try {
        effects = check::load_effects_jsonl(in, effects_path);
      } catch (const check::HistoryError& e) {
        err << "error: " << e.what() << "\n";
        return 2;
      }
      result = check::check_exactly_once(history, effects);
    } else {
      err << "faultline check: --model " << model_name
          << ": expected register, cas-register, kv, list-append, strict-serializable, "
             "stale-reads or exactly-once\n";
      return 2;
    }
  } catch (const std::invalid_argument& e) {
    err << "error: " << path << ": " << e.what() << "\n";
    return 2;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)  // determinism-ok
          .count();
  out << fmt::format("{}: {}\n", check::to_string(result.verdict()), result.summary);
  if (!result.details.empty()) {
    out << result.details << (result.details.back() == '\n' ? "" : "\n");
  }
  out << fmt::format("checked {} in {:.3f} s\n", path, seconds);
  switch (result.verdict()) {
    case check::Verdict::kPass:
      return 0;
    case check::Verdict::kFail:
      return 1;
    case check::Verdict::kInconclusive:
      return 3;
  }
  return 3;
}

}  // namespace faultline::cli
