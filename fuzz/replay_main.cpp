// Replays inputs through the fuzz targets without libFuzzer: `fuzz_replay [--run] FILE|DIR...`.
// The committed corpus of inputs that once failed runs this way in the ordinary test suite.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

int fuzz_scenario_one(const std::uint8_t* data, std::size_t size, bool run);

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  bool run = false;
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--run") {
      run = true;
    } else if (fs::is_directory(arg)) {
      for (const auto& e : fs::directory_iterator(arg)) {
        if (e.is_regular_file()) {
          files.push_back(e.path());
        }
      }
    } else {
      files.emplace_back(arg);
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    fuzz_scenario_one(reinterpret_cast<const std::uint8_t*>(text.data()), text.size(), run);
  }
  std::printf("replayed %zu input(s)%s: none escaped\n", files.size(), run ? " (with runs)" : "");
  return files.empty() ? 1 : 0;
}
