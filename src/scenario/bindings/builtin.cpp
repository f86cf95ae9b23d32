// register_builtin_models: registers every shipped model binding. Each binding lives in its
// own file beside this one, named after its model folder (sim/services → services.cpp), and
// defines register_<model>_model; the build generates the list (see ../CMakeLists.txt).
#include <faultline/scenario/registry.hpp>

namespace faultline::scenario {

#include "builtin_models.inc"

void register_builtin_models(ModelRegistry& registry) { register_each_builtin_model(registry); }

}  // namespace faultline::scenario
