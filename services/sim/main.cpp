#include "app.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args = ioc::sim::expand_shortcuts(std::vector<std::string>(argv + 1, argv + argc));
  std::vector<char*> argp{argv[0]};
  for (std::string& a : args) argp.push_back(a.data());
  argp.push_back(nullptr);
  return ioc::daemon::main(static_cast<int>(argp.size() - 1), argp.data(), environ, "ioc-sim",
                           [](ioc::config::Source& src) { return ioc::sim::run(ioc::sim::load_config(src)); });
}
