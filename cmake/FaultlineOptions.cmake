# Warning and sanitizer flags shared by every faultline target. Applied per target through
# faultline_configure_target(), never as global flags, so a parent project keeps its own.
set(FAULTLINE_LAYER_TARGETS "" CACHE INTERNAL "")
set(FAULTLINE_EXPORT_TARGETS "" CACHE INTERNAL "")
# Extra find_package() dependencies a layer brings (for the installed package config).
set(FAULTLINE_PACKAGE_DEPS "" CACHE INTERNAL "")

function(faultline_configure_target target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor)
  if(FAULTLINE_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(FAULTLINE_FUZZ)
    # Coverage for libFuzzer in every library the fuzz targets reach, not only in the targets.
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link,address,undefined
                                             -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
  if(FAULTLINE_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer
                                             -fno-sanitize-recover=all)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
    # GCC 12 reports false maybe-uninitialized warnings inside libstdc++ (std::regex,
    # std::function) when instrumenting; they are not ours and not real.
    target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
  endif()
endfunction()

# add_faultline_layer(NAME SOURCES... [DEPS targets...]) declares one layer library
# faultline_NAME, exported as faultline::NAME and linked into faultline::faultline.
function(add_faultline_layer name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(faultline_${name} STATIC ${ARG_SOURCES})
  add_library(faultline::${name} ALIAS faultline_${name})
  set_target_properties(faultline_${name} PROPERTIES EXPORT_NAME ${name}
                        POSITION_INDEPENDENT_CODE ON)
  target_include_directories(faultline_${name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_compile_features(faultline_${name} PUBLIC cxx_std_20)
  target_link_libraries(faultline_${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  faultline_configure_target(faultline_${name})
  set(FAULTLINE_LAYER_TARGETS ${FAULTLINE_LAYER_TARGETS} faultline_${name} CACHE INTERNAL "")
  set(FAULTLINE_EXPORT_TARGETS ${FAULTLINE_EXPORT_TARGETS} faultline_${name} CACHE INTERNAL "")
endfunction()
