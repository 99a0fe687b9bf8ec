#include "app.hpp"

int main(int argc, char** argv) {
  return ioc::daemon::main(argc, argv, environ, "ioc-broker",
                           [](ioc::config::Source& src) { return ioc::broker::run(ioc::broker::load_config(src)); });
}
