# Helpers that keep each CMakeLists.txt to a few declarative lines.
#
#   ioc_add_library(NAME core SOURCES ... [DEPS ...] [PRIVATE_DEPS ...] [HEADER_ONLY])
#       -> target ioc_core, alias ioc::core; include/ is public, src/ private.
#   ioc_add_test(NAME core_test SOURCES ... DEPS ... LABELS unit|integration)
#       -> gtest executable registered with ctest (gtest_discover_tests).
#   ioc_add_bench(NAME ioc-bench-x SOURCES ... DEPS ...)
#       -> Google Benchmark executable in bin/.
#   ioc_add_service(NAME intake SOURCES ... DEPS ...)
#       -> library ioc_svc_<name> from the service's app sources + executable ioc-<name>.

function(ioc_target_defaults target)
  target_compile_options(${target} PRIVATE ${IOC_WARNINGS})
endfunction()

function(ioc_add_library)
  cmake_parse_arguments(ARG "HEADER_ONLY" "NAME" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  set(target ioc_${ARG_NAME})
  if(ARG_HEADER_ONLY)
    add_library(${target} INTERFACE)
    target_include_directories(${target} INTERFACE ${CMAKE_CURRENT_SOURCE_DIR}/include)
    target_link_libraries(${target} INTERFACE ${ARG_DEPS})
  else()
    add_library(${target} STATIC ${ARG_SOURCES})
    target_include_directories(${target}
      PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
      PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
    target_link_libraries(${target} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
    ioc_target_defaults(${target})
  endif()
  add_library(ioc::${ARG_NAME} ALIAS ${target})
endfunction()

function(ioc_add_test)
  if(NOT IOC_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "NAME" "SOURCES;DEPS;LABELS" ${ARGN})
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  add_executable(${ARG_NAME} ${ARG_SOURCES})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  ioc_target_defaults(${ARG_NAME})
  include(GoogleTest)
  gtest_discover_tests(${ARG_NAME}
    PROPERTIES LABELS "${ARG_LABELS}"
    DISCOVERY_TIMEOUT 60)
endfunction()

function(ioc_add_service)
  cmake_parse_arguments(ARG "" "NAME" "SOURCES;DEPS" ${ARGN})
  set(lib ioc_svc_${ARG_NAME})
  add_library(${lib} STATIC ${ARG_SOURCES})
  target_include_directories(${lib} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(${lib} PUBLIC ${ARG_DEPS})
  ioc_target_defaults(${lib})
  add_executable(ioc-${ARG_NAME} main.cpp)
  target_link_libraries(ioc-${ARG_NAME} PRIVATE ${lib})
  ioc_target_defaults(ioc-${ARG_NAME})
  set_target_properties(ioc-${ARG_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bin)
endfunction()

function(ioc_add_bench)
  cmake_parse_arguments(ARG "" "NAME" "SOURCES;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SOURCES})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} benchmark::benchmark)
  ioc_target_defaults(${ARG_NAME})
  set_target_properties(${ARG_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bin)
endfunction()

# `cmake --build build --target tidy`: clang-tidy (.clang-tidy) over the
# project's sources, through scripts/tidy.sh.
add_custom_target(tidy
  COMMAND ${CMAKE_COMMAND} -E env IOC_BUILD_DIR=${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR}/scripts/tidy.sh
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
  USES_TERMINAL
  COMMENT "clang-tidy")
