#pragma once
/// IOC_CHECK: invariant checks that stay on in release builds. A failed check
/// is a bug in this program, never a reaction to outside data: it prints the
/// condition and location and aborts.

#include <cstdio>
#include <cstdlib>

namespace ioc::detail {
[[noreturn]] inline void check_failed(const char* cond, const char* file, int line, const char* msg) {
  std::fprintf(stderr, "CHECK failed: %s at %s:%d%s%s\n", cond, file, line, msg[0] ? ": " : "", msg);
  std::abort();
}
}  // namespace ioc::detail

#define IOC_CHECK(cond)                                                    \
  do {                                                                     \
    if (!(cond)) [[unlikely]]                                              \
      ::ioc::detail::check_failed(#cond, __FILE__, __LINE__, "");          \
  } while (false)

#define IOC_CHECK_MSG(cond, msg)                                           \
  do {                                                                     \
    if (!(cond)) [[unlikely]]                                              \
      ::ioc::detail::check_failed(#cond, __FILE__, __LINE__, (msg));       \
  } while (false)
