#include "app.hpp"

int main(int argc, char** argv) {
  return ioc::daemon::main(argc, argv, environ, "ioc-intake",
                           [](ioc::config::Source& src) { return ioc::intake::run(ioc::intake::load_config(src)); });
}
