#include "command_args.hpp"

#include <faultline/report/output_file.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <limits>
#include <system_error>

namespace faultline::cli {

namespace fs = std::filesystem;
using scenario::ScenarioError;

namespace {

std::uint64_t parse_u64(const std::string& flag, const std::string& text) {
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec == std::errc::result_out_of_range && ptr == text.data() + text.size()) {
    throw BadUsage(flag + ": " + text + " is out of range; it must be between 0 and " +
                   std::to_string(std::numeric_limits<std::uint64_t>::max()));
  }
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) {
    throw BadUsage(flag + ": \"" + text + "\" is not a non-negative integer");
  }
  return v;
}

}  // namespace

Args parse_args(const std::vector<std::string>& args, std::size_t first,
                const std::vector<std::string>& allowed) {
  Args a;
  auto allowed_flag = [&](const std::string& f) {
    return std::find(allowed.begin(), allowed.end(), f) != allowed.end();
  };
  for (std::size_t i = first; i < args.size(); ++i) {
    std::string arg = args[i];
    std::optional<std::string> inline_value;
    if (arg.rfind("--", 0) == 0 && arg.find('=') != std::string::npos) {
      inline_value = arg.substr(arg.find('=') + 1);
      arg = arg.substr(0, arg.find('='));
    } else if (arg.size() > 2 && arg.rfind("-j", 0) == 0) {
      inline_value = arg.substr(2);  // -j2, as make and ctest take it
      arg = "-j";
    }
    auto value = [&]() -> std::string {
      if (inline_value) {
        return *inline_value;
      }
      if (i + 1 >= args.size()) {
        throw BadUsage(arg + " needs a value");
      }
      return args[++i];
    };
    if (arg == "--help" || arg == "-h") {
      a.help = true;
      continue;
    }
    if (arg.empty() || arg[0] != '-') {
      a.positional.push_back(arg);
      continue;
    }
    if (!allowed_flag(arg)) {
      std::string hint = scenario::suggestion(arg, allowed);
      throw BadUsage("unknown option " + arg + (hint.empty() ? "" : " (" + hint + ")"));
    }
    if (arg == "--variant") {
      a.variants.push_back(value());
    } else if (arg == "--all-variants") {
      a.all_variants = true;
    } else if (arg == "--seed") {
      a.seed = parse_u64("--seed", value());
    } else if (arg == "--set") {
      a.sets.push_back(value());
    } else if (arg == "--trace") {
      a.trace = value();
    } else if (arg == "--perfetto") {
      a.perfetto = value();
    } else if (arg == "--json") {
      a.json = value();
    } else if (arg == "--html") {
      a.html = value();
    } else if (arg == "--quiet") {
      a.quiet = true;
    } else if (arg == "--swarm") {
      a.swarm = true;
    } else if (arg == "--seeds") {
      std::string v = value();
      auto dots = v.find("..");
      if (dots == std::string::npos) {
        throw BadUsage("--seeds: \"" + v + "\" is not a range; write A..B, e.g. 1..200");
      }
      auto lo = parse_u64("--seeds", v.substr(0, dots));
      auto hi = parse_u64("--seeds", v.substr(dots + 2));
      if (lo > hi) {
        throw BadUsage("--seeds: the range " + v + " is empty; write the smaller seed first");
      }
      a.seeds = {lo, hi};
    } else if (arg == "-j" || arg == "--jobs") {
      const std::uint64_t jobs = parse_u64(arg, value());
      if (jobs == 0 || jobs > kMaxJobs) {
        throw BadUsage(fmt::format("{} {}: it must be between 1 and {} worker threads", arg, jobs,
                                   kMaxJobs));
      }
      a.jobs = static_cast<unsigned>(jobs);
    }
  }
  if (a.all_variants && !a.variants.empty()) {
    throw BadUsage("--variant and --all-variants exclude each other");
  }
  return a;
}

void check_outputs(std::initializer_list<std::string> paths) {
  for (const auto& path : paths) {
    if (!path.empty()) {
      try {
        report::check_writable(path);
      } catch (const report::OutputError& e) {
        throw BadUsage(e.what());
      }
    }
  }
}

void print_errors(std::ostream& err, const ScenarioError& e) {
  const auto all = scenario::each_error(e);
  for (const auto& one : all) {
    err << "error: " << one.what() << "\n";
  }
  if (all.size() > 1) {
    err << all.size() << " errors" << (e.file().empty() ? "" : " in " + e.file()) << "\n";
  }
}

std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs) {
  std::vector<std::string> files;
  for (const auto& in : inputs) {
    std::error_code ec;
    if (fs::is_directory(in, ec)) {
      std::vector<std::string> found;
      for (const auto& entry : fs::directory_iterator(in, ec)) {
        if (entry.is_regular_file() && entry.path().extension() == ".json") {
          found.push_back(entry.path().string());
        }
      }
      std::sort(found.begin(), found.end());
      if (found.empty()) {
        throw ScenarioError(in, "", "the directory holds no *.json scenario files",
                            "pass a scenario file or a directory of them");
      }
      files.insert(files.end(), found.begin(), found.end());
    } else {
      files.push_back(in);
    }
  }
  return files;
}

std::vector<std::string> selected_variants(const scenario::ScenarioFile& file, const Args& a) {
  if (a.variants.empty()) {
    return file.variant_names();
  }
  auto names = file.variant_names();
  for (const auto& v : a.variants) {
    if (std::find(names.begin(), names.end(), v) == names.end()) {
      throw ScenarioError(file.path(), "/variants",
                          "--variant " + v + ": no such variant",
                          scenario::suggestion(v, names));
    }
  }
  return a.variants;
}

std::string with_variant(const std::string& path, const std::string& variant) {
  fs::path p(path);
  return (p.parent_path() / (p.stem().string() + "." + variant + p.extension().string())).string();
}

}  // namespace faultline::cli
