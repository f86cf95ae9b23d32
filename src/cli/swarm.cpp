#include "swarm.hpp"

#include <faultline/rng.hpp>
#include <faultline/scenario/diagnostics.hpp>
#include <faultline/world/fault.hpp>

#include <algorithm>
#include <map>

namespace faultline::cli {

std::optional<SwarmConfig> swarm_config(const scenario::ScenarioFile& file, bool flag) {
  const auto& raw = file.raw();
  auto it = raw.find("swarm");
  if (it == raw.end()) {
    return flag ? std::optional<SwarmConfig>(SwarmConfig{}) : std::nullopt;
  }
  const std::string fix = R"(write e.g. "swarm": {"kinds": ["crash", "latency"]})";
  if (!it->is_object()) {
    throw scenario::ScenarioError(file.path(), "/swarm", "expected an object", fix);
  }
  SwarmConfig config;
  for (auto field = it->begin(); field != it->end(); ++field) {
    if (field.key() != "kinds") {
      throw scenario::ScenarioError(file.path(), "/swarm/" + field.key(), "unknown key",
                                    "the swarm section has only \"kinds\"");
    }
  }
  if (auto kinds = it->find("kinds"); kinds != it->end()) {
    if (!kinds->is_array() || kinds->empty()) {
      throw scenario::ScenarioError(file.path(), "/swarm/kinds",
                                    "expected a non-empty array of fault kinds", fix);
    }
    for (std::size_t i = 0; i < kinds->size(); ++i) {
      const auto& k = (*kinds)[i];
      const std::string pointer = "/swarm/kinds/" + std::to_string(i);
      if (!k.is_string() || !world::parse_fault_kind(k.get<std::string>())) {
        throw scenario::ScenarioError(file.path(), pointer,
                                      k.dump() + " is not a fault kind",
                                      "a kind the faults section uses, e.g. \"crash\"");
      }
      if (std::find(config.kinds.begin(), config.kinds.end(), k.get<std::string>()) !=
          config.kinds.end()) {
        throw scenario::ScenarioError(file.path(), pointer, k.dump() + " is listed twice",
                                      "name each kind once");
      }
      config.kinds.push_back(k.get<std::string>());
    }
  }
  return config;
}

std::vector<bool> swarm_mask(const std::vector<std::string>& kinds, std::uint64_t seed) {
  std::vector<bool> on(kinds.size());
  if (kinds.empty()) {
    return on;
  }
  // Its own stream: the run itself derives its streams from the seed by other names.
  Rng rng = Rng::derive(seed, "sweep/swarm");
  bool any = false;
  for (std::size_t i = 0; i < kinds.size(); ++i) {
    on[i] = (rng.next_u64() >> 63) != 0;
    any = any || on[i];
  }
  if (!any) {
    on[rng.next_u64() % kinds.size()] = true;  // a seed with no fault at all tests nothing new
  }
  return on;
}

void apply_swarm(std::vector<SweepTask>& tasks, const scenario::ScenarioFile& file,
                 const std::vector<std::string>& sets, const scenario::ModelRegistry& registry,
                 const SwarmConfig& config, std::deque<scenario::ScenarioSpec>& storage) {
  std::map<std::pair<std::string, std::string>, const scenario::ScenarioSpec*> resolved;
  for (auto& task : tasks) {
    const auto& doc = task.spec->document;
    const auto faults_it = doc.find("faults");
    if (faults_it == doc.end() || !faults_it->is_array()) {
      continue;  // nothing to switch
    }
    std::vector<std::string> kinds = config.kinds;
    if (kinds.empty()) {
      for (const auto& f : *faults_it) {
        const std::string k = f.value("kind", std::string());
        if (!k.empty() && std::find(kinds.begin(), kinds.end(), k) == kinds.end()) {
          kinds.push_back(k);
        }
      }
    }
    const auto on = swarm_mask(kinds, task.seed);
    scenario::Json kept = scenario::Json::array();
    for (const auto& f : *faults_it) {
      const auto k = std::find(kinds.begin(), kinds.end(), f.value("kind", std::string()));
      if (k == kinds.end() || on[static_cast<std::size_t>(k - kinds.begin())]) {
        kept.push_back(f);
      }
    }
    std::string on_kinds;
    std::string off_kinds;
    for (std::size_t i = 0; i < kinds.size(); ++i) {
      std::string& list = on[i] ? on_kinds : off_kinds;
      list += (list.empty() ? "" : "+") + kinds[i];
    }
    task.swarm = on_kinds + (off_kinds.empty() ? "" : " (off: " + off_kinds + ")");
    if (off_kinds.empty()) {
      continue;  // every kind on: the variant as written
    }
    task.swarm_set = "faults=" + kept.dump();
    auto key = std::make_pair(task.spec->variant, task.swarm_set);
    auto found = resolved.find(key);
    if (found == resolved.end()) {
      auto with = sets;
      with.push_back(task.swarm_set);
      storage.push_back(file.resolve(task.spec->variant, with, registry));
      found = resolved.emplace(key, &storage.back()).first;
    }
    task.run_spec = found->second;
  }
}

}  // namespace faultline::cli
