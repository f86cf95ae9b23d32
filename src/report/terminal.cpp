#include <faultline/report/terminal.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace faultline::report {
namespace {

constexpr const char* kBlocks[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};

// Display width of a UTF-8 string (every code point counts as one column).
std::size_t columns(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) {
      ++n;
    }
  }
  return n;
}

std::string pad(std::string s, std::size_t width) {
  std::size_t w = columns(s);
  if (w < width) {
    s.append(width - w, ' ');
  }
  return s;
}

std::string pad_left(const std::string& s, std::size_t width) {
  std::size_t w = columns(s);
  return w < width ? std::string(width - w, ' ') + s : s;
}

std::string count_text(std::uint64_t n) {
  if (n >= 10'000'000) {
    return fmt::format("{:.1f}M", static_cast<double>(n) / 1e6);
  }
  if (n >= 100'000) {
    return fmt::format("{:.0f}k", static_cast<double>(n) / 1e3);
  }
  return std::to_string(n);
}

std::string percent(double v) {
  if (std::isnan(v)) {
    return "n/a";
  }
  if (v >= 0.9999 && v < 1.0) {
    return fmt::format("{:.3f}%", v * 100);
  }
  return fmt::format("{:.2f}%", v * 100);
}

void print_evidence(std::ostream& out, const std::string& evidence, std::size_t max_lines) {
  if (evidence.empty()) {
    return;
  }
  std::size_t shown = 0;
  std::size_t total = 0;
  std::size_t start = 0;
  while (start <= evidence.size()) {
    std::size_t end = evidence.find('\n', start);
    if (end == std::string::npos) {
      end = evidence.size();
    }
    if (end > start) {
      ++total;
      if (shown < max_lines) {
        out << "        " << evidence.substr(start, end - start) << "\n";
        ++shown;
      }
    }
    start = end + 1;
  }
  if (total > shown) {
    out << fmt::format("        … {} more lines (the whole evidence is in --json)\n",
                       total - shown);
  }
}

}  // namespace

std::string hex64(std::uint64_t v) { return fmt::format("{:016x}", v); }

std::string sparkline(const std::vector<double>& values, int width, double lo, double hi) {
  if (values.empty() || width <= 0) {
    return {};
  }
  const auto n = values.size();
  const auto cols = std::min<std::size_t>(static_cast<std::size_t>(width), n);
  std::string out;
  for (std::size_t c = 0; c < cols; ++c) {
    std::size_t begin = c * n / cols;
    std::size_t end = (c + 1) * n / cols;
    double sum = 0;
    std::size_t k = 0;
    for (std::size_t i = begin; i < end; ++i) {
      if (!std::isnan(values[i])) {
        sum += values[i];
        ++k;
      }
    }
    if (k == 0) {
      out += ' ';
      continue;
    }
    double v = sum / static_cast<double>(k);
    double frac = hi > lo ? (v - lo) / (hi - lo) : 0.5;
    int level = static_cast<int>(std::lround(std::clamp(frac, 0.0, 1.0) * 7.0));
    out += kBlocks[level];
  }
  return out;
}

void print_report(std::ostream& out, const scenario::ScenarioSpec& base,
                  const std::vector<scenario::RunResult>& runs,
                  const std::vector<std::string>& sets, const TerminalStyle& style) {
  auto paint = [&](const std::string& text, const char* code) {
    return style.color ? std::string("\x1b[") + code + "m" + text + "\x1b[0m" : text;
  };
  out << paint(base.name, "1") << "  (" << base.file << ")\n";
  if (!base.story.summary.empty()) {
    // Wrapped at 98 columns, on word boundaries.
    std::string line;
    std::string word;
    auto flush_word = [&] {
      if (!word.empty()) {
        if (!line.empty() && columns(line) + 1 + columns(word) > 96) {
          out << "  " << line << "\n";
          line.clear();
        }
        line += (line.empty() ? "" : " ") + word;
        word.clear();
      }
    };
    for (char c : base.story.summary) {
      if (c == ' ' || c == '\n') {
        flush_word();
      } else {
        word += c;
      }
    }
    flush_word();
    if (!line.empty()) {
      out << "  " << line << "\n";
    }
  }
  for (const auto& s : base.story.sources) {
    out << "  source: " << s << "\n";
  }
  out << "\n";

  // The side-by-side table: one column per variant.
  std::size_t label_w = 22;
  for (const auto& r : runs) {
    label_w = std::max(label_w, columns(r.variant) + 4);  // sparkline labels are variants
    for (const auto& p : r.key.populations) {
      label_w = std::max(label_w, columns(p.name) + 4);
    }
  }
  std::size_t col_w = 14;
  for (const auto& r : runs) {
    col_w = std::max(col_w, columns(r.variant) + 2);
  }
  auto row = [&](const std::string& label, auto&& cell) {
    std::string line = pad(label, label_w);
    for (const auto& r : runs) {
      line += pad_left(cell(r), col_w);
    }
    out << line << "\n";
  };
  row("", [](const scenario::RunResult& r) { return r.variant; });
  row("requests", [](const auto& r) { return count_text(r.key.requests); });
  // The headline availability names its population; every other population follows, so a
  // zone or an edge at 0 % shows beside the client at 100 %.
  const std::string key_population = runs.empty() ? std::string() : runs.front().key.population;
  row(key_population.empty() ? "availability" : "availability " + key_population,
      [](const auto& r) { return percent(r.key.availability); });
  if (!runs.empty() && runs.front().key.populations.size() > 1) {
    for (const auto& p : runs.front().key.populations) {
      if (p.name == key_population) {
        continue;
      }
      row("  " + p.name, [&](const scenario::RunResult& r) {
        for (const auto& q : r.key.populations) {
          if (q.name == p.name) {
            return q.requests == 0 ? std::string("—") : percent(q.availability);
          }
        }
        return std::string("—");
      });
    }
  }
  row("throughput", [](const auto& r) { return fmt::format("{:.1f}/s", r.key.throughput_per_s); });
  row("latency p50", [](const auto& r) { return scenario::short_duration(r.key.latency_p50); });
  row("latency p99", [](const auto& r) { return scenario::short_duration(r.key.latency_p99); });
  row("retry amplification", [](const auto& r) {
    return std::isnan(r.key.retry_amplification)
               ? std::string("—")  // the model does not count attempts
               : fmt::format("{:.2f}x", r.key.retry_amplification);
  });
  row("expectations", [&](const scenario::RunResult& r) {
    auto passed = std::count_if(r.expectations.begin(), r.expectations.end(),
                                [](const auto& e) { return e.ok; });
    return fmt::format("{}/{} {}", passed, r.expectations.size(), r.ok() ? "✓" : "✗");
  });

  // Sparklines of the key series, on one scale across variants so they compare.
  if (!base.key_series.empty()) {
    double lo = std::numeric_limits<double>::infinity();
    double hi = -lo;
    for (const auto& r : runs) {
      for (const auto& s : r.series) {
        if (s.name == base.key_series) {
          for (const auto& sample : s.samples) {
            if (!std::isnan(sample.value)) {
              lo = std::min(lo, sample.value);
              hi = std::max(hi, sample.value);
            }
          }
        }
      }
    }
    if (lo <= hi) {
      out << "\n" << base.key_series << fmt::format("  (0 → {}, scale {:.4g} … {:.4g})\n",
                                                    base.duration.to_string(), lo, hi);
      for (const auto& r : runs) {
        for (const auto& s : r.series) {
          if (s.name == base.key_series) {
            std::vector<double> v;
            for (const auto& sample : s.samples) {
              v.push_back(sample.value);
            }
            out << "  " << pad(r.variant, label_w - 2)
                << sparkline(v, style.sparkline_width, lo, hi) << "\n";
          }
        }
      }
    }
  }

  out << "\nexpectations\n";
  for (const auto& r : runs) {
    if (r.expectations.empty()) {
      out << "  " << r.variant << ": (none)\n";
      continue;
    }
    out << "  " << r.variant << "\n";
    for (const auto& e : r.expectations) {
      std::string mark = e.ok ? paint("✓", "32") : paint("✗", "31");
      out << "    " << mark << " " << (e.name.empty() ? "" : e.name + ": ") << e.description
          << " " << e.bound << "   measured " << e.measured << "\n";
      // The witness of a checker's verdict, so a failure can be read without rerunning.
      print_evidence(out, e.evidence, style.evidence_lines);
    }
  }

  out << "\n";
  for (const auto& r : runs) {
    out << fmt::format("{}: seed {} · config {} · trace {} ({} records, {} events)\n",
                       r.variant, r.seed, hex64(r.config_hash), hex64(r.trace_hash),
                       r.trace_records, r.events);
  }
  for (const auto& r : runs) {
    out << "reproduce: " << scenario::reproduce_command(r.file, r.variant, r.seed, sets) << "\n";
  }
}

}  // namespace faultline::report
