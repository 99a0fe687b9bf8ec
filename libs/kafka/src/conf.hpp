#pragma once
// Builds an rd_kafka_conf_t from ClientConfig plus per-client settings.
// Setup errors throw ioc::ConfigError naming the property.

#include <librdkafka/rdkafka.h>

#include <map>
#include <string>

#include "ioc/kafka/client_config.hpp"

namespace ioc::kafka::detail {

/// `defaults` are applied first, then ClientConfig::properties (so a user
/// can override anything), then `forced` (settings the wrapper relies on).
rd_kafka_conf_t* make_conf(const ClientConfig& cfg, const std::map<std::string, std::string>& defaults,
                           const std::map<std::string, std::string>& forced = {});

/// rd_kafka_new with error text turned into an exception.
rd_kafka_t* make_handle(rd_kafka_type_t type, rd_kafka_conf_t* conf);

/// Routes librdkafka's own log lines into ioc::log as structured lines.
void install_logger(rd_kafka_conf_t* conf);

}  // namespace ioc::kafka::detail
