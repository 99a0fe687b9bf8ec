#include "submission.hpp"

#include <algorithm>
#include <memory>

#include "ioc/codec/codec.hpp"
#include "ioc/core/hash.hpp"
#include "ioc/core/text.hpp"

namespace ioc::intake {

/// One report on its way to the broker or the spool.
struct Submissions::Submission {
  Report report;
  std::string bytes;
  Api api;
  http::Responder res;
};

namespace {

constexpr std::size_t kMaxIdempotencyKey = 255;

/// The report as the client sent it (before the intake's fields are set).
std::uint64_t content_hash(const Report& r) {
  const std::uint64_t h = fnv1a(codec::encode(r));
  return h == 0 ? 1 : h;  // 0 means "not recorded"
}

}  // namespace

Submissions::Submissions(const Config& cfg, const Clock& clock, Metrics& metrics, Handoff& handoff,
                         ReportStore& store, IdempotencyCache& idempotency, std::function<bool()> retries_known)
    : cfg_(cfg),
      clock_(clock),
      m_(metrics),
      handoff_(handoff),
      store_(store),
      idempotency_(idempotency),
      retries_known_(std::move(retries_known)),
      ids_(clock) {}

void Submissions::submit(Report report, Api api, const Principal& caller, const http::Request& req,
                         http::Responder res) {
  const TimePoint now = clock_.now();
  const std::string_view key = req["Idempotency-Key"];
  if (key.size() > kMaxIdempotencyKey ||
      std::any_of(key.begin(), key.end(), [](char c) { return c < 0x21 || c > 0x7e; })) {
    m_.invalid.Increment();
    return res.send(error_for(api, http::Status::bad_request, "invalid_idempotency_key",
                              "Idempotency-Key must be 1-" + std::to_string(kMaxIdempotencyKey) +
                                  " printable ASCII characters without spaces"));
  }
  // A report id names one report. The client's own id, else one derived
  // from its Idempotency-Key: every retry, to any replica, before or after
  // any restart, carries the same id, and the aggregator counts an id once.
  report.content_hash = content_hash(report);
  const bool own_id = !report.id.empty();
  if (!own_id && !key.empty()) report.id = name_uuid(caller.name + '\x1f' + std::string(key));
  if (!report.id.empty() && !retries_known_()) {
    http::Response r = error_for(api, http::Status::service_unavailable, "starting",
                                 "the intake is loading the ids of stored reports; retry shortly");
    r.set(http::beast_http::field::retry_after, "1");
    return res.send(std::move(r));
  }
  if (report.id.empty()) report.id = ids_.next();
  auto s = std::make_shared<Submission>(Submission{std::move(report), {}, api, std::move(res)});
  Report& r = s->report;
  const auto begun = idempotency_.begin(r.id, caller.name, r.content_hash, now);
  switch (begun.kind) {
    case IdempotencyCache::Begin::kNew: break;
    case IdempotencyCache::Begin::kReplay: {
      m_.replayed.Increment();
      http::Response resp = http::make_response(static_cast<http::Status>(begun.response.status), begun.response.body);
      resp.set("Idempotent-Replayed", "true");
      return s->res.send(std::move(resp));
    }
    case IdempotencyCache::Begin::kInProgress: {
      http::Response resp = error_for(api, http::Status::conflict, "request_in_progress",
                                      "a request for this report is still being processed; retry shortly");
      resp.set(http::beast_http::field::retry_after, "1");
      return s->res.send(std::move(resp));
    }
    case IdempotencyCache::Begin::kMismatch:
      if (!own_id) {
        m_.invalid.Increment();
        return s->res.send(
            error_for(api, http::Status::unprocessable_entity, "idempotency_key_reused",
                      "this Idempotency-Key was used for a different report; use a new key for a new report"));
      }
      [[fallthrough]];
    case IdempotencyCache::Begin::kTaken:
      m_.invalid.Increment();
      return s->res.send(error_for(api, http::Status::conflict, "id_taken",
                                   "report id '" + echo(r.id) + "' names another report; use a new id for a new report"));
  }
  r.idempotency_key = std::string(key);
  r.received_at = now;
  r.source = std::string(api_name(api));
  r.client = caller.name;
  codec::encode(r, s->bytes);
  store_.put(r, Delivery::kReceived);
  handoff_.submit({r.id, s->res.request_id(), r.district, std::move(s->bytes)}, [this, s](const Verdict& v) {
    switch (v.kind) {
      case Verdict::Kind::kAccepted: return complete(*s, Delivery::kDelivered);
      case Verdict::Kind::kQueued: return complete(*s, Delivery::kQueued);
      case Verdict::Kind::kBrokerUnavailable: return fail(*s, "broker_unavailable", v.why);
      case Verdict::Kind::kSpoolRefused: return fail(*s, "unavailable", v.why);
    }
  });
}

void Submissions::remember(const Report& r, Delivery delivery) {
  store_.put(r, delivery);
  const http::Response resp = stored_response(r, r.source == api_name(Api::kOpen311) ? Api::kOpen311 : Api::kNative,
                                              delivery);
  idempotency_.learn(r.id, r.client, r.content_hash, {resp.result_int(), resp.body()}, r.received_at, clock_.now());
}

void Submissions::remember_spooled(Spool& spool, std::size_t batch) {
  for (std::uint64_t after = 0;;) {
    auto pending = spool.peek(batch, after);
    if (!pending.ok() || pending->empty()) return;
    for (const SpooledRecord& rec : *pending) {
      Report r;
      if (codec::decode(rec.payload, r).ok()) remember(r, Delivery::kQueued);
    }
    after = pending->back().seq;
  }
}

void Submissions::complete(const Submission& s, Delivery delivery) {
  (delivery == Delivery::kQueued ? m_.queued : m_.accepted).Increment();
  store_.put(s.report, delivery);
  http::Response r = stored_response(s.report, s.api, delivery);
  idempotency_.finish(s.report.id, {r.result_int(), r.body()});
  s.res.send(std::move(r));
}

void Submissions::fail(const Submission& s, std::string_view code, const std::string& why) {
  m_.unavailable.Increment();
  idempotency_.abandon(s.report.id);
  http::Response r = error_for(s.api, http::Status::service_unavailable, code,
                               "the report was not stored: " + why + "; retry later");
  r.set(http::beast_http::field::retry_after, std::to_string(cfg_.retry_after.count()));
  s.res.send(std::move(r));
}

}  // namespace ioc::intake
