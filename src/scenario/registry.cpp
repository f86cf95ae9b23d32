#include <faultline/scenario/registry.hpp>

#include <stdexcept>

namespace faultline::scenario {

void ModelRegistry::add(ModelBinding binding) {
  if (models_.find(binding.name) != models_.end()) {
    throw std::invalid_argument("model \"" + binding.name + "\" is registered twice");
  }
  std::string name = binding.name;
  models_.emplace(std::move(name), std::move(binding));
}

const ModelBinding* ModelRegistry::find(std::string_view name) const {
  auto it = models_.find(name);
  return it == models_.end() ? nullptr : &it->second;
}

std::vector<std::string> ModelRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, binding] : models_) {
    out.push_back(name);
  }
  return out;
}

ParamCatalog explore_params(const ModelBinding& binding) {
  ParamCatalog catalog;
  Source source;
  source.file = "(describe " + binding.name + ")";
  source.catalog = &catalog;
  source.reading = std::make_shared<ReadContext>();
  source.reading->explore = true;
  static const Json kEmpty = Json::object();
  ModelInput in;
  in.params = &kEmpty;
  in.source = &source;
  in.duration = Duration::hours(1);
  try {
    (void)binding.prepare(in);
  } catch (const std::exception&) {
    // Expected: empty sections are rarely a valid model. Every key read until then is noted.
  }
  return catalog;
}

}  // namespace faultline::scenario
