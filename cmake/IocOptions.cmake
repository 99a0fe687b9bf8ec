# Project-wide compiler settings. Included once from the top-level CMakeLists.txt.
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)
if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "Build type" FORCE)
endif()

find_program(IOC_CCACHE ccache)
if(IOC_CCACHE)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${IOC_CCACHE})
endif()

# Warnings apply to project targets only (through ioc_target_defaults), never
# to generated protobuf code.
set(IOC_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
    -Wcast-align -Wunused -Woverloaded-virtual -Wimplicit-fallthrough -Wno-missing-field-initializers)
if(IOC_WERROR)
  list(APPEND IOC_WARNINGS -Werror)
endif()

if(IOC_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "IOC_FUZZ needs clang: cmake -DCMAKE_CXX_COMPILER=clang++ -DIOC_FUZZ=ON")
  endif()
  # Coverage instrumentation everywhere; fuzz targets add -fsanitize=fuzzer.
  add_compile_options(-fsanitize=fuzzer-no-link)
  set(IOC_SANITIZE ON)
endif()

if(IOC_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# Boost.Asio/Beast: no deprecated interfaces, header-only error categories.
add_compile_definitions(BOOST_ASIO_NO_DEPRECATED BOOST_BEAST_USE_STD_STRING_VIEW)
