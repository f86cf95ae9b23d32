# Usage: cmake -DFAULTLINE=<faultline binary> -DFIXTURES=<dir> -P cli_check.cmake
# `faultline check` on the fixtures: each case's exit code (0 pass, 1 fail, 2 bad input,
# 3 inconclusive) and a piece of its output.
function(expect code pattern)
  execute_process(COMMAND ${FAULTLINE} check ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE err)
  if(NOT rc EQUAL code)
    message(FATAL_ERROR "faultline check ${ARGN}: exit ${rc}, expected ${code}\n${out}${err}")
  endif()
  if(NOT "${out}${err}" MATCHES "${pattern}")
    message(FATAL_ERROR "faultline check ${ARGN}: output lacks '${pattern}':\n${out}${err}")
  endif()
endfunction()
expect(0 "pass: 7 operations" ${FIXTURES}/register-ok.edn --model cas-register)
expect(1 "cannot take effect" ${FIXTURES}/register-bad.edn --model register)
expect(1 "key \"7\"" ${FIXTURES}/independent-bad.edn --model kv)
expect(0 "pass" ${FIXTURES}/kv-ok.txt --format porcupine-kv --model kv)
expect(1 "fail" ${FIXTURES}/kv-bad.txt --format porcupine-kv --model kv)
expect(1 "compare failed" ${FIXTURES}/cas-failed.jsonl --model register)
expect(1 "could only hold: 0" ${FIXTURES}/cas-failed.jsonl --model register --initial 0)
expect(2 "unclosed.edn:3:" ${FIXTURES}/unclosed.edn --model register)
expect(2 "missing-value.jsonl:1:" ${FIXTURES}/missing-value.jsonl --model register)
expect(2 "--model is required" ${FIXTURES}/register-ok.edn)
expect(2 "cannot open" ${FIXTURES}/no-such-file.edn --model register)
expect(2 "--initial" ${FIXTURES}/register-ok.edn --model register --initial x1)
expect(3 "inconclusive" ${FIXTURES}/register-ok.edn --model register --memory-limit 0.01)
expect(1 "duplicate effect" ${FIXTURES}/requests.jsonl --model exactly-once
       --effects ${FIXTURES}/effects-double.jsonl)
expect(2 "effects-bad.jsonl:2:" ${FIXTURES}/requests.jsonl --model exactly-once
       --effects ${FIXTURES}/effects-bad.jsonl)
expect(2 "needs --effects" ${FIXTURES}/requests.jsonl --model exactly-once)
message("faultline check: all cases as expected")
