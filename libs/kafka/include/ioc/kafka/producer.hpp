#pragma once
/// Producer: an idempotent, acks=all Kafka producer with per-record delivery
/// callbacks and a broker-connectivity signal for readiness checks.
///
/// An idempotent producer can fail for good (librdkafka's fatal error: after
/// every broker crashed, a broker may no longer know its producer id, and
/// "unable to retry without risking duplication"). Then this wrapper puts a
/// new client in its place at once: the records the old one still held fail
/// (callbacks with an error, possibly_persisted for those in flight), and
/// produce() goes on with the new one. renewals() counts it.
///
/// Connectivity means "some broker can be reached", not "every broker
/// answers fast": while one broker of a replicated cluster is down, the
/// others hold produce requests until the failed replica leaves the in-sync
/// set, and answer nothing else on those connections meanwhile; a probe that
/// times out there is no verdict. Unreachable is said only when no broker
/// connection can be made (twice in a row), or librdkafka reports every
/// broker down.
///
/// Thread-safe: produce() may be called from any thread. Delivery callbacks
/// run on the producer's own poll thread; keep them short (post work
/// elsewhere). The destructor flushes (bounded by Options::close_timeout)
/// and joins its threads.


#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "ioc/core/result.hpp"
#include "ioc/kafka/client_config.hpp"
#include "ioc/kafka/message.hpp"

struct rd_kafka_s;  // librdkafka's rd_kafka_t, opaque here

namespace ioc::kafka {

struct DeliveryReport {
  Status status;           // ok, or why the record was not stored
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  /// With an error: the broker may have stored the record all the same (a
  /// request that timed out, or was purged, while in flight).
  bool possibly_persisted = false;
};

class Producer {
 public:
  struct Options {
    std::chrono::milliseconds linger{5};
    /// Give up on a record after this long (it then reports kUnavailable,
    /// and may have been stored all the same). 0: never — the idempotent
    /// producer retries it, through leader failovers and outages, until the
    /// broker stores it (once) or refuses it for good, or purge().
    std::chrono::milliseconds delivery_timeout{30'000};
    std::chrono::milliseconds close_timeout{10'000};
    /// How often connectivity is probed with a metadata request.
    std::chrono::milliseconds probe_interval{1'000};
    std::string compression = "lz4";
    /// Runs each time connected() turns true (the first time included), on
    /// the producer's probe or poll thread: keep it short, never block.
    std::function<void()> on_reachable;
  };
  using OnDelivery = std::function<void(const DeliveryReport&)>;

  /// Throws ioc::ConfigError when the client cannot be configured.
  Producer(const ClientConfig& cfg, const Options& opts);
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  /// Queues one record; never blocks. The callback (optional) fires exactly
  /// once with the outcome. Returns an error (and does not call back) when the
  /// record could not even be queued (queue full, record too large).
  /// `partition` < 0: the partitioner picks one from the key.
  /// `timestamp_ms` > 0: the record's timestamp (CreateTime), else now.
  Status produce(std::string_view topic, std::string_view key, std::string_view value, OnDelivery on_delivery = {},
                 const Headers& headers = {}, std::int32_t partition = -1, std::int64_t timestamp_ms = 0);

  /// Waits until all queued records are delivered or failed.
  Status flush(std::chrono::milliseconds timeout);
  /// Fails every record still queued or in flight, now: their callbacks run
  /// (with a purge error; in-flight ones may have been stored all the same)
  /// before this returns, or within `timeout`. For a shutdown that cannot
  /// wait for the broker any longer.
  void purge(std::chrono::milliseconds timeout = std::chrono::seconds(5));

  /// False only while no broker can be reached (see above); true after the
  /// first probe or delivery that reached one.
  bool connected() const { return connected_.load(std::memory_order_acquire); }
  /// Records queued or in flight.
  std::int64_t in_flight() const;
  std::uint64_t delivered() const { return delivered_.load(std::memory_order_relaxed); }
  std::uint64_t failed() const { return failed_.load(std::memory_order_relaxed); }
  /// Clients put in place after a fatal error (see above).
  std::uint64_t renewals() const { return renewals_.load(std::memory_order_relaxed); }

  /// For tests: makes the client fail for good, as librdkafka does on a
  /// fatal error (rd_kafka_test_fatal_error).
  void fail_for_test(std::string_view reason);

 private:
  struct Callbacks;  // librdkafka's callbacks (delivery, error)
  friend struct Callbacks;
  ::rd_kafka_s* make_client();
  /// On the poll thread, after a fatal error: a new client in place of the
  /// old one, whose records are failed and which is kept until destruction
  /// (librdkafka 2.0 may hang destroying a client that lost its brokers).
  void renew();
  void poll_loop();
  void probe_loop();

  ClientConfig cfg_;
  Options opts_;
  /// Held shared by every use of rk_, exclusively to replace it.
  mutable std::shared_mutex rk_mu_;
  ::rd_kafka_s* rk_ = nullptr;
  std::vector<::rd_kafka_s*> retired_;  // failed clients, destroyed last
  std::atomic<bool> fatal_{false};
  std::atomic<std::uint64_t> renewals_{0};
  std::atomic<bool> connected_{false};
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> delivered_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread poller_;
  std::thread prober_;
};

}  // namespace ioc::kafka
