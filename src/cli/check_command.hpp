// `faultline check HISTORY --model M`: checks a recorded history (ours, Jepsen's EDN or
// Porcupine's key-value log) and prints the verdict, the witness and the time.
//
// Exit codes: 0 the history passes; 1 it fails; 2 bad input (usage, unreadable or malformed
// file); 3 inconclusive (a time, memory or configuration limit ran out first).
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace faultline::cli {

/// `args` excludes "check" itself.
int run_check_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace faultline::cli
