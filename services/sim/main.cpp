#include "app.hpp"

int main(int argc, char** argv) {
  return ioc::daemon::main(argc, argv, environ, "ioc-sim",
                           [](ioc::config::Source& src) { return ioc::sim::run(ioc::sim::load_config(src)); });
}
