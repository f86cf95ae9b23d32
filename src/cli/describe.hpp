// `faultline describe MODEL [--json]`: a model's parameters (type, default, range, choices),
// the sections it reads, and, per shipped scenario, its populations, probes and checkers.
#pragma once

#include <faultline/scenario/registry.hpp>

#include <ostream>
#include <string>

namespace faultline::cli {

/// The description of `model` as JSON; its params are recorded while the model's binding
/// parses every scenario of that model in `scenario_dir`. Throws ScenarioError for an
/// unknown model.
scenario::Json describe_model(const scenario::ModelRegistry& registry, const std::string& model,
                              const std::string& scenario_dir);

/// The same, for a person.
void print_description(std::ostream& out, const scenario::Json& description);

/// JSON Schema of every registered model's /model/params, as `$defs` entries named
/// "<model>_params" (what tools/model_reference.py splices into docs/scenario.schema.json).
scenario::Json params_schema(const scenario::ModelRegistry& registry);

/// docs/models.md: every model's params as Markdown tables.
void print_reference(std::ostream& out, const scenario::ModelRegistry& registry);

}  // namespace faultline::cli
