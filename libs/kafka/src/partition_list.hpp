#pragma once
/// Conversions between librdkafka's partition lists and TopicPartition
/// vectors (private to libs/kafka).

#include <librdkafka/rdkafka.h>

#include <vector>

#include "ioc/kafka/consumer.hpp"

namespace ioc::kafka {

std::vector<TopicPartition> to_vector(const rd_kafka_topic_partition_list_t* list);
/// The caller destroys the list (rd_kafka_topic_partition_list_destroy).
rd_kafka_topic_partition_list_t* to_list(const std::vector<TopicPartition>& parts);

}  // namespace ioc::kafka
