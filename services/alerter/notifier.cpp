#include "notifier.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "ioc/codec/json.hpp"
#include "ioc/core/log.hpp"
#include "ioc/core/time_format.hpp"

namespace ioc::alerter {

AlertmanagerSink::AlertmanagerSink(const AlertmanagerTarget& target, Millis timeout)
    : client_(target.host, target.port, timeout) {}

Status AlertmanagerSink::post(const std::string& path, const std::string& json) {
  auto res = client_.post(path, json, "application/json");
  if (!res.ok()) return res.error();
  const unsigned code = res->result_int();
  if (code < 200 || code >= 300) {
    std::string body = res->body().substr(0, 300);
    return unavailable("Alertmanager answered " + std::to_string(code) + ": " + body);
  }
  return {};
}

std::string alertmanager_body(const std::vector<AlertEvent>& alerts, TimePoint now, Millis resend_interval,
                              const std::string& external_url) {
  boost::json::array arr;
  for (const AlertEvent& e : alerts) {
    boost::json::object o;
    o["labels"] = codec::labels_json(e.labels);
    o["annotations"] = codec::labels_json(e.annotations);
    o["startsAt"] = format_rfc3339(e.starts_at);
    const bool resolved = e.state == AlertEvent::State::kResolved;
    o["endsAt"] = format_rfc3339(resolved ? e.ends_at : now + 4 * resend_interval);
    o["generatorURL"] = external_url + "/api/v1/alerts/" + e.id;
    arr.push_back(std::move(o));
  }
  return boost::json::serialize(arr);
}

Notifier::Notifier(const AlertmanagerConfig& cfg, const AlertmanagerTarget& target, std::string external_url,
                   AlertSink& sink, const Clock& clock, prometheus::Registry& r)
    : cfg_(cfg),
      external_url_(std::move(external_url)),
      target_url_(target.url),
      path_(target.base_path + "/api/v2/alerts"),
      sink_(sink),
      clock_(clock),
      queue_({cfg.max_queue, cfg.backoff_min, cfg.backoff_max}),
      notifications_(prometheus::BuildCounter()
                         .Name("ioc_alerter_notifications_total")
                         .Help("Alert states delivered to Alertmanager (outcome sent), in a POST that failed and "
                               "stay queued for a retry (failed), or dropped from a full queue (dropped: re-sends "
                               "only; resolutions are never dropped)")
                         .Register(r)),
      requests_(prometheus::BuildCounter()
                    .Name("ioc_alerter_alertmanager_requests_total")
                    .Help("POST /api/v2/alerts requests to Alertmanager by outcome")
                    .Register(r)),
      sent_(notifications_.Add({{"alertmanager", target.url}, {"outcome", "sent"}})),
      failed_(notifications_.Add({{"alertmanager", target.url}, {"outcome", "failed"}})),
      dropped_(notifications_.Add({{"alertmanager", target.url}, {"outcome", "dropped"}})),
      posts_ok_(requests_.Add({{"alertmanager", target.url}, {"outcome", "ok"}})),
      posts_failed_(requests_.Add({{"alertmanager", target.url}, {"outcome", "error"}})),
      depth_(prometheus::BuildGauge()
                 .Name("ioc_alerter_delivery_queue_depth")
                 .Help("Alerts waiting for delivery to an Alertmanager instance")
                 .Register(r)
                 .Add({{"alertmanager", target.url}})),
      up_(prometheus::BuildGauge()
              .Name("ioc_alerter_alertmanager_up")
              .Help("1 when the last POST to an Alertmanager instance succeeded")
              .Register(r)
              .Add({{"alertmanager", target.url}})),
      latency_(prometheus::BuildHistogram()
                   .Name("ioc_alerter_alertmanager_request_seconds")
                   .Help("Time a POST /api/v2/alerts to an Alertmanager instance took, answered or failed")
                   .Register(r)
                   .Add({{"alertmanager", target.url}},
                        prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
                                                                10})) {}

Notifier::~Notifier() { stop(Millis(0)); }

void Notifier::notify(const AlertEvent& e, bool resend) {
  {
    std::lock_guard lock(mu_);
    if (queue_.push(e, resend) == DeliveryQueue::Push::kDropped) {
      dropped_.Increment();
      if (!resend) log::warn("delivery queue full: alert dropped", {{"fingerprint", e.fingerprint}, {"id", e.id}});
    }
    depth_.Set(static_cast<double>(queue_.size()));
  }
  cv_.notify_all();
}

std::size_t Notifier::depth() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

bool Notifier::deliver_due() {
  while (true) {
    std::vector<AlertEvent> batch;
    {
      std::lock_guard lock(mu_);
      batch = queue_.take(clock_.now(), cfg_.max_batch);
    }
    if (batch.empty()) return true;
    const std::string body = alertmanager_body(batch, clock_.now(), cfg_.resend_interval, external_url_);
    const MonotonicTime posted = clock_.monotonic();
    const Status s = sink_.post(path_, body);
    latency_.Observe(std::chrono::duration<double>(clock_.monotonic() - posted).count());
    std::lock_guard lock(mu_);
    queue_.done(s.ok(), clock_.now());
    depth_.Set(static_cast<double>(queue_.size()));
    up_.Set(s.ok() ? 1 : 0);
    if (!s.ok()) {
      posts_failed_.Increment();
      failed_.Increment(static_cast<double>(batch.size()));
      if (queue_.consecutive_failures() == 1 || queue_.consecutive_failures() % 10 == 0) {
        log::warn("Alertmanager delivery failed; retrying with backoff",
                  {{"alertmanager", target_url_}, {"error", s.error().message}, {"queued", queue_.size()},
                   {"failures", queue_.consecutive_failures()}});
      }
      return false;
    }
    posts_ok_.Increment();
    sent_.Increment(static_cast<double>(batch.size()));
  }
}

void Notifier::start() {
  thread_ = std::thread([this] { loop(); });
}

void Notifier::loop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    const auto next = queue_.next_attempt();
    const TimePoint now = clock_.now();
    if (next && *next <= now) {
      lock.unlock();
      deliver_due();
      lock.lock();
      continue;
    }
    if (next) {
      cv_.wait_for(lock, *next - now);
    } else {
      cv_.wait(lock);
    }
  }
}

void Notifier::stop(Millis deadline) {
  {
    std::lock_guard lock(mu_);
    if (stop_ && !thread_.joinable()) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  // Last chance for what is queued (a resolution above all), bounded.
  const TimePoint until = clock_.now() + deadline;
  while (depth() > 0 && clock_.now() < until) {
    std::optional<TimePoint> next;
    {
      std::lock_guard lock(mu_);
      next = queue_.next_attempt();
    }
    if (next && *next > until) break;
    if (next && *next > clock_.now()) std::this_thread::sleep_for(*next - clock_.now());
    deliver_due();
  }
  if (depth() > 0) {
    log::warn("stopping with alerts not delivered to Alertmanager", {{"alertmanager", target_url_}, {"queued", depth()}});
  }
}

}  // namespace ioc::alerter
