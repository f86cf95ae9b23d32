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

}  // namespace faultline::scenario
