# Usage: cmake -DCLI=<faultline> -DSCENARIO=<file> -DOUT=<dir> -P two_processes.cmake
# Runs the scenario's base variant in two separate processes and requires the same trace hash:
# determinism across processes, not just within one (no address-dependent or static state).
file(MAKE_DIRECTORY ${OUT})
set(hashes "")
foreach(run 1 2)
  execute_process(COMMAND ${CLI} run ${SCENARIO} --variant base --quiet --json ${OUT}/run${run}.json
                  RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "run ${run} exited ${rc}: ${err}")
  endif()
  file(READ ${OUT}/run${run}.json json)
  string(JSON hash ERROR_VARIABLE json_err GET "${json}" runs 0 trace_hash)
  if(json_err OR hash STREQUAL "")
    message(FATAL_ERROR "run ${run}: no runs[0].trace_hash in ${OUT}/run${run}.json (${json_err})")
  endif()
  list(APPEND hashes ${hash})
endforeach()
list(GET hashes 0 first)
list(GET hashes 1 second)
if(NOT first STREQUAL second)
  message(FATAL_ERROR "trace hashes differ between processes: ${first} vs ${second}")
endif()
message("same trace hash in two processes: ${first}")
