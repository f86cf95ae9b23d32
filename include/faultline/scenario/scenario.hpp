// Scenario files: the complete, reproducible description of one outage and its fixes.
//
// A file holds a base scenario (usually the incident as it happened) and named variants (the
// counterfactual fixes), each a change to the base given either as a JSON merge-patch
// (RFC 7386, key "patch") or as dotted path=value overrides (key "overrides"). Resolving a
// variant gives a ScenarioSpec: the merged document, parsed and validated, with its
// observations and expectations. docs/scenarios.md describes the format.
#pragma once

#include <faultline/scenario/json_reader.hpp>
#include <faultline/scenario/registry.hpp>
#include <faultline/time.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::scenario {

inline constexpr int kFormatVersion = 1;
inline constexpr std::string_view kBaseVariant = "base";

/// A time series recorded during the run, sampled every `every`.
struct Observation {
  enum class Kind {
    kAvailability,         // successes / requests over each interval
    kErrorRate,            // 1 - availability over each interval
    kThroughput,           // successes per second over each interval
    kRequestRate,          // requests per second over each interval
    kRetryAmplification,   // attempts / requests over each interval
    kProbe,                // the model's instantaneous probe (e.g. CPU utilisation)
  };
  std::string name;  // series name in the report and JSON results
  Kind kind = Kind::kAvailability;
  std::string of;     // measure scope (client or service), "" = everything
  std::string probe;  // for kProbe
  Duration every = Duration::seconds(1);
};

/// One expectation: a measured quantity compared with bounds, or a checker's verdict.
struct Expectation {
  enum class Kind {
    kAvailability,
    kErrorRate,
    kThroughput,          // successes per second
    kRetryAmplification,  // attempts per request
    kLatency,             // percentile `quantile` of successful-request latency
    kProbeMean,           // mean of a probe over the window (e.g. CPU utilisation)
    kSeriesMean,          // mean of an observed series over the window
    kTimeToRecover,       // from `after` until series stays >= threshold
    kChecker,             // a model checker's verdict
  };
  Kind kind = Kind::kAvailability;
  std::string metric;  // as written in the file ("availability", "latency_p99", ...)
  std::string of;
  std::string probe;
  std::string series;
  std::string checker;
  /// For kChecker: the checker must find a violation ("expect": "violated"), as in a story
  /// whose broken variant must be caught.
  bool expect_violation = false;
  /// The expectation's "name" in the file, shown in reports ("" when it has none).
  std::string name;
  double quantile = 0.99;
  Duration from = Duration::zero();
  std::optional<Duration> to;  // nullopt: end of run
  std::optional<double> min;   // inclusive bounds; durations are in seconds
  std::optional<double> max;
  Duration after;              // for kTimeToRecover
  double threshold = 0.0;      // for kTimeToRecover
  std::vector<std::string> in_variants;  // empty: every variant
  std::string pointer;         // where it is written, for messages
  /// Whether the bound is a duration (latency, time to recover).
  bool duration_valued() const { return kind == Kind::kLatency || kind == Kind::kTimeToRecover; }
  /// "availability of api over [2h19m, 4h] >= 0.99" without the bound values.
  std::string describe() const;
  bool applies_to(std::string_view variant) const;
};

struct Story {
  std::string summary;
  std::vector<std::string> sources;
};

/// One resolved, validated scenario run (the base or one variant).
struct ScenarioSpec {
  std::string file;
  std::string variant;  // "base" or the variant's name
  std::string variant_description;
  std::string name;
  Story story;
  UtcInstant epoch;
  std::uint64_t seed = 1;
  Duration duration;
  std::string model;
  Json document;  // the merged document (variants removed)
  Source source;
  std::vector<Observation> observations;
  std::vector<Expectation> expectations;  // only those that apply to this variant
  std::string key_series;  // series shown as a sparkline ("" = none)
  /// FNV-1a of the canonical merged document: equal hashes, equal configurations.
  std::uint64_t config_hash = 0;

  /// Prepares the model for one run (parses its params); throws ScenarioError.
  std::unique_ptr<ModelInstance> prepare_model(const ModelRegistry& registry) const;
};

/// The observation kinds and expectation metrics of scenario files, for `faultline describe`.
const std::vector<std::string>& observation_kinds();
const std::vector<std::string>& expectation_metrics();

struct VariantDecl {
  std::string name;
  std::string description;
  std::size_t index = 0;  // position in /variants
};

/// A loaded scenario file, not yet resolved.
class ScenarioFile {
public:
  /// Reads and parses a file; missing files and JSON syntax errors throw ScenarioError.
  static ScenarioFile load(const std::string& path);
  /// Parses text as if read from `path` (used by tests and by stdin input).
  static ScenarioFile parse(std::string_view text, const std::string& path);

  const std::string& path() const { return path_; }
  const Json& raw() const { return raw_; }
  const std::string& name() const { return name_; }
  /// "base" followed by the declared variants, in file order.
  std::vector<std::string> variant_names() const;
  const std::vector<VariantDecl>& variants() const { return variants_; }

  /// Resolves a variant ("base" or a declared name), applies command-line overrides
  /// ("model.params.timeout=250ms"; the value is JSON if it parses as JSON, else a string),
  /// parses and validates the result, including the model's params.
  ScenarioSpec resolve(std::string_view variant, const std::vector<std::string>& sets,
                       const ModelRegistry& registry) const;
  /// The same, recording every key the model's binding reads into `catalog` (for
  /// `faultline describe`); the returned spec no longer refers to it.
  ScenarioSpec resolve(std::string_view variant, const std::vector<std::string>& sets,
                       const ModelRegistry& registry, ParamCatalog& catalog) const;

  /// Resolves a variant and builds its model in a throwaway simulation (no event runs),
  /// throwing every error found (ScenarioErrors when several): what `validate` does per variant.
  void validate_variant(std::string_view variant, const ModelRegistry& registry) const;

private:
  ScenarioSpec resolve_into(std::string_view variant, const std::vector<std::string>& sets,
                            const ModelRegistry& registry, ParamCatalog* catalog,
                            bool build) const;
  /// Parses observations, key_series and expectations against the prepared model, recording
  /// each one's error in `errors`. A null model (its params did not parse) skips the names
  /// only the model knows.
  void resolve_measures(ObjectReader& top, const ModelInstance* model, ScenarioSpec& spec,
                        ErrorList& errors) const;

  std::string path_;
  Json raw_;
  std::string name_;
  std::vector<VariantDecl> variants_;
};

/// Sets `value` at a dotted path ("model.params.retry.max_attempts", array indices as
/// numbers). Missing objects on the way are created (the parse that follows rejects names the
/// model does not know); array indices must exist. Records provenance.
void apply_override(Json& doc, std::string_view dotted_path, const Json& value,
                    const std::string& origin, Source& source);

/// Applies an RFC 7386 merge-patch, recording for each leaf its origin pointer.
void apply_merge_patch(Json& doc, const Json& patch, const std::string& origin_pointer,
                       Source& source);

/// How deep a scenario's JSON may nest (objects and arrays); real files need fewer than ten.
inline constexpr int kMaxJsonDepth = 64;

/// Parses JSON text for the scenario layer: syntax errors, numbers a double cannot hold and
/// nesting deeper than kMaxJsonDepth become a ScenarioError naming `file` and the line and
/// column (or `where`, when given, e.g. "--set seed").
Json parse_json_text(std::string_view text, const std::string& file, const std::string& where);

/// Splits "path=value" from the command line; the value is parsed as JSON when possible.
std::pair<std::string, Json> parse_set_argument(std::string_view argument);

/// Starts a prepared model in `sim`; what the world or the model's builder rejects
/// (std::invalid_argument) becomes a ScenarioError, as any other input problem.
void start_model(ModelInstance& model, Simulation& sim, const ScenarioSpec& spec);

/// Prepares and starts the model in a throwaway simulation without running an event: finds
/// every problem `run` would find before the run begins.
void check_startable(const ScenarioSpec& spec, const ModelRegistry& registry);

/// Validates every variant of a file (what `faultline validate` does): resolves it and builds
/// its model, reporting every error of every variant (each once) in one ScenarioErrors.
void validate_file(const ScenarioFile& file, const ModelRegistry& registry);

}  // namespace faultline::scenario
