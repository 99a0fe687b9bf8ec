#include "conf.hpp"

#include <stdexcept>

#include "ioc/core/config_error.hpp"
#include "ioc/core/log.hpp"

namespace ioc::kafka::detail {
namespace {

void set(rd_kafka_conf_t* conf, const std::string& key, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    throw ConfigError("kafka client", key, err);
  }
}

void log_cb(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  // syslog levels: 0-3 error, 4 warning, 5-6 info, 7 debug.
  const log::Level l = level <= 3 ? log::Level::kError
                       : level == 4 ? log::Level::kWarn
                       : level <= 6 ? log::Level::kInfo
                                    : log::Level::kDebug;
  log::write(l, "librdkafka", {{"client", rd_kafka_name(rk)}, {"facility", fac}, {"detail", buf}});
}

}  // namespace

rd_kafka_conf_t* make_conf(const ClientConfig& cfg, const std::map<std::string, std::string>& defaults,
                           const std::map<std::string, std::string>& forced) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", cfg.bootstrap_servers);
  set(conf, "client.id", cfg.client_id);
  for (const auto& [k, v] : defaults) set(conf, k, v);
  for (const auto& [k, v] : cfg.properties) set(conf, k, v);
  for (const auto& [k, v] : forced) set(conf, k, v);
  install_logger(conf);
  return conf;
}

rd_kafka_t* make_handle(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    throw ConfigError("kafka client", "rd_kafka_new", err);
  }
  return rk;  // owns conf now
}

void install_logger(rd_kafka_conf_t* conf) { rd_kafka_conf_set_log_cb(conf, log_cb); }

}  // namespace ioc::kafka::detail
