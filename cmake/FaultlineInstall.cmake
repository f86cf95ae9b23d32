# Install rules and the package config that makes find_package(faultline) work from a prefix.
include(CMakePackageConfigHelpers)

install(TARGETS ${FAULTLINE_EXPORT_TARGETS} EXPORT faultlineTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS faultline_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY include/faultline DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(FAULTLINE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/faultline)
install(EXPORT faultlineTargets NAMESPACE faultline:: DESTINATION ${FAULTLINE_CMAKE_DIR})
set(FAULTLINE_PACKAGE_DEPS_LIST ${FAULTLINE_PACKAGE_DEPS})
configure_package_config_file(cmake/faultlineConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/faultlineConfig.cmake INSTALL_DESTINATION ${FAULTLINE_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/faultlineConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/faultlineConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/faultlineConfigVersion.cmake
        DESTINATION ${FAULTLINE_CMAKE_DIR})
