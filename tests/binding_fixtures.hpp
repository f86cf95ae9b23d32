// Helpers for tests of a model's scenario binding: a registry of the shipped models, and the
// error a scenario document gives when it is resolved (or "no error").
#pragma once

#include <faultline/scenario/registry.hpp>
#include <faultline/scenario/scenario.hpp>

#include <string>

namespace faultline::scenario::testing {

inline ModelRegistry builtin_registry() {
  ModelRegistry registry;
  register_builtin_models(registry);
  return registry;
}

/// Resolves `doc` (as file "s.json", variant "base") and returns the ScenarioError's message.
inline std::string resolve_error(const Json& doc, const ModelRegistry& registry) {
  try {
    ScenarioFile::parse(doc.dump(), "s.json").resolve("base", {}, registry);
  } catch (const ScenarioError& e) {
    return e.what();
  }
  return "no error";
}

inline std::string resolve_error(const Json& doc) {
  return resolve_error(doc, builtin_registry());
}

}  // namespace faultline::scenario::testing
