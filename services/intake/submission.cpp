#include "submission.hpp"

#include <algorithm>
#include <memory>

#include "ioc/codec/codec.hpp"

namespace ioc::intake {

/// One report on its way to the broker or the spool.
struct Submissions::Submission {
  Report report;
  std::string bytes;
  Api api;
  std::string idempotency_scope;  // "" without a key
  http::Responder res;
};

namespace {

constexpr std::size_t kMaxIdempotencyKey = 255;

std::uint64_t fingerprint(const http::Request& req) {
  const std::size_t h = std::hash<std::string_view>{}(req.target()) * 31 + std::hash<std::string_view>{}(req.body());
  return h == 0 ? 1 : h;  // 0 means "any request" in the cache
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
  std::string key(req["Idempotency-Key"]);
  if (key.size() > kMaxIdempotencyKey ||
      std::any_of(key.begin(), key.end(), [](char c) { return c < 0x21 || c > 0x7e; })) {
    m_.invalid.Increment();
    return res.send(error_for(api, http::Status::bad_request, "invalid_idempotency_key",
                              "Idempotency-Key must be 1-" + std::to_string(kMaxIdempotencyKey) +
                                  " printable ASCII characters without spaces"));
  }
  if (key.empty() && !report.id.empty()) key = "id:" + report.id;  // the client's own report id
  auto s = std::make_shared<Submission>(Submission{std::move(report), {}, api, {}, std::move(res)});
  if (!key.empty()) {
    if (!retries_known_()) {
      http::Response r = error_for(api, http::Status::service_unavailable, "starting",
                                   "the intake is loading the idempotency keys of stored reports; retry shortly");
      r.set(http::beast_http::field::retry_after, "1");
      return s->res.send(std::move(r));
    }
    s->idempotency_scope = caller.name + '\x1f' + key;
    const auto begun = idempotency_.begin(s->idempotency_scope, fingerprint(req), now);
    switch (begun.kind) {
      case IdempotencyCache::Begin::kNew: break;
      case IdempotencyCache::Begin::kReplay: {
        m_.replayed.Increment();
        http::Response r = http::make_response(static_cast<http::Status>(begun.response.status), begun.response.body);
        r.set("Idempotent-Replayed", "true");
        return s->res.send(std::move(r));
      }
      case IdempotencyCache::Begin::kInProgress: {
        http::Response r = error_for(api, http::Status::conflict, "request_in_progress",
                                     "a request with this Idempotency-Key is still being processed; retry shortly");
        r.set(http::beast_http::field::retry_after, "1");
        return s->res.send(std::move(r));
      }
      case IdempotencyCache::Begin::kMismatch:
        m_.invalid.Increment();
        return s->res.send(
            error_for(api, http::Status::unprocessable_entity, "idempotency_key_reused",
                      "this Idempotency-Key was used for a different request; use a new key for a new report"));
    }
    s->report.idempotency_key = key;
  }
  Report& r = s->report;
  if (r.id.empty()) r.id = ids_.next();
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
  if (r.idempotency_key.empty()) return;
  const http::Response resp = stored_response(r, r.source == api_name(Api::kOpen311) ? Api::kOpen311 : Api::kNative,
                                              delivery);
  idempotency_.learn(r.client + '\x1f' + r.idempotency_key, {resp.result_int(), resp.body()}, r.received_at,
                     clock_.now());
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
  if (!s.idempotency_scope.empty()) idempotency_.finish(s.idempotency_scope, {r.result_int(), r.body()});
  s.res.send(std::move(r));
}

void Submissions::fail(const Submission& s, std::string_view code, const std::string& why) {
  m_.unavailable.Increment();
  if (!s.idempotency_scope.empty()) idempotency_.abandon(s.idempotency_scope);
  http::Response r = error_for(s.api, http::Status::service_unavailable, code,
                               "the report was not stored: " + why + "; retry later");
  r.set(http::beast_http::field::retry_after, std::to_string(cfg_.retry_after.count()));
  s.res.send(std::move(r));
}

}  // namespace ioc::intake
