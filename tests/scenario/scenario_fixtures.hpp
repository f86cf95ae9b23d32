// Shared fixtures for the scenario tests: a valid toy scenario, a temp directory, and a
// registry holding the test models.
#pragma once

#include "toy_model.hpp"

#include <faultline/scenario/registry.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

namespace faultline::scenario::testing {

// A 60 s run with an outage over [20 s, 30 s); the variant "no-outage" removes the outage,
// "retries" adds retries (which amplify attempts during the outage).
inline const char* const kToyScenario = R"({
  "format_version": 1,
  "name": "toy-outage",
  "story": {"summary": "A server goes down for ten seconds.", "sources": ["test"]},
  "epoch": "2015-09-20T09:00:00Z",
  "seed": 7,
  "duration": "60s",
  "model": {"name": "toy", "params": {"rate_per_s": 200, "service_time": "10ms",
            "timeout": "100ms", "max_attempts": 1}},
  "faults": [{"kind": "outage", "at": "20s", "for": "10s"}],
  "observations": [
    {"name": "availability", "kind": "availability", "every": "1s"},
    {"name": "attempts", "kind": "retry_amplification", "every": "1s"},
    {"name": "in_flight", "kind": "probe", "probe": "in_flight", "every": "1s"}
  ],
  "key_series": "availability",
  "expectations": [
    {"metric": "availability", "window": ["20s", "30s"], "max": 0.01, "in": ["base", "retries"]},
    {"metric": "availability", "window": ["0s", "20s"], "min": 0.95},
    {"metric": "availability", "min": 0.99, "in": ["no-outage"]},
    {"metric": "retry_amplification", "window": ["20s", "30s"], "min": 2.5, "in": ["retries"]},
    {"metric": "time_to_recover", "series": "availability", "after": "30s", "threshold": 0.9,
     "max": "2s", "in": ["base"]},
    {"metric": "checker", "checker": "always_ok"}
  ],
  "variants": [
    {"name": "no-outage", "description": "the server stays up", "patch": {"faults": null}},
    {"name": "retries", "description": "three attempts",
     "overrides": {"model.params.max_attempts": 3}}
  ]
})";

inline ModelRegistry test_registry() {
  ModelRegistry registry;
  register_builtin_models(registry);
  register_test_models(registry);
  return registry;
}

/// A fresh directory under the system temp dir, removed at the end of the test.
class TempDir {
public:
  explicit TempDir(const std::string& tag) {
    path_ = std::filesystem::temp_directory_path() /
            ("faultline-scenario-test-" + tag + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string write(const std::string& name, const std::string& content) const {
    auto p = path_ / name;
    std::ofstream(p) << content;
    return p.string();
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

private:
  std::filesystem::path path_;
};

}  // namespace faultline::scenario::testing
