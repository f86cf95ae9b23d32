// `faultline describe` lists what the bindings read (recorded while they parse), and the JSON
// Schema editors use agrees with it: every parameter describe lists has a place in the schema.
#include "cli.hpp"
#include "describe.hpp"
#include "scenario_fixtures.hpp"

#include <catch2/catch.hpp>

#include <faultline/scenario/scenario.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

using faultline::scenario::Json;
using faultline::scenario::testing::test_registry;

namespace {

const std::string kSource = FAULTLINE_SOURCE_DIR;

// Whether the schema node (following $ref, anyOf/oneOf/allOf, properties and items) has a
// place for the path tokens from `i` on ("*" is an array element).
bool schema_has(const Json& root, const Json& node, const std::vector<std::string>& tokens,
                std::size_t i) {
  if (node.contains("$ref")) {
    const std::string ref = node["$ref"];
    const std::string prefix = "#/$defs/";
    REQUIRE(ref.rfind(prefix, 0) == 0);
    return schema_has(root, root["$defs"][ref.substr(prefix.size())], tokens, i);
  }
  for (const char* combo : {"anyOf", "oneOf", "allOf"}) {
    if (node.contains(combo)) {
      for (const auto& branch : node[combo]) {
        if (schema_has(root, branch, tokens, i)) {
          return true;
        }
      }
    }
  }
  if (i == tokens.size()) {
    return true;
  }
  if (tokens[i] == "*" && node.contains("items")) {
    return schema_has(root, node["items"], tokens, i + 1);
  }
  if (node.contains("properties") && node["properties"].contains(tokens[i])) {
    return schema_has(root, node["properties"][tokens[i]], tokens, i + 1);
  }
  return false;
}

std::vector<std::string> split(const std::string& pointer) {
  std::vector<std::string> out;
  std::stringstream in(pointer.substr(1));
  std::string token;
  while (std::getline(in, token, '/')) {
    out.push_back(token);
  }
  return out;
}

}  // namespace

TEST_CASE("describe: every model's params, populations, probes and checkers, from the binding",
          "[scenario][describe]") {
  auto registry = test_registry();
  auto d = faultline::cli::describe_model(registry, "services", kSource + "/scenarios");
  std::vector<std::string> pointers;
  for (const auto& p : d["params"]) {
    pointers.push_back(p["pointer"]);
  }
  auto find = [&](const std::string& pointer) -> Json {
    for (const auto& p : d["params"]) {
      if (p["pointer"] == pointer) {
        return p;
      }
    }
    return nullptr;
  };
  const Json instances = find("/model/params/tiers/*/instances");
  REQUIRE(instances.is_object());
  CHECK(instances["type"] == "integer");
  CHECK(instances["default"] == "2");
  CHECK(instances["range"] == "between 1 and 10000");
  const Json jitter = find("/model/params/clients/*/policy/retry/jitter");
  REQUIRE(jitter.is_object());
  CHECK(jitter["choices"].size() == 4);
  bool web = false;
  for (const auto& s : d["scenarios"]) {
    if (s["file"].get<std::string>().find("instance-crash-retries.json") != std::string::npos) {
      web = s["populations"] == Json({"web", "api"});
      CHECK(s["probes"].size() == 3);
    }
  }
  CHECK(web);
  CHECK_THROWS_WITH(faultline::cli::describe_model(registry, "servces", kSource + "/scenarios"),
                    Catch::Contains("did you mean \"services\"?"));

  std::ostringstream out;
  std::ostringstream err;
  CHECK(faultline::cli::run_cli({"describe", "spanner"}, registry, out, err,
                                {.scenario_dir = kSource + "/scenarios"}) == 0);
  CHECK(out.str().find("checkers:           invariants, strict-serializability") !=
        std::string::npos);
}

TEST_CASE("describe: the JSON Schema has a place for every parameter a binding reads",
          "[scenario][describe][schema]") {
  auto registry = test_registry();
  std::ifstream in(kSource + "/docs/scenario.schema.json");
  const Json schema = Json::parse(in);
  for (const auto& model :
       {"services", "dynamo", "dynamodb", "spanner", "contention", "evcache", "elb"}) {
    auto d = faultline::cli::describe_model(registry, model, kSource + "/scenarios");
    const Json& params = schema["$defs"][std::string(model) + "_params"];
    REQUIRE(params.is_object());
    for (const auto& p : d["params"]) {
      const std::string pointer = p["pointer"];
      if (pointer.rfind("/model/params/", 0) != 0) {
        continue;
      }
      auto tokens = split(pointer.substr(std::string("/model/params").size()));
      INFO(model << " " << pointer);
      CHECK(schema_has(schema, params, tokens, 0));
    }
  }
}

namespace {

// The /model/params pointers recorded while reading every shipped scenario of `model`.
std::set<std::string> shipped_params(const faultline::scenario::ModelRegistry& registry,
                                     const std::string& model) {
  faultline::scenario::ParamCatalog catalog;
  for (const auto& entry : std::filesystem::directory_iterator(kSource + "/scenarios")) {
    auto file = faultline::scenario::ScenarioFile::load(entry.path().string());
    if (file.raw()["model"].value("name", std::string()) != model) {
      continue;
    }
    for (const auto& variant : file.variant_names()) {
      (void)file.resolve(variant, {}, registry, catalog);
    }
  }
  std::set<std::string> out;
  for (const auto& p : catalog.params()) {
    if (p.pointer.rfind("/model/params/", 0) == 0) {
      out.insert(p.pointer);
    }
  }
  return out;
}

}  // namespace

// explore_params runs a binding on empty input; a check that throws (instead of report()ing)
// before a key is read would hide that key from describe, the schema and docs/models.md. Every
// key a shipped scenario uses must be among those explored. (Failed before spanner's zone
// checks report()ed: leader_zone, workload, truetime, master_outages... were missing.)
TEST_CASE("describe: exploring a binding finds every key the shipped scenarios use",
          "[scenario][describe]") {
  faultline::scenario::ModelRegistry registry;
  faultline::scenario::register_builtin_models(registry);
  for (const auto& [name, binding] : registry.all()) {
    std::set<std::string> explored;
    const auto catalog = faultline::scenario::explore_params(binding);
    for (const auto& p : catalog.params()) {
      explored.insert(p.pointer);
    }
    for (const auto& pointer : shipped_params(registry, name)) {
      INFO(name << " " << pointer);
      CHECK(explored.count(pointer) == 1);
    }
  }
}

// Every key of every model's params says what it is (the binding's doc argument), so describe,
// the schema's descriptions and docs/models.md never show a bare name. Models whose binding is
// not documented yet are listed; the list can only shrink (a listed model that becomes fully
// documented fails here until it is taken off).
TEST_CASE("describe: every param of every model has a one-line doc", "[scenario][describe]") {
  const std::set<std::string> pending{};
  faultline::scenario::ModelRegistry registry;
  faultline::scenario::register_builtin_models(registry);
  for (const auto& [name, binding] : registry.all()) {
    const auto catalog = faultline::scenario::explore_params(binding);
    std::size_t undocumented = 0;
    for (const auto& p : catalog.params()) {
      if (p.pointer.rfind("/model/params/", 0) != 0) {
        continue;
      }
      INFO(name << " " << p.pointer);
      CHECK(p.doc.find('\n') == std::string::npos);
      undocumented += p.doc.empty() ? 1 : 0;
      if (pending.count(name) == 0) {
        CHECK_FALSE(p.doc.empty());
      }
    }
    INFO(name);
    CHECK((pending.count(name) == 0 || undocumented > 0));
  }
}
