// `faultline describe MODEL [--json]`: what a scenario file can say to a model.
//
// Nothing here is written by hand per model: the parameters are recorded by the scenario
// layer's ObjectReader while the model's own binding parses every shipped scenario of that
// model (ParamCatalog), and the populations, probes and checkers come from the ModelInstance
// each scenario prepares. So the listing says what the parser reads, and cannot drift from it.
#include "describe.hpp"

#include <faultline/scenario/scenario.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

namespace faultline::cli {
namespace {

namespace fs = std::filesystem;
using scenario::Json;

bool is_model_key(const std::string& pointer) {
  for (const char* prefix : {"/model/params", "/topology", "/workload", "/client_policies",
                             "/faults"}) {
    if (pointer.rfind(prefix, 0) == 0) {
      return true;
    }
  }
  return false;
}

std::string joined(const std::vector<std::string>& items) {
  if (items.empty()) {
    return "(none)";
  }
  std::string out;
  for (const auto& i : items) {
    out += (out.empty() ? "" : ", ") + i;
  }
  return out;
}

}  // namespace

Json describe_model(const scenario::ModelRegistry& registry, const std::string& model,
                    const std::string& scenario_dir) {
  const scenario::ModelBinding* binding = registry.find(model);
  if (binding == nullptr) {
    auto names = registry.names();
    throw scenario::ScenarioError("", "", "unknown model \"" + model + "\"",
                                  scenario::suggestion(model, names));
  }
  Json j;
  j["model"] = binding->name;
  j["summary"] = binding->summary;
  j["sections"] = binding->sections;
  j["observation_kinds"] = scenario::observation_kinds();
  j["expectation_metrics"] = scenario::expectation_metrics();

  // Every shipped scenario of this model, every variant: the union of what they exercise.
  std::vector<std::string> files;
  std::error_code ec;
  if (fs::is_directory(scenario_dir, ec)) {
    for (const auto& entry : fs::directory_iterator(scenario_dir, ec)) {
      if (entry.is_regular_file() && entry.path().extension() == ".json") {
        files.push_back(entry.path().string());
      }
    }
  }
  std::sort(files.begin(), files.end());
  scenario::ParamCatalog catalog;
  j["scenarios"] = Json::array();
  for (const auto& path : files) {
    try {
      auto file = scenario::ScenarioFile::load(path);
      const auto& raw = file.raw();
      if (!raw.contains("model") || !raw["model"].is_object() ||
          raw["model"].value("name", std::string()) != model) {
        continue;
      }
      Json entry;
      entry["file"] = path;
      for (const auto& variant : file.variant_names()) {
        auto spec = file.resolve(variant, {}, registry, catalog);
        if (variant == scenario::kBaseVariant) {
          auto instance = spec.prepare_model(registry);
          entry["populations"] = instance->measure_scopes();
          entry["probes"] = instance->probes();
          entry["checkers"] = instance->checkers();
        }
      }
      j["scenarios"].push_back(std::move(entry));
    } catch (const scenario::ScenarioError&) {
      continue;  // a broken file describes nothing; `validate` reports it
    }
  }
  j["params"] = Json::array();
  for (const auto& p : catalog.params()) {
    if (!is_model_key(p.pointer)) {
      continue;
    }
    Json param = {{"pointer", p.pointer}, {"type", p.type}, {"default", p.default_value}};
    if (!p.range.empty()) {
      param["range"] = p.range;
    }
    if (!p.choices.empty()) {
      param["choices"] = p.choices;
    }
    j["params"].push_back(std::move(param));
  }
  return j;
}

void print_description(std::ostream& out, const Json& d) {
  out << "model " << d["model"].get<std::string>() << ": " << d["summary"].get<std::string>()
      << "\n";
  out << "reads: model.params"
      << (d["sections"].empty() ? std::string()
                                : ", " + joined(d["sections"].get<std::vector<std::string>>()))
      << "\n\n";
  if (d["params"].empty()) {
    out << "params: no shipped scenario uses this model, so none were recorded\n";
  } else {
    out << fmt::format("params (read by the binding from {} shipped scenario(s)):\n",
                       d["scenarios"].size());
    for (const auto& p : d["params"]) {
      std::string line = fmt::format("  {:<52} {:<16}", p["pointer"].get<std::string>(),
                                     p["type"].get<std::string>());
      const std::string def = p["default"].get<std::string>();
      if (!def.empty() && p["type"] != "object" && p["type"] != "array") {
        line += (p["type"] == "required" ? " " : " default ") + def;
      }
      if (p.contains("range")) {
        line += "; " + p["range"].get<std::string>();
      }
      if (p.contains("choices")) {
        line += "; one of " + joined(p["choices"].get<std::vector<std::string>>());
      }
      out << line << "\n";
    }
  }
  for (const auto& s : d["scenarios"]) {
    out << "\nas configured in " << s["file"].get<std::string>() << ":\n";
    out << "  populations (\"of\"): " << joined(s["populations"].get<std::vector<std::string>>())
        << "\n";
    out << "  probes:             " << joined(s["probes"].get<std::vector<std::string>>())
        << "\n";
    out << "  checkers:           " << joined(s["checkers"].get<std::vector<std::string>>())
        << "\n";
  }
  out << "\nobservation kinds:   "
      << joined(d["observation_kinds"].get<std::vector<std::string>>()) << "\n";
  out << "expectation metrics: "
      << joined(d["expectation_metrics"].get<std::vector<std::string>>())
      << " (latency_pNN for any percentile)\n";
}

}  // namespace faultline::cli
