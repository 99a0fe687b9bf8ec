#include "ioc/kafka/admin.hpp"

#include <librdkafka/rdkafka.h>

#include <algorithm>

#include "conf.hpp"
#include "errors.hpp"
#include "partition_list.hpp"

namespace ioc::kafka {

Admin::Admin(const ClientConfig& cfg) : cfg_(cfg) {
  rk_ = detail::make_handle(RD_KAFKA_PRODUCER, detail::make_conf(cfg_, {{"reconnect.backoff.max.ms", "1000"}}));
}

Admin::~Admin() {
  for (auto& [group, rk] : group_handles_) rd_kafka_destroy(rk);
  for (auto& [broker, rk] : broker_handles_) rd_kafka_destroy(rk);
  rd_kafka_destroy(rk_);
}

namespace {

// `being_created`: also a topic that comes back as LEADER_NOT_AVAILABLE (it
// exists, its partitions have no leader yet).
std::vector<TopicInfo> topic_infos(const rd_kafka_metadata_t* md, bool being_created) {
  std::vector<TopicInfo> out;
  for (int i = 0; i < md->topic_cnt; ++i) {
    const rd_kafka_metadata_topic_t& t = md->topics[i];
    const bool listed =
        t.err == RD_KAFKA_RESP_ERR_NO_ERROR || (being_created && t.err == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE);
    if (!listed) continue;
    TopicInfo info{t.topic, t.partition_cnt, 0, 0};
    for (int p = 0; p < t.partition_cnt; ++p) {
      const int replicas = t.partitions[p].replica_cnt;
      info.replication = p == 0 ? replicas : std::min(info.replication, replicas);
      if (t.partitions[p].leader < 0) ++info.leaderless;
    }
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace

Result<std::vector<TopicInfo>> Admin::topics(std::chrono::milliseconds timeout) {
  const rd_kafka_metadata_t* md = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(rk_, 1, nullptr, &md, static_cast<int>(timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return to_error(err, "metadata");
  std::vector<TopicInfo> out = topic_infos(md, false);
  rd_kafka_metadata_destroy(md);
  return out;
}

rd_kafka_t* Admin::broker_handle(std::int32_t id, const std::string& address) {
  if (auto it = broker_handles_.find({id, address}); it != broker_handles_.end()) return it->second;
  // A client that knows only this broker: librdkafka connects to the
  // others only when it needs them (sparse connections), so its metadata
  // requests go to this one (the answer's orig_broker_id is checked).
  ClientConfig one = cfg_;
  one.bootstrap_servers = address;
  rd_kafka_t* rk = detail::make_handle(
      RD_KAFKA_PRODUCER, detail::make_conf(one, {{"reconnect.backoff.max.ms", "1000"}},
                                           {{"bootstrap.servers", address}, {"enable.sparse.connections", "true"}}));
  broker_handles_.emplace(std::make_pair(id, address), rk);
  return rk;
}

Result<std::vector<BrokerTopics>> Admin::topics_by_broker(std::chrono::milliseconds timeout) {
  const rd_kafka_metadata_t* md = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(rk_, 0, nullptr, &md, static_cast<int>(timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return to_error(err, "metadata");
  std::vector<std::pair<std::int32_t, std::string>> brokers;
  brokers.reserve(static_cast<std::size_t>(md->broker_cnt));
  for (int i = 0; i < md->broker_cnt; ++i) {
    brokers.emplace_back(md->brokers[i].id,
                         std::string(md->brokers[i].host) + ":" + std::to_string(md->brokers[i].port));
  }
  rd_kafka_metadata_destroy(md);
  std::sort(brokers.begin(), brokers.end());
  std::vector<BrokerTopics> out;
  for (const auto& [id, address] : brokers) {
    BrokerTopics b;
    b.broker_id = id;
    const rd_kafka_metadata_t* one = nullptr;
    const rd_kafka_resp_err_t e =
        rd_kafka_metadata(broker_handle(id, address), 1, nullptr, &one, static_cast<int>(timeout.count()));
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      b.error = rd_kafka_err2str(e);
    } else if (one->orig_broker_id != id) {
      b.error = "answered by broker " + std::to_string(one->orig_broker_id);
    } else {
      b.answered = true;
      b.topics = topic_infos(one, true);
    }
    if (one != nullptr) rd_kafka_metadata_destroy(one);
    out.push_back(std::move(b));
  }
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

Result<std::vector<TopicCreation>> Admin::create_topics(const std::vector<TopicSpec>& topics,
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
  if (const rd_kafka_resp_err_t e = rd_kafka_event_error(ev); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    Error out = to_error(e, "create topics");
    if (const char* detail = rd_kafka_event_error_string(ev); detail != nullptr) {
      out.message = std::string("create topics: ") + detail;
    }
    rd_kafka_event_destroy(ev);
    return out;
  }
  std::vector<TopicCreation> out;
  out.reserve(topics.size());
  for (const TopicSpec& t : topics) {
    out.push_back({t.name, false, unavailable("create " + t.name + ": no answer for it")});
  }
  size_t n = 0;
  const rd_kafka_topic_result_t** results =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
  for (size_t i = 0; i < n; ++i) {
    const std::string name = rd_kafka_topic_result_name(results[i]);
    const rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[i]);
    for (TopicCreation& c : out) {
      if (c.name != name) continue;
      c.existed = e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS;
      if (e == RD_KAFKA_RESP_ERR_NO_ERROR || c.existed) {
        c.status = {};
      } else {
        const char* msg = rd_kafka_topic_result_error_string(results[i]);
        c.status = to_error(e, "create " + name + (msg != nullptr ? std::string(": ") + msg : std::string()));
      }
    }
  }
  rd_kafka_event_destroy(ev);
  return out;
}

namespace {

// DescribeConfigs of resources of one type; nullopt when the cluster does
// not support it.
Result<std::optional<Admin::Configs>> describe_configs(rd_kafka_t* rk, rd_kafka_ResourceType_t type,
                                                       const std::vector<std::string>& names,
                                                       std::chrono::milliseconds timeout) {
  char err[512];
  std::vector<rd_kafka_ConfigResource_t*> resources;
  resources.reserve(names.size());
  for (const std::string& name : names) resources.push_back(rd_kafka_ConfigResource_new(type, name.c_str()));
  rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
  rd_kafka_AdminOptions_set_request_timeout(opts, static_cast<int>(timeout.count()), err, sizeof err);
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_DescribeConfigs(rk, resources.data(), resources.size(), opts, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, static_cast<int>(timeout.count()) + 5000);
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_ConfigResource_destroy_array(resources.data(), resources.size());
  rd_kafka_queue_destroy(q);
  if (ev == nullptr) return Error{ErrorCode::kDeadlineExceeded, "describe configs: no answer"};
  const rd_kafka_resp_err_t e = rd_kafka_event_error(ev);
  if (e == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE || e == RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION) {
    rd_kafka_event_destroy(ev);
    return std::optional<Admin::Configs>();
  }
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    Error out = to_error(e, "describe configs");
    if (const char* detail = rd_kafka_event_error_string(ev); detail != nullptr) {
      out.message = std::string("describe configs: ") + detail;
    }
    rd_kafka_event_destroy(ev);
    return out;
  }
  Admin::Configs out;
  size_t n = 0;
  const rd_kafka_ConfigResource_t** described =
      rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &n);
  for (size_t i = 0; i < n; ++i) {
    if (rd_kafka_ConfigResource_error(described[i]) != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    auto& values = out[rd_kafka_ConfigResource_name(described[i])];
    size_t m = 0;
    const rd_kafka_ConfigEntry_t** entries = rd_kafka_ConfigResource_configs(described[i], &m);
    for (size_t j = 0; j < m; ++j) {
      const char* value = rd_kafka_ConfigEntry_value(entries[j]);
      values[rd_kafka_ConfigEntry_name(entries[j])] = value != nullptr ? value : "";
    }
  }
  rd_kafka_event_destroy(ev);
  return std::optional<Admin::Configs>(std::move(out));
}

}  // namespace

Result<std::optional<Admin::Configs>> Admin::topic_configs(const std::vector<std::string>& topics,
                                                           std::chrono::milliseconds timeout) {
  return describe_configs(rk_, RD_KAFKA_RESOURCE_TOPIC, topics, timeout);
}

Result<std::optional<std::map<std::string, std::string>>> Admin::broker_configs(std::chrono::milliseconds timeout) {
  const rd_kafka_metadata_t* md = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(rk_, 0, nullptr, &md, static_cast<int>(timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return to_error(err, "metadata");
  const std::string broker = md->broker_cnt > 0 ? std::to_string(md->brokers[0].id) : std::string();
  rd_kafka_metadata_destroy(md);
  if (broker.empty()) return unavailable("metadata: no broker listed");
  auto configs = describe_configs(rk_, RD_KAFKA_RESOURCE_BROKER, {broker}, timeout);
  if (!configs.ok()) return configs.error();
  if (!configs->has_value()) return std::optional<std::map<std::string, std::string>>();
  auto it = (**configs).find(broker);
  if (it == (**configs).end()) return unavailable("describe configs: broker " + broker + " did not describe itself");
  return std::optional<std::map<std::string, std::string>>(std::move(it->second));
}

Result<std::vector<std::string>> Admin::groups(std::chrono::milliseconds timeout) {
  const rd_kafka_group_list* list = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_list_groups(rk_, nullptr, &list, static_cast<int>(timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return to_error(err, "list groups");
  std::vector<std::string> out;
  out.reserve(static_cast<std::size_t>(list->group_cnt));
  for (int i = 0; i < list->group_cnt; ++i) out.emplace_back(list->groups[i].group);
  rd_kafka_group_list_destroy(list);
  return out;
}

}  // namespace ioc::kafka
