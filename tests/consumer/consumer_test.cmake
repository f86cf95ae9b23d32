# Installs faultline into a temporary prefix, then configures, builds and runs
# tests/consumer against it: proves find_package(faultline) works for a user.
add_test(NAME consumer.install_build_run
         COMMAND ${CMAKE_COMMAND}
                 -DBUILD_DIR=${PROJECT_BINARY_DIR}
                 -DSOURCE_DIR=${CMAKE_CURRENT_LIST_DIR}
                 -DWORK_DIR=${PROJECT_BINARY_DIR}/consumer-test
                 -DCXX=${CMAKE_CXX_COMPILER}
                 -P ${CMAKE_CURRENT_LIST_DIR}/run_consumer.cmake)
set_tests_properties(consumer.install_build_run PROPERTIES LABELS "unit" TIMEOUT 600)
