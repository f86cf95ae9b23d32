// register_builtin_models: the one place that lists every shipped model binding. Each
// binding lives in its own file beside this one and is compiled in when its model exists.
#include <faultline/scenario/registry.hpp>

namespace faultline::scenario {

#ifdef FAULTLINE_HAVE_SERVICES
void register_services_model(ModelRegistry& registry);
#endif

void register_builtin_models([[maybe_unused]] ModelRegistry& registry) {
#ifdef FAULTLINE_HAVE_SERVICES
  register_services_model(registry);
#endif
}

}  // namespace faultline::scenario
