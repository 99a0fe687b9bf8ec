#include <unistd.h>

#include <cstring>
#include <iostream>
#include <vector>

#include "app.hpp"

// ioc-topics [--check] [--config FILE] [--set key=value ...]
int main(int argc, char** argv) {
  bool check_only = false;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (i > 0 && std::strcmp(argv[i], "--check") == 0) {
      check_only = true;
    } else {
      args.push_back(argv[i]);
    }
  }
  args.push_back(nullptr);
  return ioc::daemon::main(static_cast<int>(args.size()) - 1, args.data(), environ, "ioc-topics",
                           [check_only](ioc::config::Source& src) {
                             return ioc::topics::run(ioc::topics::load_config(src), check_only, std::cout);
                           },
                           {"[--check]", ioc::topics::kUsage});
}
