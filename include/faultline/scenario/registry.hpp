// The model registry: how a scenario file's `"model": {"name": ...}` finds its C++ model.
//
// Each model has one binding (src/scenario/bindings/<model>.cpp) that parses the scenario's
// sections into the model's own params structs and returns a ModelInstance, which then builds
// the system inside a Simulation. Registration is explicit: the CLI and tests create a
// ModelRegistry and call register_builtin_models(registry), and tests may add their own models
// beside the built-in ones. There is no global registry.
#pragma once

#include <faultline/scenario/json_reader.hpp>
#include <faultline/simulation.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::scenario {

/// Registry names of the standard measures of one client population (or of the whole system,
/// `of` empty). Expectations such as availability or retry amplification are computed from these
/// counters over a window. Empty names mean "this model does not measure that".
struct MeasureNames {
  std::string requests;   // counter: logical requests issued
  std::string successes;  // counter: logical requests that succeeded
  /// counter: logical requests that finally failed. When given, availability is
  /// successes / (successes + failures) of the requests that completed in the window, so a
  /// window never mixes requests issued in it with outcomes of earlier ones; otherwise it is
  /// successes / requests.
  std::string failures;
  std::string attempts;   // counter: attempts sent, retries and hedges included
  std::string latency;    // histogram (ns): latency of successful requests
};

/// A checker's verdict at the end of a run (mirrors check::'s common result).
struct CheckVerdict {
  CheckVerdict() = default;
  // A constructor rather than an aggregate, so bindings may leave the evidence out.
  CheckVerdict(bool is_ok, std::string one_line, std::string evidence = {})
      : ok(is_ok), summary(std::move(one_line)), details(std::move(evidence)) {}

  bool ok = true;
  std::string summary;
  /// The evidence of a failure (check::CheckResult::details): the offending operations or
  /// transactions, several lines; empty when ok.
  std::string details;
};

/// A model prepared from a scenario: parsed, validated, not yet built.
class ModelInstance {
public:
  virtual ~ModelInstance() = default;
  /// Builds the system, its workload and fault timeline inside `sim` and starts them.
  virtual void start(Simulation& sim) = 0;
  /// Standard measures for the client population or service `of` ("" = everything); nullopt
  /// when `of` names nothing in this model.
  virtual std::optional<MeasureNames> measures(std::string_view of) const = 0;
  /// Names accepted by measures(), for error messages (not including "").
  virtual std::vector<std::string> measure_scopes() const { return {}; }
  /// Instantaneous probes for observations and expectations ("cpu_utilisation/api",
  /// "queue_length/api"), sorted.
  virtual std::vector<std::string> probes() const { return {}; }
  /// The current value of a probe; only called with names from probes(), after start().
  virtual double probe(std::string_view /*name*/) const { return 0.0; }
  /// Checker names this model can run at the end of a run.
  virtual std::vector<std::string> checkers() const { return {}; }
  /// Runs a checker after the run; only called with names from checkers().
  virtual CheckVerdict check(std::string_view /*name*/, Simulation& /*sim*/) { return {}; }
};

/// The sections of a (variant's merged) scenario document a binding may read. Sections that
/// are absent are nullptr. A binding must reject content it does not understand (use
/// ObjectReader::finish), so that a typo never silently changes nothing.
struct ModelInput {
  const Json* params = nullptr;           // /model/params
  const Json* topology = nullptr;         // /topology
  const Json* workload = nullptr;         // /workload
  const Json* client_policies = nullptr;  // /client_policies
  const Json* faults = nullptr;           // /faults
  const Source* source = nullptr;
  Duration duration;                      // of the run, to validate fault times against
};

struct ModelBinding {
  std::string name;
  std::string summary;
  /// Which of topology/workload/client_policies/faults the model reads; the scenario parser
  /// rejects the others when present.
  std::vector<std::string> sections;
  /// Parses and validates; throws ScenarioError. Called once per run, so an instance never
  /// outlives or is shared between simulations.
  std::function<std::unique_ptr<ModelInstance>(const ModelInput&)> prepare;
};

class ModelRegistry {
public:
  /// Throws std::invalid_argument if the name is taken.
  void add(ModelBinding binding);
  const ModelBinding* find(std::string_view name) const;
  std::vector<std::string> names() const;
  const std::map<std::string, ModelBinding, std::less<>>& all() const { return models_; }

private:
  std::map<std::string, ModelBinding, std::less<>> models_;
};

/// Every key `binding` can read in a scenario's /model/params (and the other sections it
/// reads), with its type, default, range and doc: the binding runs once on empty sections with
/// ReadContext::explore set, so absent objects and arrays are read as empty ones and every
/// key's get() call records it. The one source of `faultline describe`, the generated params
/// sections of docs/scenario.schema.json and docs/models.md. A key behind a check that throws
/// (not report()s) on the empty input would be missed; a test compares this with the keys
/// every shipped scenario uses.
ParamCatalog explore_params(const ModelBinding& binding);

/// Registers every model shipped with faultline (one binding file each).
void register_builtin_models(ModelRegistry& registry);

}  // namespace faultline::scenario
