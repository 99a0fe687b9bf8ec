#include "ioc/kafka/consumer.hpp"

#include <algorithm>

#include <librdkafka/rdkafka.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cstdlib>
#include <cstring>
#include <set>

#include "conf.hpp"
#include "ioc/core/config_error.hpp"
#include "ioc/core/log.hpp"
#include "errors.hpp"
#include "partition_list.hpp"

namespace ioc::kafka {

static_assert(TopicPartition::kOffsetStored == RD_KAFKA_OFFSET_INVALID);
static_assert(TopicPartition::kOffsetBeginning == RD_KAFKA_OFFSET_BEGINNING);

struct Consumer::Callbacks {
  static void error(rd_kafka_t* rk, int err, const char* reason, void* opaque);
  static int stats(rd_kafka_t* rk, char* json, size_t len, void* opaque);
  static void rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                        void* opaque);
};

namespace {

// Messages taken per call while serving the close queue.
constexpr std::size_t kCloseBatch = 500;

}  // namespace

std::vector<TopicPartition> to_vector(const rd_kafka_topic_partition_list_t* list) {
  std::vector<TopicPartition> out;
  if (list == nullptr) return out;
  out.reserve(static_cast<std::size_t>(list->cnt));
  for (int i = 0; i < list->cnt; ++i) {
    const auto& e = list->elems[i];
    out.push_back({e.topic, e.partition, e.offset,
                   e.metadata != nullptr ? std::string(static_cast<const char*>(e.metadata), e.metadata_size)
                                         : std::string()});
  }
  return out;
}

rd_kafka_topic_partition_list_t* to_list(const std::vector<TopicPartition>& parts) {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(parts.size()));
  for (const TopicPartition& p : parts) {
    rd_kafka_topic_partition_t* e = rd_kafka_topic_partition_list_add(list, p.topic.c_str(), p.partition);
    e->offset = p.offset;
    if (!p.metadata.empty()) {
      // Owned by the list: librdkafka frees it with the list.
      e->metadata = std::malloc(p.metadata.size());
      std::memcpy(e->metadata, p.metadata.data(), p.metadata.size());
      e->metadata_size = p.metadata.size();
    }
  }
  return list;
}

Consumer::Consumer(const ClientConfig& cfg, const Options& opts, RebalanceListener* listener)
    : listener_(listener), reset_to_start_(opts.auto_offset_reset == "earliest") {
  if (opts.group_id.empty()) throw ConfigError("kafka consumer", "group.id", "must not be empty");
  rd_kafka_conf_t* conf = detail::make_conf(
      cfg,
      {
          {"auto.offset.reset", opts.auto_offset_reset},
          {"session.timeout.ms", std::to_string(opts.session_timeout.count())},
          {"max.poll.interval.ms", std::to_string(opts.max_poll_interval.count())},
          {"fetch.wait.max.ms", std::to_string(opts.fetch_wait_max.count())},
          {"reconnect.backoff.max.ms", "1000"},
          // librdkafka 2.0 stops fetching a partition while the client's
          // queue holds more than queued.min.messages (default 100k) and
          // looks again only when its broker thread next wakes, up to 1 s
          // later (later versions added fetch.queue.backoff.ms for this).
          // A consumer catching up on a backlog then reads 100k records
          // and sits idle for most of a second: the aggregator managed
          // 0.16 M records/s instead of 0.7 M. The queue stays bounded by
          // queued.max.messages.kbytes (64 MB by default).
          {"queued.min.messages", "1000000"},
      },
      {{"group.id", opts.group_id}, {"enable.auto.commit", "false"}, {"enable.auto.offset.store", "false"}});
  rd_kafka_conf_set_opaque(conf, this);
  if (opts.stats_interval.count() > 0) {
    char err[256];
    if (rd_kafka_conf_set(conf, "statistics.interval.ms", std::to_string(opts.stats_interval.count()).c_str(), err,
                          sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw ConfigError("kafka consumer", "statistics.interval.ms", err);
    }
    rd_kafka_conf_set_stats_cb(conf, &Consumer::Callbacks::stats);
  }
  rd_kafka_conf_set_rebalance_cb(conf, &Consumer::Callbacks::rebalance);
  // Client-wide errors (a broker down, all brokers down) come here, served
  // inside poll(); without it librdkafka only logs them.
  rd_kafka_conf_set_error_cb(conf, &Consumer::Callbacks::error);
  rk_ = detail::make_handle(RD_KAFKA_CONSUMER, conf);
  rd_kafka_poll_set_consumer(rk_);
  queue_ = rd_kafka_queue_get_consumer(rk_);
}

Consumer::~Consumer() {
  close();
  rd_kafka_queue_destroy(queue_);
  // close() already left the group (or gave up at its deadline): do not wait again.
  rd_kafka_destroy_flags(rk_, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
}

void Consumer::subscribe(const std::vector<std::string>& topics) {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(topics.size()));
  for (const std::string& t : topics) rd_kafka_topic_partition_list_add(list, t.c_str(), RD_KAFKA_PARTITION_UA);
  const rd_kafka_resp_err_t err = rd_kafka_subscribe(rk_, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) throw ConfigError("kafka consumer", "subscribe", rd_kafka_err2str(err));
}

void Consumer::assign(const std::vector<TopicPartition>& partitions) {
  rd_kafka_topic_partition_list_t* list = to_list(partitions);
  const rd_kafka_resp_err_t err = rd_kafka_assign(rk_, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) throw ConfigError("kafka consumer", "assign", rd_kafka_err2str(err));
}

Status Consumer::seek(const std::vector<TopicPartition>& partitions, std::chrono::milliseconds timeout) {
  if (partitions.empty()) return {};
  rd_kafka_topic_partition_list_t* list = to_list(partitions);
  rd_kafka_error_t* e = rd_kafka_seek_partitions(rk_, list, static_cast<int>(timeout.count()));
  std::string failed;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  if (e != nullptr) {
    err = rd_kafka_error_code(e);
    rd_kafka_error_destroy(e);
  }
  for (int i = 0; i < list->cnt; ++i) {
    const auto& el = list->elems[i];
    if (el.err == RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) err = el.err;
    failed += (failed.empty() ? "" : ", ") + std::string(el.topic) + " [" + std::to_string(el.partition) + "]";
  }
  rd_kafka_topic_partition_list_destroy(list);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return to_error(err, "seek " + failed);
  return {};
}

std::vector<Message> Consumer::poll(std::size_t max, std::chrono::milliseconds timeout) {
  std::vector<Message> out;
  (void)consume(queue_, max, timeout, &out);
  return out;
}

std::size_t Consumer::consume(rd_kafka_queue_t* q, std::size_t max, std::chrono::milliseconds timeout,
                              std::vector<Message>* records) {
  std::vector<rd_kafka_message_t*> raw(max);
  if (max == 0) return 0;
  // A batch call waits out its whole timeout unless the batch fills up; wait
  // for the first record only, then take what is already there.
  rd_kafka_message_t* first = rd_kafka_consume_queue(q, static_cast<int>(timeout.count()));
  if (first == nullptr) return 0;
  raw[0] = first;
  const ssize_t more = max > 1 ? rd_kafka_consume_batch_queue(q, 0, raw.data() + 1, max - 1) : 0;
  const ssize_t n = 1 + std::max<ssize_t>(more, 0);
  std::size_t count = 0;
  if (records != nullptr) records->reserve(records->size() + static_cast<std::size_t>(n));
  for (ssize_t i = 0; i < n; ++i) {
    Message m(raw[static_cast<std::size_t>(i)]);
    if (m.error() == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ++count;
      if (records != nullptr) records->push_back(std::move(m));
    } else if (m.error() != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      report({std::string(m.topic()), m.partition(), m.offset(), rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(m.error())), m.error_string()});
    }
  }
  return count;
}

namespace {

struct CommitWait {
  bool done = false;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
};

void on_commit(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t*, void* opaque) {
  auto* w = static_cast<CommitWait*>(opaque);
  w->done = true;
  w->err = err;
}

}  // namespace

Status Consumer::commit(const std::vector<TopicPartition>& offsets, std::chrono::milliseconds timeout) {
  if (offsets.empty()) return {};
  // rd_kafka_commit() waits without a limit while the coordinator is down;
  // commit through a private queue and stop waiting at the deadline.
  rd_kafka_topic_partition_list_t* list = to_list(offsets);
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk_);
  CommitWait wait;
  rd_kafka_resp_err_t err = rd_kafka_commit_queue(rk_, list, q, &on_commit, &wait);
  rd_kafka_topic_partition_list_destroy(list);
  // Real time on purpose: the timeout bounds a real wait on librdkafka.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (err == RD_KAFKA_RESP_ERR_NO_ERROR && !wait.done && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_queue_poll_callback(q, 100);
  }
  rd_kafka_queue_destroy(q);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (!wait.done) return Error{ErrorCode::kDeadlineExceeded, "commit: no answer from the group coordinator"};
    err = wait.err;
  }
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET) return to_error(err, "commit");
  return {};
}

std::vector<std::int64_t> Consumer::unread(const std::vector<TopicPartition>& partitions) {
  std::vector<std::int64_t> out(partitions.size(), -1);
  if (partitions.empty()) return out;
  rd_kafka_topic_partition_list_t* list = to_list(partitions);
  if (rd_kafka_position(rk_, list) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (int i = 0; i < list->cnt && static_cast<std::size_t>(i) < out.size(); ++i) {
      const auto& el = list->elems[i];
      std::int64_t low = -1;
      std::int64_t high = -1;
      if (rd_kafka_get_watermark_offsets(rk_, el.topic, el.partition, &low, &high) != RD_KAFKA_RESP_ERR_NO_ERROR ||
          high < 0) {
        continue;
      }
      // Nothing returned yet and no start given: reading starts at the log
      // start (auto.offset.reset=earliest), as the last fetch reported it.
      std::int64_t position = el.err == RD_KAFKA_RESP_ERR_NO_ERROR && el.offset >= 0
                                  ? el.offset
                                  : partitions[static_cast<std::size_t>(i)].offset;
      if (position < 0 && reset_to_start_) position = low;
      if (position < 0) continue;
      out[static_cast<std::size_t>(i)] = std::max<std::int64_t>(high - position, 0);
    }
  }
  rd_kafka_topic_partition_list_destroy(list);
  return out;
}

Result<std::vector<TopicPartition>> Consumer::committed(const std::vector<TopicPartition>& partitions,
                                                        std::chrono::milliseconds timeout) {
  rd_kafka_topic_partition_list_t* list = to_list(partitions);
  const rd_kafka_resp_err_t err = rd_kafka_committed(rk_, list, static_cast<int>(timeout.count()));
  std::vector<TopicPartition> out = to_vector(list);
  rd_kafka_topic_partition_list_destroy(list);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return to_error(err, "committed offsets");
  return out;
}

Result<ConsumerStats> parse_consumer_stats(std::string_view text) {
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(text, ec);
  if (ec || !v.is_object()) return Error{ErrorCode::kInvalidArgument, "statistics: not a JSON object"};
  const auto int_of = [](const boost::json::object& o, std::string_view key) -> std::int64_t {
    const boost::json::value* f = o.if_contains(key);
    return f != nullptr && f->is_int64() ? f->as_int64() : -1;
  };
  ConsumerStats out;
  if (const auto* brokers = v.as_object().if_contains("brokers"); brokers != nullptr && brokers->is_object()) {
    // By node id: bootstrap entries have none, and the group coordinator
    // appears a second time as a logical broker with its node's id.
    std::set<std::int64_t> known;
    std::set<std::int64_t> up;
    for (const auto& [name, b] : brokers->as_object()) {
      const std::int64_t id = b.is_object() ? int_of(b.as_object(), "nodeid") : -1;
      if (id < 0) continue;
      known.insert(id);
      const boost::json::value* state = b.as_object().if_contains("state");
      if (state != nullptr && state->is_string() && state->as_string() == "UP") up.insert(id);
    }
    out.brokers_known = static_cast<int>(known.size());
    out.brokers_up = static_cast<int>(up.size());
  }
  if (const auto* topics = v.as_object().if_contains("topics"); topics != nullptr && topics->is_object()) {
    for (const auto& [topic, t] : topics->as_object()) {
      const boost::json::value* parts = t.is_object() ? t.as_object().if_contains("partitions") : nullptr;
      if (parts == nullptr || !parts->is_object()) continue;
      for (const auto& [id, p] : parts->as_object()) {
        if (!p.is_object()) continue;
        const auto& o = p.as_object();
        const boost::json::value* desired = o.if_contains("desired");
        const std::int64_t partition = int_of(o, "partition");
        if (partition < 0 || desired == nullptr || !desired->is_bool() || !desired->as_bool()) continue;
        out.partitions.push_back({std::string(topic), static_cast<std::int32_t>(partition), int_of(o, "next_offset"),
                                  int_of(o, "hi_offset")});
      }
    }
  }
  return out;
}

void Consumer::report(ConsumerError e) {
  if (e.code.starts_with('_')) e.code.erase(0, 1);  // librdkafka's local errors
  log::warn("kafka consumer error",
            {{"topic", e.topic}, {"partition", e.partition}, {"error", e.code}, {"detail", e.detail}});
  if (listener_ != nullptr) listener_->on_error(e);
}

void Consumer::Callbacks::error(rd_kafka_t*, int err, const char* reason, void* opaque) {
  static_cast<Consumer*>(opaque)->report({"", -1, -1, rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)), reason});
}

int Consumer::Callbacks::stats(rd_kafka_t*, char* json, size_t len, void* opaque) {
  auto* self = static_cast<Consumer*>(opaque);
  if (self->listener_ == nullptr) return 0;
  auto stats = parse_consumer_stats(std::string_view(json, len));
  if (stats.ok()) {
    self->listener_->on_stats(*stats);
  } else {
    log::warn("kafka statistics unreadable", {{"error", stats.error().message}});
  }
  return 0;  // librdkafka frees the JSON
}

void Consumer::close(std::chrono::milliseconds timeout) {
  if (closed_) return;
  closed_ = true;
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk_);
  if (rd_kafka_error_t* e = rd_kafka_consumer_close_queue(rk_, q); e != nullptr) {
    log::warn("kafka consumer close", {{"error", rd_kafka_error_string(e)}});
    rd_kafka_error_destroy(e);
  }
  // librdkafka now forwards the consumer queue to `q`: the final revoke
  // comes here, and so do records fetched but not yet polled, at once and
  // until the partitions stop. Serve it as poll() serves the consumer queue
  // (callbacks run, records and error events come back as messages), not
  // with rd_kafka_queue_poll_callback(): its dispatcher cannot hand a
  // record to anyone and aborts the process (rd_kafka_q_serve: assert:
  // res != RD_KAFKA_OP_RES_PASS). The records are dropped: never handed
  // over, never committed, so the partition's next owner reads them.
  std::size_t dropped = 0;
  // Real time on purpose: the timeout bounds a real wait on librdkafka.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (rd_kafka_consumer_closed(rk_) == 0 && std::chrono::steady_clock::now() < deadline) {
    dropped += consume(q, kCloseBatch, std::chrono::milliseconds(100), nullptr);
  }
  if (rd_kafka_consumer_closed(rk_) == 0) log::warn("kafka consumer did not leave its group in time");
  if (dropped > 0) {
    log::info("records fetched but not polled before close were left to the next owner",
              {{"records", static_cast<std::int64_t>(dropped)}});
  }
  rd_kafka_queue_destroy(q);
}

void Consumer::Callbacks::rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                                    void* opaque) {
  auto* self = static_cast<Consumer*>(opaque);
  const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    std::vector<TopicPartition> assigned = to_vector(parts);
    if (self->listener_ != nullptr) self->listener_->on_assigned(assigned);
    rd_kafka_topic_partition_list_t* list = to_list(assigned);
    rd_kafka_error_t* e = nullptr;
    if (cooperative) {
      e = rd_kafka_incremental_assign(rk, list);
    } else {
      const rd_kafka_resp_err_t ae = rd_kafka_assign(rk, list);
      if (ae != RD_KAFKA_RESP_ERR_NO_ERROR) log::error("kafka assign failed", {{"error", rd_kafka_err2str(ae)}});
    }
    if (e != nullptr) {
      log::error("kafka assign failed", {{"error", rd_kafka_error_string(e)}});
      rd_kafka_error_destroy(e);
    }
    rd_kafka_topic_partition_list_destroy(list);
    log::info("partitions assigned", {{"count", static_cast<std::int64_t>(assigned.size())}});
  } else {
    const std::vector<TopicPartition> revoked = to_vector(parts);
    if (self->listener_ != nullptr) self->listener_->on_revoked(revoked);
    if (cooperative) {
      rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk, parts);
      if (e != nullptr) rd_kafka_error_destroy(e);
    } else {
      rd_kafka_assign(rk, nullptr);
    }
    log::info("partitions revoked", {{"count", static_cast<std::int64_t>(revoked.size())}});
  }
}

}  // namespace ioc::kafka
