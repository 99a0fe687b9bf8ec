#include "ioc/kafka/admin.hpp"

#include <librdkafka/rdkafka.h>

#include "conf.hpp"
#include "errors.hpp"
#include "partition_list.hpp"

namespace ioc::kafka {

Admin::Admin(const ClientConfig& cfg) : cfg_(cfg) {
  rk_ = detail::make_handle(RD_KAFKA_PRODUCER, detail::make_conf(cfg_, {{"reconnect.backoff.max.ms", "1000"}}));
}

Admin::~Admin() {
  for (auto& [group, rk] : group_handles_) rd_kafka_destroy(rk);
  rd_kafka_destroy(rk_);
}

Result<std::vector<TopicInfo>> Admin::topics(std::chrono::milliseconds timeout) {
  const rd_kafka_metadata_t* md = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(rk_, 1, nullptr, &md, static_cast<int>(timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return to_error(err, "metadata");
  std::vector<TopicInfo> out;
  for (int i = 0; i < md->topic_cnt; ++i) {
    if (md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR) out.push_back({md->topics[i].topic, md->topics[i].partition_cnt});
  }
  rd_kafka_metadata_destroy(md);
  return out;
}

Result<std::string> Admin::cluster_id(std::chrono::milliseconds timeout) {
  // A metadata request first: rd_kafka_clusterid() answers from its cache.
  const rd_kafka_metadata_t* md = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(rk_, 0, nullptr, &md, static_cast<int>(timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return to_error(err, "metadata");
  rd_kafka_metadata_destroy(md);
  char* id = rd_kafka_clusterid(rk_, 0);
  if (id == nullptr) return unavailable("the cluster did not tell its id");
  std::string out(id);
  rd_kafka_mem_free(rk_, id);
  return out;
}

Result<Watermarks> Admin::watermarks(const std::string& topic, std::int32_t partition,
                                     std::chrono::milliseconds timeout) {
  Watermarks w;
  const rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(rk_, topic.c_str(), partition, &w.log_start,
                                                                   &w.log_end, static_cast<int>(timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return to_error(err, "watermarks " + topic);
  return w;
}

rd_kafka_t* Admin::group_handle(const std::string& group) {
  if (auto it = group_handles_.find(group); it != group_handles_.end()) return it->second;
  // A consumer handle that never subscribes: it only asks the group
  // coordinator for committed offsets and never joins the group.
  rd_kafka_t* rk = detail::make_handle(
      RD_KAFKA_CONSUMER, detail::make_conf(cfg_, {{"reconnect.backoff.max.ms", "1000"}},
                                           {{"group.id", group}, {"enable.auto.commit", "false"}}));
  group_handles_.emplace(group, rk);
  return rk;
}

Result<std::vector<TopicPartition>> Admin::committed(const std::string& group,
                                                     const std::vector<TopicPartition>& partitions,
                                                     std::chrono::milliseconds timeout) {
  rd_kafka_topic_partition_list_t* list = to_list(partitions);
  const rd_kafka_resp_err_t err = rd_kafka_committed(group_handle(group), list, static_cast<int>(timeout.count()));
  std::vector<TopicPartition> out = to_vector(list);
  rd_kafka_topic_partition_list_destroy(list);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return to_error(err, "committed offsets of " + group);
  return out;
}

Result<std::vector<Status>> Admin::create_topics(const std::vector<TopicSpec>& topics,
                                                 std::chrono::milliseconds timeout) {
  char err[512];
  std::vector<rd_kafka_NewTopic_t*> news;
  auto destroy = [&] { rd_kafka_NewTopic_destroy_array(news.data(), news.size()); };
  for (const TopicSpec& t : topics) {
    rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(t.name.c_str(), t.partitions, t.replication, err, sizeof err);
    if (nt == nullptr) {
      destroy();
      return Error{ErrorCode::kInvalidArgument, "topic " + t.name + ": " + err};
    }
    news.push_back(nt);
    for (const auto& [k, v] : t.configs) {
      if (rd_kafka_resp_err_t e = rd_kafka_NewTopic_set_config(nt, k.c_str(), v.c_str()); e) {
        destroy();
        return to_error(e, "topic " + t.name + " config " + k);
      }
    }
  }
  rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(rk_, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_request_timeout(opts, static_cast<int>(timeout.count()), err, sizeof err);
  rd_kafka_AdminOptions_set_operation_timeout(opts, static_cast<int>(timeout.count()), err, sizeof err);
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk_);
  rd_kafka_CreateTopics(rk_, news.data(), news.size(), opts, q);
  // The request carries its own timeout; the margin covers the round trip.
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, static_cast<int>(timeout.count()) + 5000);
  rd_kafka_AdminOptions_destroy(opts);
  destroy();
  rd_kafka_queue_destroy(q);
  if (ev == nullptr) return Error{ErrorCode::kDeadlineExceeded, "create topics: no answer from the controller"};
  std::vector<Status> out(topics.size());
  if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    const Error e = to_error(rd_kafka_event_error(ev), "create topics");
    rd_kafka_event_destroy(ev);
    return e;
  }
  size_t n = 0;
  const rd_kafka_topic_result_t** results =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
  for (size_t i = 0; i < n; ++i) {
    const std::string name = rd_kafka_topic_result_name(results[i]);
    const rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[i]);
    for (std::size_t j = 0; j < topics.size(); ++j) {
      if (topics[j].name != name || e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) continue;
      const char* msg = rd_kafka_topic_result_error_string(results[i]);
      out[j] = to_error(e, "create " + name + (msg != nullptr ? std::string(": ") + msg : std::string()));
    }
  }
  rd_kafka_event_destroy(ev);
  return out;
}

Result<std::vector<std::string>> Admin::groups(std::chrono::milliseconds timeout) {
  const rd_kafka_group_list* list = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_list_groups(rk_, nullptr, &list, static_cast<int>(timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return to_error(err, "list groups");
  std::vector<std::string> out;
  for (int i = 0; i < list->group_cnt; ++i) out.emplace_back(list->groups[i].group);
  rd_kafka_group_list_destroy(list);
  return out;
}

}  // namespace ioc::kafka
