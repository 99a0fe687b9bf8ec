#include "ioc/kafka/producer.hpp"

#include <librdkafka/rdkafka.h>

#include <array>
#include <memory>

#include "conf.hpp"
#include "ioc/core/log.hpp"
#include "errors.hpp"

namespace ioc::kafka {

struct Producer::Callbacks {
  static void delivery(rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque);
  static void error(rd_kafka_t* rk, int err, const char* reason, void* opaque);
};

std::int64_t Producer::in_flight() const {
  std::shared_lock lock(rk_mu_);
  return rd_kafka_outq_len(rk_);
}

Producer::Producer(const ClientConfig& cfg, const Options& opts) : cfg_(cfg), opts_(opts) {
  rk_ = make_client();
  poller_ = std::thread([this] { poll_loop(); });
  prober_ = std::thread([this] { probe_loop(); });
}

rd_kafka_t* Producer::make_client() {
  rd_kafka_conf_t* conf = detail::make_conf(
      cfg_,
      {
          {"linger.ms", std::to_string(opts_.linger.count())},
          {"compression.codec", opts_.compression},
          {"message.timeout.ms", std::to_string(opts_.delivery_timeout.count())},
          {"socket.connection.setup.timeout.ms", "5000"},
          {"reconnect.backoff.max.ms", "1000"},
      },
      // Nothing accepted may be lost or duplicated by retries: the wrapper's
      // promise rests on these two, so users cannot turn them off.
      {{"enable.idempotence", "true"}, {"acks", "all"}});
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_dr_msg_cb(conf, &Producer::Callbacks::delivery);
  rd_kafka_conf_set_error_cb(conf, &Producer::Callbacks::error);
  return detail::make_handle(RD_KAFKA_PRODUCER, conf);
}

void Producer::renew() {
  rd_kafka_t* old = nullptr;
  {
    std::unique_lock lock(rk_mu_);
    old = rk_;
    rk_ = make_client();
  }
  renewals_.fetch_add(1, std::memory_order_relaxed);
  // Its records fail now (their callbacks run here, without the lock: they
  // may produce again, into the new client).
  rd_kafka_purge(old, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_poll(old, 0);
  retired_.push_back(old);
}

void Producer::fail_for_test(std::string_view reason) {
  std::shared_lock lock(rk_mu_);
  rd_kafka_test_fatal_error(rk_, RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID, std::string(reason).c_str());
}

Producer::~Producer() {
  {
    std::shared_lock lock(rk_mu_);  // the poll thread may still replace it
    const rd_kafka_resp_err_t err = rd_kafka_flush(rk_, static_cast<int>(opts_.close_timeout.count()));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      log::error("producer closing with undelivered records",
                 {{"records", static_cast<std::int64_t>(rd_kafka_outq_len(rk_))}, {"error", rd_kafka_err2str(err)}});
    }
  }
  {
    std::lock_guard lock(mu_);
    stop_.store(true);
  }
  cv_.notify_all();
  poller_.join();
  prober_.join();
  // Records still queued are failed by rd_kafka_destroy -> callbacks run
  // inside it, while `this` is still alive.
  rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_poll(rk_, 0);
  rd_kafka_destroy(rk_);
  for (rd_kafka_t* old : retired_) rd_kafka_destroy(old);
}

Status Producer::produce(std::string_view topic, std::string_view key, std::string_view value,
                         OnDelivery on_delivery, const Headers& headers, std::int32_t partition,
                         std::int64_t timestamp_ms) {
  std::unique_ptr<OnDelivery> cb;
  if (on_delivery) cb = std::make_unique<OnDelivery>(std::move(on_delivery));
  rd_kafka_headers_t* hdrs = nullptr;
  if (!headers.empty()) {
    hdrs = rd_kafka_headers_new(headers.size());
    for (const auto& [name, v] : headers) {
      rd_kafka_header_add(hdrs, name.data(), static_cast<ssize_t>(name.size()), v.data(),
                          static_cast<ssize_t>(v.size()));
    }
  }
  const std::string topic_name(topic);
  // rd_kafka_produceva rather than the RD_KAFKA_V_* macros: same call, no C casts.
  std::array<rd_kafka_vu_t, 8> vu{};
  vu[0].vtype = RD_KAFKA_VTYPE_TOPIC;
  vu[0].u.cstr = topic_name.c_str();
  vu[1].vtype = RD_KAFKA_VTYPE_KEY;
  vu[1].u.mem = {const_cast<char*>(key.data()), key.size()};
  vu[2].vtype = RD_KAFKA_VTYPE_VALUE;
  vu[2].u.mem = {const_cast<char*>(value.data()), value.size()};
  vu[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
  vu[3].u.i = RD_KAFKA_MSG_F_COPY;
  vu[4].vtype = RD_KAFKA_VTYPE_OPAQUE;
  vu[4].u.ptr = cb.get();
  std::size_t n = 5;
  if (hdrs != nullptr) {
    vu[5].vtype = RD_KAFKA_VTYPE_HEADERS;
    vu[5].u.headers = hdrs;
    n = 6;
  }
  if (partition >= 0) {
    vu[n].vtype = RD_KAFKA_VTYPE_PARTITION;
    vu[n].u.i32 = partition;
    ++n;
  }
  if (timestamp_ms > 0) {
    vu[n].vtype = RD_KAFKA_VTYPE_TIMESTAMP;
    vu[n].u.i64 = timestamp_ms;
    ++n;
  }
  rd_kafka_error_t* error = nullptr;
  {
    std::shared_lock lock(rk_mu_);
    error = rd_kafka_produceva(rk_, vu.data(), n);
  }
  const rd_kafka_resp_err_t err = error != nullptr ? rd_kafka_error_code(error) : RD_KAFKA_RESP_ERR_NO_ERROR;
  if (error != nullptr) rd_kafka_error_destroy(error);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (hdrs != nullptr) rd_kafka_headers_destroy(hdrs);
    return to_error(err, "produce " + topic_name);
  }
  (void)cb.release();  // owned by the record now; freed in Callbacks::delivery
  return {};
}

Status Producer::flush(std::chrono::milliseconds timeout) {
  std::shared_lock lock(rk_mu_);
  const rd_kafka_resp_err_t err = rd_kafka_flush(rk_, static_cast<int>(timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return to_error(err, "flush");
  return {};
}

void Producer::purge(std::chrono::milliseconds timeout) {
  std::shared_lock lock(rk_mu_);
  rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  // The purged records' delivery reports are queued now; flush serves them.
  (void)rd_kafka_flush(rk_, static_cast<int>(timeout.count()));
}

void Producer::Callbacks::delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* self = static_cast<Producer*>(opaque);
  std::unique_ptr<OnDelivery> cb(static_cast<OnDelivery*>(m->_private));
  DeliveryReport report;
  report.partition = m->partition;
  report.offset = m->offset;
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    self->delivered_.fetch_add(1, std::memory_order_relaxed);
    if (!self->connected_.exchange(true, std::memory_order_acq_rel) && self->opts_.on_reachable) {
      self->opts_.on_reachable();
    }
  } else {
    self->failed_.fetch_add(1, std::memory_order_relaxed);
    const char* topic = m->rkt != nullptr ? rd_kafka_topic_name(m->rkt) : "?";
    report.status = to_error(m->err, std::string("deliver to ") + topic);
    report.possibly_persisted = rd_kafka_message_status(m) != RD_KAFKA_MSG_STATUS_NOT_PERSISTED;
  }
  if (cb) (*cb)(report);
}

void Producer::Callbacks::error(rd_kafka_t*, int err, const char* reason, void* opaque) {
  auto* self = static_cast<Producer*>(opaque);
  const auto code = static_cast<rd_kafka_resp_err_t>(err);
  if (code == RD_KAFKA_RESP_ERR__FATAL) {
    log::error("kafka producer failed for good; a new one takes its place", {{"reason", reason}});
    self->fatal_.store(true, std::memory_order_release);
  } else if (code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
    if (self->connected_.exchange(false)) log::warn("kafka brokers unreachable", {{"reason", reason}});
  } else {
    log::warn("kafka producer error", {{"error", rd_kafka_err2str(code)}, {"reason", reason}});
  }
}

void Producer::poll_loop() {
  while (!stop_.load(std::memory_order_acquire)) {
    if (fatal_.exchange(false, std::memory_order_acq_rel)) renew();
    std::shared_lock lock(rk_mu_);
    rd_kafka_poll(rk_, 100);
  }
}

void Producer::probe_loop() {
  auto set = [this](bool up, const char* reason) {
    if (connected_.exchange(up, std::memory_order_acq_rel) == up) return;
    if (up) {
      log::info("kafka brokers reachable");
      if (opts_.on_reachable) opts_.on_reachable();
    } else {
      log::warn("kafka brokers unreachable", {{"reason", reason}});
    }
  };
  int unreachable = 0;  // probes in a row that found no usable broker
  std::unique_lock lock(mu_);
  while (!stop_.load()) {
    lock.unlock();
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    {
      std::shared_lock rk_lock(rk_mu_);
      err = rd_kafka_metadata(rk_, 0, nullptr, &md,
                              static_cast<int>(std::max<std::int64_t>(opts_.probe_interval.count(), 200)));
    }
    const bool brokers = md != nullptr && md->broker_cnt > 0;
    if (md != nullptr) rd_kafka_metadata_destroy(md);
    bool again = false;
    switch (err == RD_KAFKA_RESP_ERR_NO_ERROR && !brokers ? Reach::kUnreachable : probe_reach(err)) {
      case Reach::kReachable:
        unreachable = 0;
        set(true, "");
        break;
      case Reach::kUnknown:
        break;
      case Reach::kUnreachable:
        // Once may be the broker that just died, whose connection broke
        // under the request: the next probe goes to another one at once.
        again = ++unreachable == 1;
        if (!again) set(false, rd_kafka_err2str(err));
        break;
    }
    lock.lock();
    if (!again) cv_.wait_for(lock, opts_.probe_interval, [this] { return stop_.load(); });
  }
}

}  // namespace ioc::kafka
