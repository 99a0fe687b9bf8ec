#pragma once
/// Notifier: delivers alerts to one Alertmanager instance's v2 API (POST /api/v2/alerts,
/// a JSON array of {labels, annotations, startsAt, endsAt, generatorURL}),
/// from a DeliveryQueue, on its own thread, retrying with backoff while
/// Alertmanager is unreachable or refuses, so nothing is lost: the queue
/// holds each alert's latest state until a POST carrying it succeeds.
/// With several instances (a cluster) there is one Notifier per instance,
/// each with its own queue and backoff: one instance down delays nothing
/// at the others. Its metrics carry the label alertmanager=<url>.
///
/// notify() and depth() are thread-safe; deliver_due() runs on the
/// Notifier's thread (or a test's). stop() tries to deliver what is queued
/// (resolutions above all) within a deadline, then joins.

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "channel.hpp"
#include "config.hpp"
#include "delivery_queue.hpp"
#include "ioc/core/clock.hpp"
#include "ioc/core/model.hpp"
#include "ioc/core/result.hpp"
#include "ioc/http/client.hpp"

namespace prometheus {
class Registry;
class Counter;
class Gauge;
template <typename T>
class Family;
}  // namespace prometheus

namespace ioc::alerter {

/// Where alert batches go. One thread calls post().
class AlertSink {
 public:
  virtual ~AlertSink() = default;
  /// POSTs `json` to `path`; an error when it was not accepted (transport
  /// failure or a non-2xx status, with the reason).
  virtual Status post(const std::string& path, const std::string& json) = 0;
};

/// The real sink: HTTP/1.1 to one Alertmanager (keep-alive, reconnecting).
class AlertmanagerSink final : public AlertSink {
 public:
  AlertmanagerSink(const AlertmanagerTarget& target, Millis timeout);
  Status post(const std::string& path, const std::string& json) override;

 private:
  http::Client client_;
};

/// The Alertmanager v2 body for `alerts` at `now`: labels, annotations,
/// startsAt, endsAt (firing: now + 4 resend intervals, so Alertmanager
/// resolves it by itself if the alerter disappears; resolved: when it
/// ended) and generatorURL (this alerter's page of the episode).
std::string alertmanager_body(const std::vector<AlertEvent>& alerts, TimePoint now, Millis resend_interval,
                              const std::string& external_url);

/// The Alertmanager channel.
class Notifier final : public AlertChannel {
 public:
  /// Delivers to `target` through `sink` (metrics labelled with its URL).
  Notifier(const AlertmanagerConfig& cfg, const AlertmanagerTarget& target, std::string external_url,
           AlertSink& sink, const Clock& clock, prometheus::Registry& metrics);
  ~Notifier() override;
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  /// Queues an alert's firing or resolved state. `resend`: Alertmanager had it before.
  void notify(const AlertEvent& e, bool resend) override;
  std::size_t depth() const;

  /// Sends the batches due now; returns false when a POST failed.
  bool deliver_due();

  void start();
  /// Delivers what is queued for up to `deadline`, then stops the thread.
  void stop(Millis deadline);

 private:
  void loop();

  AlertmanagerConfig cfg_;
  std::string external_url_;
  std::string target_url_;
  std::string path_;
  AlertSink& sink_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  DeliveryQueue queue_;
  bool stop_ = false;
  std::thread thread_;
  prometheus::Family<prometheus::Counter>& notifications_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Counter& sent_;
  prometheus::Counter& failed_;
  prometheus::Counter& dropped_;
  prometheus::Counter& posts_ok_;
  prometheus::Counter& posts_failed_;
  prometheus::Gauge& depth_;
  prometheus::Gauge& up_;
  prometheus::Histogram& latency_;
};

}  // namespace ioc::alerter
