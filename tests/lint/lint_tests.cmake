# Determinism lint: simulation code must not read the wall clock or use unseeded or
# library-specific randomness. The scan is a CMake script so that it needs nothing else.
add_test(NAME lint.determinism
         COMMAND ${CMAKE_COMMAND} -DROOT=${PROJECT_SOURCE_DIR}
                 -P ${CMAKE_CURRENT_LIST_DIR}/determinism_lint.cmake)
set_tests_properties(lint.determinism PROPERTIES LABELS "unit")
# The lint must also be able to fail: run it on a planted violation.
add_test(NAME lint.determinism.rejects_violation
         COMMAND ${CMAKE_COMMAND} -DROOT=${CMAKE_CURRENT_LIST_DIR}/fixture
                 -P ${CMAKE_CURRENT_LIST_DIR}/determinism_lint.cmake)
set_tests_properties(lint.determinism.rejects_violation PROPERTIES WILL_FAIL TRUE LABELS "unit")
