// The `faultline` executable: registers the built-in models and hands over to run_cli.
#include "cli.hpp"

#include <iostream>
#include <thread>

#include <unistd.h>

int main(int argc, char** argv) {
  faultline::scenario::ModelRegistry registry;
  faultline::scenario::register_builtin_models(registry);
  std::vector<std::string> args(argv + 1, argv + argc);
  faultline::cli::Environment env;
  env.stdout_is_tty = ::isatty(STDOUT_FILENO) != 0;
  env.stderr_is_tty = ::isatty(STDERR_FILENO) != 0;
  env.cores = std::max(1u, std::thread::hardware_concurrency());
  return faultline::cli::run_cli(args, registry, std::cout, std::cerr, env);
}
