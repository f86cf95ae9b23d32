// The terminal report of `faultline run`: the variants side by side in one table of key
// metrics, a sparkline of the key series per variant, every expectation with ✓/✗ and its
// measured value beside its bound, and the seed, hashes and a `reproduce:` line.
#pragma once

#include <faultline/scenario/runner.hpp>
#include <faultline/scenario/scenario.hpp>

#include <ostream>
#include <string>
#include <vector>

namespace faultline::report {

struct TerminalStyle {
  bool color = false;  // ANSI colours (only when stdout is a TTY)
  int sparkline_width = 48;
  /// Lines of a checker's evidence shown under its expectation; the rest is in --json.
  std::size_t evidence_lines = 12;
};

/// ▁▂▃▄▅▆▇█ of `values` squeezed into `width` columns (each the mean of its samples), scaled to
/// [lo, hi]; NaN columns are blanks.
std::string sparkline(const std::vector<double>& values, int width, double lo, double hi);

/// Prints the report of one scenario file's runs (one per variant, same file).
void print_report(std::ostream& out, const scenario::ScenarioSpec& base,
                  const std::vector<scenario::RunResult>& runs,
                  const std::vector<std::string>& sets, const TerminalStyle& style);

/// "0x1a2b3c4d5e6f7a8b".
std::string hex64(std::uint64_t v);

}  // namespace faultline::report
