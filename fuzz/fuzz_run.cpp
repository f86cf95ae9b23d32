// libFuzzer entry point: load, validate and run the base briefly.
#include <cstddef>
#include <cstdint>

int fuzz_scenario_one(const std::uint8_t* data, std::size_t size, bool run);

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzz_scenario_one(data, size, true);
}
