#pragma once
/// Submissions: a validated report on its way to durability. Gives the
/// report its id (the client's own, else a UUIDv5 of the client and its
/// Idempotency-Key, else a new UUIDv7), answers a retry from memory and
/// refuses another report under a taken id, sets the intake fields, hands
/// the report to the Handoff (broker or spool) and answers the reporter
/// with the verdict. Also remembers stored reports
/// found elsewhere (the topic, the spool) for lookups and retries.
/// Thread-safe: submit() runs on the HTTP threads, answers come from the
/// producer's and the spool's threads.

#include <cstddef>
#include <functional>
#include <string_view>

#include "answers.hpp"
#include "auth.hpp"
#include "config.hpp"
#include "handoff.hpp"
#include "ioc/core/clock.hpp"
#include "ioc/core/ids.hpp"
#include "ioc/http/server.hpp"
#include "metrics.hpp"
#include "report_store.hpp"
#include "spool.hpp"

namespace ioc::intake {

class Submissions {
 public:
  /// `retries_known`: whether every report stored before this start has been
  /// read back (until then a retry could not be told from a new report).
  Submissions(const Config& cfg, const Clock& clock, Metrics& metrics, Handoff& handoff, ReportStore& store,
              IdempotencyCache& idempotency, std::function<bool()> retries_known);

  /// Takes `report` to the broker or the spool and answers through `res`.
  void submit(Report report, Api api, const Principal& caller, const http::Request& req, http::Responder res);

  /// Indexes a stored report, and its idempotency key for retries.
  void remember(const Report& r, Delivery delivery);
  /// Remembers every report waiting in `spool` (queued), a batch at a time.
  void remember_spooled(Spool& spool, std::size_t batch);

 private:
  struct Submission;

  void complete(const Submission& s, Delivery delivery);
  void fail(const Submission& s, std::string_view code, const std::string& why);

  const Config& cfg_;
  const Clock& clock_;
  Metrics& m_;
  Handoff& handoff_;
  ReportStore& store_;
  IdempotencyCache& idempotency_;
  std::function<bool()> retries_known_;
  IdGenerator ids_;
};

}  // namespace ioc::intake
