#pragma once
/// What the intake remembers of reports, for status lookups and retries.
///
/// ReportStore: recent reports with their delivery state (received →
/// queued → delivered) and the operators' updates from
/// ioc.report-status.v1. IdempotencyCache: the first response to each
/// (client, Idempotency-Key), replayed to retries.
///
/// Both are rebuilt at start from the topics the intake owns (every report
/// it stored, with its client and idempotency key, is on ioc.reports.v1),
/// plus the spool for reports not delivered yet, so a restart or another
/// replica still recognises a retry. Both are bounded: the oldest entries go
/// first. Thread-safe.

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

#include "ioc/core/clock.hpp"
#include "ioc/core/model.hpp"

namespace ioc::intake {

enum class Delivery { kReceived = 0, kQueued = 1, kDelivered = 2 };
const char* to_string(Delivery d);

struct StoredReport {
  static constexpr std::size_t kMaxUpdates = 32;  // the latest are kept

  Report report;
  Delivery delivery = Delivery::kReceived;
  std::vector<ReportStatus> updates;  // by updated_at, oldest first

  /// The operators' latest status, or the delivery state before any update.
  std::string status() const;
  /// Open311 status: closed once an operator resolved, closed or rejected it.
  bool closed() const;
  TimePoint updated_at() const;
};

struct ReportQuery {
  std::vector<std::string> ids;         // any of these (empty: all)
  std::vector<std::string> categories;  // any of these (empty: all)
  std::optional<TimePoint> start;       // received_at >= start
  std::optional<TimePoint> end;         // received_at <= end
  std::optional<bool> closed;           // nullopt: open and closed
  std::size_t limit = 1000;
};

class ReportStore {
 public:
  explicit ReportStore(std::size_t max_reports = 100'000) : max_(max_reports) {}

  /// Records `r`, or advances the delivery state of a known report (never
  /// back: a delivered report seen again in the spool stays delivered).
  void put(const Report& r, Delivery d);
  void set_delivery(std::string_view id, Delivery d);
  /// Adds an operator update. An update for a report not seen yet is kept
  /// until it arrives (it counts against the bound).
  void apply(const ReportStatus& s);

  std::optional<StoredReport> get(std::string_view id) const;
  /// Matching reports, newest received first, at most q.limit.
  std::vector<StoredReport> query(const ReportQuery& q) const;
  std::size_t size() const;

 private:
  StoredReport& slot(std::string_view id);  // under mu_

  std::size_t max_;
  mutable std::mutex mu_;
  boost::unordered_flat_map<std::string, StoredReport> by_id_;
  std::deque<std::string> order_;  // insertion order, for eviction
};

/// A response to replay for a retried request.
struct RememberedResponse {
  unsigned status = 0;
  std::string body;
};

/// Every report id taken (within the window and the bound): the client
/// that took it, the hash of the report it sent, and the first answer. A
/// retry (the same client, the same report) gets that answer again;
/// anything else under a taken id is refused.
class IdempotencyCache {
 public:
  IdempotencyCache(std::size_t max_keys, std::chrono::milliseconds window) : max_(max_keys), window_(window) {}

  struct Begin {
    enum Kind {
      kNew,         // the id is free: go on, then finish() or abandon()
      kInProgress,  // the first request with this id has not been answered yet (409)
      kReplay,      // answered before: send `response` again
      kMismatch,    // the same client sent another report under the id (422)
      kTaken,       // another client's report has the id (409)
    } kind = kNew;
    RememberedResponse response;
  };
  /// `content` is the report's hash as the client sent it (Report::content_hash).
  Begin begin(const std::string& id, std::string_view client, std::uint64_t content, TimePoint now);
  /// The first request succeeded: remember its response for the window.
  void finish(const std::string& id, RememberedResponse response);
  /// The first request failed (not stored): a retry may try again.
  void abandon(const std::string& id);
  /// A stored report found on the topic or in the spool: its id is taken,
  /// and a retry gets `response`. `content` 0 (a record from before content
  /// hashes): any report of the same client matches.
  void learn(const std::string& id, std::string_view client, std::uint64_t content, RememberedResponse response,
             TimePoint created, TimePoint now);

  std::size_t size() const;

 private:
  struct Entry {
    std::string client;
    std::uint64_t content = 0;  // 0: matches any report of the client
    TimePoint created{};
    bool done = false;
    RememberedResponse response;
  };
  void insert(const std::string& id, Entry e, TimePoint now);  // under mu_

  std::size_t max_;
  std::chrono::milliseconds window_;
  mutable std::mutex mu_;
  boost::unordered_flat_map<std::string, Entry> entries_;
  std::deque<std::pair<std::string, TimePoint>> order_;
};

}  // namespace ioc::intake
