# Renders reports with the faultline binary and checks them in headless Chromium
# (web/test/check_report.mjs). Screenshots land in OUT_DIR/shots.
# -DSCENARIOS=a,b,c (names in scenarios/), -DPATHS=ON also checks `faultline report` from saved
# results and `faultline sweep --html`.
cmake_minimum_required(VERSION 3.25)
foreach(tool NODE CHROMIUM)
  if(NOT ${tool} OR ${tool} MATCHES "NOTFOUND")
    message(FATAL_ERROR "report browser test: ${tool} not found; run tools/deps.sh (it installs "
                        "nodejs, npm and chromium) and configure again")
  endif()
endforeach()
if(NOT EXISTS ${SOURCE_DIR}/web/node_modules/playwright-core/package.json)
  message(FATAL_ERROR "report browser test: web/node_modules has no playwright-core; run "
                      "`npm ci --prefix web` (tools/deps.sh does)")
endif()
file(REMOVE_RECURSE ${OUT_DIR})
file(MAKE_DIRECTORY ${OUT_DIR})
string(REPLACE "," ";" scenarios "${SCENARIOS}")
set(pages "")
set(storm "")
foreach(s ${scenarios})
  execute_process(COMMAND ${FAULTLINE} run scenarios/${s}.json --quiet
                          --html ${OUT_DIR}/${s}.html --json ${OUT_DIR}/${s}.results.json
                  WORKING_DIRECTORY ${SOURCE_DIR} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "faultline run ${s} --html exited with ${rc}")
  endif()
  if(s STREQUAL "dynamodb-2015-retry-storm")
    set(storm ${OUT_DIR}/${s}.html)
  else()
    list(APPEND pages ${OUT_DIR}/${s}.html)
  endif()
endforeach()
if(PATHS)
  list(GET scenarios 0 s)
  execute_process(COMMAND ${FAULTLINE} report ${OUT_DIR}/${s}.results.json
                          -o ${OUT_DIR}/${s}.from-json.html
                  WORKING_DIRECTORY ${SOURCE_DIR} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "faultline report ${s}.results.json exited with ${rc}")
  endif()
  # Without its fault the incident's expectations fail: red cells that must link to replays.
  execute_process(COMMAND ${FAULTLINE} sweep scenarios/${s}.json --seeds 1..6 -j 2 --quiet
                          --set faults=[] --html ${OUT_DIR}/${s}.sweep.html
                  WORKING_DIRECTORY ${SOURCE_DIR} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0 AND NOT rc EQUAL 1)
    message(FATAL_ERROR "faultline sweep ${s} --html exited with ${rc}")
  endif()
  list(APPEND pages ${OUT_DIR}/${s}.from-json.html ${OUT_DIR}/${s}.sweep.html)
endif()
set(check ${NODE} ${SOURCE_DIR}/web/test/check_report.mjs --chromium ${CHROMIUM}
          --shots ${OUT_DIR}/shots)
if(pages)
  execute_process(COMMAND ${check} ${pages} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "reports did not open and draw in Chromium (see above)")
  endif()
endif()
if(storm)
  # The 6-hour storm: under 3 MB and drawn in under 2 s (the page downsamples long series).
  execute_process(COMMAND ${check} --max-bytes 3000000 --max-ms 2000 ${storm} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "the DynamoDB storm's report is too large or too slow (see above)")
  endif()
endif()
