#pragma once
/// ReportIndex: rebuilds what the intake knows of stored reports from its
/// own topics. At start it reads ioc.reports.v1 back to its end (every
/// report stored before this start, with its client and idempotency key),
/// then, unless intake.idempotency.follow_replicas keeps it on the reports,
/// only operator updates from ioc.report-status.v1. Malformed updates past
/// the group's committed offsets are dead-lettered once.
///
/// Broker calls that fail (committed offsets, watermarks) are tried again
/// with exponential backoff (200 ms doubling to 5 s); stop() cuts a pause
/// short. Owns one thread; ready() and stop() are thread-safe.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "config.hpp"
#include "ioc/core/backoff.hpp"
#include "ioc/core/clock.hpp"
#include "ioc/kafka/producer.hpp"
#include "metrics.hpp"
#include "report_store.hpp"
#include "submission.hpp"

namespace ioc::intake {

class ReportIndex {
 public:
  /// `dead_letters` queues malformed operator updates; all must outlive this.
  /// `on_ready` runs once ready() turns true, or failed() does.
  ReportIndex(const Config& cfg, const Clock& clock, Metrics& metrics, Submissions& submissions, ReportStore& store,
              const IdempotencyCache& idempotency, kafka::Producer& dead_letters, std::function<void()> on_ready = {});
  ~ReportIndex();
  ReportIndex(const ReportIndex&) = delete;
  ReportIndex& operator=(const ReportIndex&) = delete;

  void start();
  /// Stops the thread and waits for it.
  void stop();
  /// True once every report stored before this start has been read back.
  bool ready() const { return ready_.load(); }
  /// The index stopped on an error: it will never be ready.
  bool failed() const { return failed_.load(); }

 private:
  void run();
  // Waits `d` unless stop() comes first (then false).
  bool pause(Millis d);
  bool stopping() const;

  const Config& cfg_;
  const Clock& clock_;
  Metrics& m_;
  Submissions& submissions_;
  ReportStore& store_;
  const IdempotencyCache& idempotency_;
  kafka::Producer& dead_letters_;
  Backoff backoff_;

  std::function<void()> on_ready_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> failed_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace ioc::intake
