// What a command shows on the terminal while it runs: log lines stamped with the simulated
// time of the run they are about, and a progress bar (the one place that reads the wall clock).
#pragma once

#include <faultline/time.hpp>

#include <fmt/format.h>
#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/ostream_sink.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>

namespace faultline::cli {

// The %* flag prints the simulated time of the run being logged about.
class SimTimeFlag : public spdlog::custom_flag_formatter {
public:
  explicit SimTimeFlag(std::shared_ptr<std::atomic<std::int64_t>> now) : now_(std::move(now)) {}
  void format(const spdlog::details::log_msg&, const std::tm&, spdlog::memory_buf_t& dest) override {
    std::string t = "sim " + Duration::nanos(now_->load()).to_string();
    dest.append(t.data(), t.data() + t.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<SimTimeFlag>(now_);
  }

private:
  std::shared_ptr<std::atomic<std::int64_t>> now_;
};

struct RunLog {
  std::shared_ptr<std::atomic<std::int64_t>> now = std::make_shared<std::atomic<std::int64_t>>(0);
  std::shared_ptr<spdlog::logger> logger;

  RunLog(std::ostream& err, bool quiet) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(err);
    logger = std::make_shared<spdlog::logger>("faultline", sink);  // not registered: no globals
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<SimTimeFlag>('*', now).set_pattern("[%*] %l: %v");
    logger->set_formatter(std::move(formatter));
    logger->set_level(quiet ? spdlog::level::warn : spdlog::level::info);
  }
};

class ProgressBar {
public:
  ProgressBar(std::ostream& err, bool enabled) : err_(err), enabled_(enabled) {}
  ~ProgressBar() { clear(); }

  void update(double fraction, const std::string& label) {
    if (!enabled_) {
      return;
    }
    auto now = std::chrono::steady_clock::now();  // determinism-ok: progress display only
    if (now - start_ < std::chrono::seconds(1) || now - last_ < std::chrono::milliseconds(100)) {
      return;
    }
    last_ = now;
    constexpr int kWidth = 30;
    int filled = static_cast<int>(std::clamp(fraction, 0.0, 1.0) * kWidth);
    std::string bar;
    for (int i = 0; i < kWidth; ++i) {
      bar += i < filled ? "█" : "░";
    }
    err_ << "\r" << bar << fmt::format(" {:5.1f}% ", fraction * 100) << label << "\x1b[K"
         << std::flush;
    drawn_ = true;
  }
  void clear() {
    if (drawn_) {
      err_ << "\r\x1b[K" << std::flush;
      drawn_ = false;
    }
  }

private:
  std::ostream& err_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();  // determinism-ok
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace faultline::cli
