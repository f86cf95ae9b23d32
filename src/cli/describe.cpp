// `faultline describe MODEL [--json]`: what a scenario file can say to a model.
//
// Nothing here is written by hand per model: the parameters, with their docs, are recorded by
// the scenario layer's ObjectReader while the model's own binding reads (explore_params, plus
// every shipped scenario of that model), and the populations, probes and checkers come from
// the ModelInstance each scenario prepares. So the listing says what the parser reads, and
// cannot drift from it. The params sections of docs/scenario.schema.json and docs/models.md
// are generated from the same records (`describe --schema`, `describe --reference`; see
// tools/model_reference.py).
#include "describe.hpp"

#include <faultline/scenario/scenario.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
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
  // What the binding can read at all, then anything a shipped scenario reaches beyond that.
  scenario::ParamCatalog catalog = scenario::explore_params(*binding);
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
    Json param = {{"pointer", p.pointer}, {"type", p.type}, {"default", p.default_value},
                  {"doc", p.doc}};
    if (p.minimum) {
      param["minimum"] = *p.minimum;
    }
    if (p.maximum) {
      param["maximum"] = *p.maximum;
    }
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
    out << "params: the binding recorded none\n";
  } else {
    out << "params (as the binding reads them):\n";
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
      if (!p["doc"].get<std::string>().empty()) {
        out << "      " << p["doc"].get<std::string>() << "\n";
      }
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

namespace {

// A bound as JSON: whole numbers as integers (10000, not 10000.0).
Json bound(double x) {
  if (x == std::floor(x) && std::fabs(x) < 9e15) {
    return Json(static_cast<std::int64_t>(x));
  }
  return Json(x);
}

// The schema node of one recorded key.
Json key_schema(const Json& p) {
  const std::string type = p["type"];
  Json node = Json::object();
  if (type == "integer" || type == "number") {
    node["type"] = type;
    if (p.contains("minimum")) {
      node["minimum"] = p["minimum"];
    }
    if (p.contains("maximum")) {
      node["maximum"] = p["maximum"];
    }
  } else if (type == "duration") {
    node["$ref"] = "#/$defs/duration";
  } else if (type == "boolean" || type == "string") {
    node["type"] = type;
  } else if (type == "choice") {
    node["enum"] = p["choices"];
  } else if (type == "array of strings") {
    node = {{"type", "array"}, {"items", {{"type", "string"}}}};
  } else if (type == "array of names") {
    node = {{"type", "array"}, {"items", {{"type", "string"}, {"minLength", 1}}},
            {"uniqueItems", true}};
  } else if (type == "object") {
    node = {{"type", "object"}, {"additionalProperties", false},
            {"properties", Json::object()}};
  } else if (type == "array") {
    node = {{"type", "array"}};
  }
  // "required" and raw keys: any JSON value here; the CLI checks the rest.
  if (!p["doc"].get<std::string>().empty()) {
    node["description"] = p["doc"];
  }
  return node;
}

// Where the children of the node at `tokens` go, creating array items on the way.
Json& child_slot(Json& node, const std::string& token) {
  if (token == "*") {
    if (!node.contains("items")) {
      node["items"] = {{"type", "object"}, {"additionalProperties", false},
                       {"properties", Json::object()}};
    }
    return node["items"];
  }
  if (!node.contains("properties")) {
    node["properties"] = Json::object();
  }
  return node["properties"][token];
}

}  // namespace

Json params_schema(const scenario::ModelRegistry& registry) {
  Json defs = Json::object();
  for (const auto& [name, binding] : registry.all()) {
    Json root = {{"type", "object"},
                 {"additionalProperties", false},
                 {"description", "Params of model \"" + name + "\": " + binding.summary +
                                     ". Generated from the binding by tools/model_reference.py; "
                                     "see docs/models.md."},
                 {"properties", Json::object()}};
    const std::string base = "/model/params/";
    const scenario::ParamCatalog catalog = scenario::explore_params(binding);
    for (const auto& p : catalog.params()) {
      if (p.pointer.rfind(base, 0) != 0) {
        continue;
      }
      Json info = {{"type", p.type}, {"doc", p.doc}, {"choices", p.choices}};
      if (p.minimum) {
        info["minimum"] = bound(*p.minimum);
      }
      if (p.maximum) {
        info["maximum"] = bound(*p.maximum);
      }
      std::vector<std::string> tokens;
      std::string rest = p.pointer.substr(base.size());
      for (std::size_t at = 0; at != std::string::npos;) {
        const auto slash = rest.find('/', at);
        tokens.push_back(rest.substr(at, slash == std::string::npos ? slash : slash - at));
        at = slash == std::string::npos ? slash : slash + 1;
      }
      Json* node = &root;
      for (std::size_t i = 0; i + 1 < tokens.size(); ++i) {
        node = &child_slot(*node, tokens[i]);
      }
      Json& slot = child_slot(*node, tokens.back());
      Json made = key_schema(info);
      if (slot.is_null()) {
        slot = std::move(made);
      } else {
        // Children were placed first (a key read in two places): keep them.
        for (auto& [k, v] : made.items()) {
          if (!slot.contains(k)) {
            slot[k] = v;
          }
        }
      }
    }
    defs[name + "_params"] = std::move(root);
  }
  return defs;
}

void print_reference(std::ostream& out, const scenario::ModelRegistry& registry) {
  out << "# Model parameters\n\n"
      << "Generated by `tools/model_reference.py` from the bindings "
         "(src/scenario/bindings/); do not edit by hand. Every key of a scenario's "
         "`model.params`, per model: its type, default, range and what it is. "
         "`faultline describe MODEL` prints the same, with the populations, probes and "
         "checkers of each shipped scenario.\n";
  for (const auto& [name, binding] : registry.all()) {
    out << "\n## " << name << "\n\n" << binding.summary << ".\n\n";
    out << "| key | type | default | range | what it is |\n|---|---|---|---|---|\n";
    const std::string base = "/model/params/";
    auto cell = [](std::string s) {
      std::string o;
      for (char c : s) {
        o += c == '|' ? std::string("\\|") : std::string(1, c);
      }
      return o;
    };
    const scenario::ParamCatalog catalog = scenario::explore_params(binding);
    for (const auto& p : catalog.params()) {
      if (p.pointer.rfind(base, 0) != 0) {
        continue;
      }
      std::string range = p.range;
      if (!p.choices.empty()) {
        range = "one of " + joined(p.choices);
      }
      const bool container = p.type == "object" || p.type == "array";
      out << "| `" << p.pointer.substr(base.size()) << "` | " << p.type << " | "
          << (container || p.default_value.empty() ? std::string() : "`" + cell(p.default_value) + "`")
          << " | " << cell(range) << " | " << cell(p.doc) << " |\n";
    }
  }
}

}  // namespace faultline::cli
