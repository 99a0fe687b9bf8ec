#include "app.hpp"

int main(int argc, char** argv) {
  return ioc::daemon::main(argc, argv, environ, "ioc-aggregator", [](ioc::config::Source& src) {
    return ioc::aggregator::run(ioc::aggregator::load_config(src));
  });
}
