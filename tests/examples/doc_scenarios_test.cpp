// docs/scenarios.md's "Adding a model to scenario files", compiled and run with a small model;
// tests/examples/doc_blocks.py checks that the page holds the block verbatim.
#include <faultline/scenario/registry.hpp>
#include <faultline/scenario/scenario.hpp>

#include <catch2/catch.hpp>

using namespace faultline;
using namespace faultline::scenario;

namespace {

struct MyParams {
  int replicas = 3;
  Duration timeout = Duration::millis(250);
};

// A model that builds nothing and measures nothing: enough to show the binding's shape.
class MyInstance : public ModelInstance {
public:
  explicit MyInstance(MyParams p) : params_(p) {}
  void start(Simulation&) override {}
  std::optional<MeasureNames> measures(std::string_view) const override { return std::nullopt; }
  const MyParams& params() const { return params_; }

private:
  MyParams params_;
};

void register_mymodel_model(ModelRegistry& registry) {
  registry.add({"mymodel", "one-line summary", /*sections read besides params:*/ {},
                [](const ModelInput& in) -> std::unique_ptr<ModelInstance> {
                  MyParams p;
                  ObjectReader r(*in.params, "/model/params", *in.source);
                  r.get("replicas", p.replicas, {.min = 1}, "copies of each key");
                  r.get("timeout", p.timeout, {.min = Duration::nanos(1)},
                        "per-attempt timeout of a client call");
                  r.finish();  // unknown keys → "did you mean"; every bad value at once
                  return std::make_unique<MyInstance>(p);
                }});
}

}  // namespace

TEST_CASE("docs/scenarios.md: a binding in a few lines, with its errors", "[examples][docs]") {
  ModelRegistry registry;
  register_mymodel_model(registry);
  const char* text = R"({"format_version": 1, "name": "mine", "duration": "1s",
                         "model": {"name": "mymodel", "params": {"replicas": 5}}})";
  auto spec = ScenarioFile::parse(text, "mine.json").resolve("base", {}, registry);
  auto instance = spec.prepare_model(registry);
  CHECK(dynamic_cast<MyInstance&>(*instance).params().replicas == 5);
  CHECK(dynamic_cast<MyInstance&>(*instance).params().timeout == Duration::millis(250));
  CHECK_THROWS_WITH(
      ScenarioFile::parse(text, "mine.json").resolve("base", {"model.params.replcas=2"}, registry),
      Catch::Contains("did you mean \"replicas\"?"));
}
