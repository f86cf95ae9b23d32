// The `faultline` executable: registers the built-in models and hands over to run_cli.
#include "cli.hpp"

#include <faultline/report/output_file.hpp>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <thread>

#include <pthread.h>
#include <unistd.h>

namespace {

// SIGINT, SIGTERM and SIGHUP are blocked in every thread and taken by one waiting thread, which
// can then do what a signal handler may not: remove the temporary output files (a trace can be
// hundreds of MB) before the process exits with 128 + the signal, as shells expect.
void stop_cleanly_on_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  if (pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) {
    return;  // signals keep their default action: nothing worse than before
  }
  std::thread([set] {
    int sig = 0;
    if (sigwait(&set, &sig) == 0) {
      faultline::report::remove_temporary_outputs();
      _exit(128 + sig);
    }
  }).detach();
  // Past a file size limit (ulimit -f) a write fails with EFBIG and is reported as a failed
  // output instead of killing the process with SIGXFSZ.
  std::signal(SIGXFSZ, SIG_IGN);
}

// In an MPI job (`mpirun -np N faultline sweep ...`) rank 0 prints the report and any error;
// the other ranks would only repeat them.
bool is_secondary_mpi_rank() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"}) {
    const char* value = std::getenv(name);  // determinism-ok: how the process was started
    if (value != nullptr) {
      return std::string(value) != "0";
    }
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  stop_cleanly_on_signals();
  faultline::scenario::ModelRegistry registry;
  faultline::scenario::register_builtin_models(registry);
  std::vector<std::string> args(argv + 1, argv + argc);
  faultline::cli::Environment env;
  env.stdout_is_tty = ::isatty(STDOUT_FILENO) != 0;
  env.stderr_is_tty = ::isatty(STDERR_FILENO) != 0;
  env.cores = std::max(1u, std::thread::hardware_concurrency());
  if (is_secondary_mpi_rank()) {
    std::ostringstream quiet_out;
    std::ostringstream quiet_err;
    return faultline::cli::run_cli(args, registry, quiet_out, quiet_err, env);
  }
  return faultline::cli::run_cli(args, registry, std::cout, std::cerr, env);
}
