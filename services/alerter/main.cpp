#include <iostream>
#include <string_view>

#include "app.hpp"

int main(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "--check") {
    return ioc::alerter::check_command(std::vector<std::string>(argv + 1, argv + argc), std::cout, std::cerr);
  }
  if (argc >= 2 && std::string_view(argv[1]) == "--backtest") return ioc::alerter::backtest_command(argc, argv, environ);
  return ioc::daemon::main(argc, argv, environ, "ioc-alerter", [](ioc::config::Source& src) {
    return ioc::alerter::run(ioc::alerter::load_config(src));
  });
}
