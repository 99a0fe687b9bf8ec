#include "app.hpp"

int main(int argc, char** argv) {
  return ioc::daemon::main(argc, argv, environ, "ioc-wall",
                           [](ioc::config::Source& src) { return ioc::wall::run(ioc::wall::load_config(src)); });
}
