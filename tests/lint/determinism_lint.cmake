# Usage: cmake -DROOT=<dir> -P determinism_lint.cmake
# Fails when code under ROOT/{include,src,sim} uses a wall clock, std::random_device, rand(),
# time(), or a <random> distribution. src/cli and src/report (the terminal-facing layers) may
# read the wall clock for progress bars; a line may opt out with "// determinism-ok: why".
set(patterns
  "std::random_device"
  "std::chrono::system_clock"
  "std::chrono::steady_clock"
  "std::chrono::high_resolution_clock"
  "[^_a-zA-Z0-9:.>]s?rand\\("
  "[^_a-zA-Z0-9:.>]time\\((NULL|nullptr|0)\\)"
  "gettimeofday\\("
  "clock_gettime\\("
  "std::(uniform_int|uniform_real|normal|exponential|bernoulli|poisson|lognormal|discrete|geometric|binomial|gamma|weibull|cauchy|student_t|chi_squared)_distribution"
  "std::(mt19937|mt19937_64|default_random_engine|minstd_rand)")
set(found 0)
foreach(dir include src sim)
  if(NOT EXISTS ${ROOT}/${dir})
    continue()
  endif()
  file(GLOB_RECURSE files ${ROOT}/${dir}/*.hpp ${ROOT}/${dir}/*.cpp ${ROOT}/${dir}/*.h
       ${ROOT}/${dir}/*.cc)
  list(SORT files)
  foreach(f ${files})
    if(f MATCHES "/src/(cli|report)/")
      continue()
    endif()
    file(STRINGS ${f} lines)
    set(n 0)
    foreach(line IN LISTS lines)
      math(EXPR n "${n}+1")
      if(line MATCHES "determinism-ok")
        continue()
      endif()
      foreach(p ${patterns})
        if(line MATCHES "${p}")
          message("${f}:${n}: nondeterministic construct (${p}): ${line}")
          set(found 1)
        endif()
      endforeach()
    endforeach()
  endforeach()
endforeach()
if(found)
  message(FATAL_ERROR "determinism lint failed: use Simulation::rng(name) and simulated time instead")
endif()
message("determinism lint: clean")
