#include "ioc/kafka/embedded_broker.hpp"

// rdkafka.h must precede rdkafka_mock.h.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <stdexcept>

#include "conf.hpp"

namespace ioc::kafka {

EmbeddedBroker::EmbeddedBroker(int brokers, const std::vector<TopicSpec>& topics) {
  if (brokers < 1) throw std::runtime_error("embedded broker: broker count must be >= 1");
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  detail::install_logger(conf);
  char err[512];
  rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("embedded broker: ") + err);
  }
  cluster_ = rd_kafka_mock_cluster_new(rk_, brokers);
  if (cluster_ == nullptr) {
    rd_kafka_destroy(rk_);
    throw std::runtime_error("embedded broker: cannot start the mock cluster");
  }
  for (const TopicSpec& t : topics) {
    const rd_kafka_resp_err_t e =
        rd_kafka_mock_topic_create(cluster_, t.name.c_str(), t.partitions, std::min(brokers, 3));
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_mock_cluster_destroy(cluster_);
      rd_kafka_destroy(rk_);
      throw std::runtime_error("embedded broker: cannot create topic " + t.name + ": " + rd_kafka_err2str(e));
    }
  }
}

EmbeddedBroker::~EmbeddedBroker() {
  rd_kafka_mock_cluster_destroy(cluster_);
  rd_kafka_destroy(rk_);
}

std::string EmbeddedBroker::bootstrap_servers() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }

}  // namespace ioc::kafka
