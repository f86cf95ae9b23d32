// register_builtin_models: the one place that lists every shipped model binding. Each
// binding lives in its own file beside this one (services.cpp, ...); a new model adds its
// register_<model>_model here.
#include <faultline/scenario/registry.hpp>

namespace faultline::scenario {

void register_services_model(ModelRegistry& registry);

void register_builtin_models(ModelRegistry& registry) { register_services_model(registry); }

}  // namespace faultline::scenario
