#include "app.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <functional>

#include "ioc/codec/codec.hpp"
#include "ioc/core/log.hpp"
#include "ioc/core/time_format.hpp"
#include "ioc/kafka/admin.hpp"
#include "ioc/kafka/consumer.hpp"
#include "ioc/kafka/dead_letters.hpp"
#include "open311.hpp"

namespace ioc::intake {

namespace json = boost::json;

Config load_config(config::Source& src) {
  Config c;
  c.common = daemon::load_common(src, "ioc-intake", ":8080");
  auto& l = c.limits;
  l.max_description_chars =
      static_cast<std::size_t>(src.get_int("intake.max_description_chars", 4000, 1, 1'000'000));
  l.max_media_urls = static_cast<std::size_t>(src.get_int("intake.max_media_urls", 10, 0, 1000));
  l.max_future_skew = src.get_duration("intake.max_future_skew", std::chrono::minutes(5));
  l.max_age = src.get_duration("intake.max_age", std::chrono::hours(24 * 30), std::chrono::minutes(1));
  c.topic = src.get_string("intake.topic", kafka::topics::kReports);
  c.status_topic = src.get_string("intake.status_topic", kafka::topics::kReportStatus);
  c.delivery_timeout =
      src.get_duration("intake.delivery_timeout", std::chrono::seconds(5), std::chrono::milliseconds(100));
  c.retry_after = std::chrono::duration_cast<std::chrono::seconds>(
      src.get_duration("intake.retry_after", std::chrono::seconds(5), std::chrono::seconds(1)));
  c.spool.dir = src.get_string("intake.spool.dir", "intake-spool");
  c.spool.max_bytes = static_cast<std::uint64_t>(
      src.get_int("intake.spool.max_bytes", std::int64_t{1} << 30, 1 << 20, std::int64_t{1} << 50));
  c.spool.segment_bytes = static_cast<std::uint64_t>(
      src.get_int("intake.spool.segment_bytes", 16 << 20, 1 << 16, std::int64_t{1} << 34));
  c.keys_file = src.get_string("intake.auth.keys_file", "");
  c.per_ip = {src.get_double("intake.rate_limit.per_ip", 20, 0, 1e9),
              src.get_double("intake.rate_limit.per_ip_burst", 100, 1, 1e9)};
  c.per_key = {src.get_double("intake.rate_limit.per_key", 200, 0, 1e9),
               src.get_double("intake.rate_limit.per_key_burst", 1000, 1, 1e9)};
  c.idempotency_window =
      src.get_duration("intake.idempotency.window", std::chrono::hours(24), std::chrono::seconds(1));
  c.idempotency_max_keys =
      static_cast<std::size_t>(src.get_int("intake.idempotency.max_keys", 100'000, 1, 100'000'000));
  c.max_indexed_reports =
      static_cast<std::size_t>(src.get_int("intake.status.max_reports", 100'000, 1, 100'000'000));
  c.noop_route = src.get_bool("intake.bench_noop_route", false);
  c.linger = src.get_duration("intake.linger", std::chrono::milliseconds(0), std::chrono::milliseconds(0));
  c.follow_reports = src.get_bool("intake.idempotency.follow_replicas", false);
  daemon::finish(src, "intake");
  return c;
}

// ---------------------------------------------------------------- metrics

struct Intake::Metrics {
  explicit Metrics(prometheus::Registry& r)
      : outcomes(prometheus::BuildCounter()
                     .Name("ioc_intake_reports_total")
                     .Help("Report submissions by outcome: accepted (stored by the broker), queued (fsync'ed to the "
                           "spool), replayed (an idempotent retry answered from memory), invalid (4xx), "
                           "unauthorized (401/403), rate_limited (429), unavailable (503: neither broker nor spool)")
                     .Register(r)),
        accepted(outcomes.Add({{"outcome", "accepted"}})),
        queued(outcomes.Add({{"outcome", "queued"}})),
        replayed(outcomes.Add({{"outcome", "replayed"}})),
        invalid(outcomes.Add({{"outcome", "invalid"}})),
        unauthorized(outcomes.Add({{"outcome", "unauthorized"}})),
        rate_limited(outcomes.Add({{"outcome", "rate_limited"}})),
        unavailable(outcomes.Add({{"outcome", "unavailable"}})),
        connected(gauge(r, "ioc_intake_broker_connected", "1 when the Kafka brokers answered the last probe")),
        in_flight(gauge(r, "ioc_intake_records_in_flight",
                        "Reports handed to the producer and not yet acknowledged by the broker")),
        spool_depth(gauge(r, "ioc_intake_spool_depth", "Reports in the spool not yet delivered to the broker")),
        spool_held(gauge(r, "ioc_intake_spool_held",
                         "Spooled reports whose original record is still on its way to the broker (not replayed "
                         "unless it fails)")),
        spool_bytes(gauge(r, "ioc_intake_spool_bytes", "Bytes of spool segments on disk")),
        spool_corrupt(gauge(r, "ioc_intake_spool_corrupt_records",
                            "Corrupt spool regions found at start (copied to <spool>/corrupt/)")),
        spool_replayed(prometheus::BuildCounter()
                           .Name("ioc_intake_spool_replayed_total")
                           .Help("Spooled reports delivered to the broker by the replayer")
                           .Register(r)
                           .Add({})),
        spool_failed(prometheus::BuildCounter()
                         .Name("ioc_intake_spool_write_errors_total")
                         .Help("Spool appends refused (disk full, I/O error, intake.spool.max_bytes)")
                         .Register(r)
                         .Add({})),
        updates(prometheus::BuildCounter()
                    .Name("ioc_intake_status_updates_total")
                    .Help("Operator updates read from the report-status topic, by outcome (applied, invalid: "
                          "dead-lettered)")
                    .Register(r)),
        updates_applied(updates.Add({{"outcome", "applied"}})),
        updates_invalid(updates.Add({{"outcome", "invalid"}})),
        indexed(gauge(r, "ioc_intake_indexed_reports", "Reports the status lookup knows (bounded by "
                                                       "intake.status.max_reports)")),
        idempotency_keys(gauge(r, "ioc_intake_idempotency_keys", "Idempotency keys remembered (bounded by "
                                                                  "intake.idempotency.max_keys)")),
        api_keys(gauge(r, "ioc_intake_api_keys", "API keys loaded from intake.auth.keys_file (-1: auth off)")) {}

  static prometheus::Gauge& gauge(prometheus::Registry& r, const std::string& name, const std::string& help) {
    return prometheus::BuildGauge().Name(name).Help(help).Register(r).Add({});
  }

  prometheus::Family<prometheus::Counter>& outcomes;
  prometheus::Counter& accepted;
  prometheus::Counter& queued;
  prometheus::Counter& replayed;
  prometheus::Counter& invalid;
  prometheus::Counter& unauthorized;
  prometheus::Counter& rate_limited;
  prometheus::Counter& unavailable;
  prometheus::Gauge& connected;
  prometheus::Gauge& in_flight;
  prometheus::Gauge& spool_depth;
  prometheus::Gauge& spool_held;
  prometheus::Gauge& spool_bytes;
  prometheus::Gauge& spool_corrupt;
  prometheus::Counter& spool_replayed;
  prometheus::Counter& spool_failed;
  prometheus::Family<prometheus::Counter>& updates;
  prometheus::Counter& updates_applied;
  prometheus::Counter& updates_invalid;
  prometheus::Gauge& indexed;
  prometheus::Gauge& idempotency_keys;
  prometheus::Gauge& api_keys;
};

/// One report on its way to the broker or the spool.
struct Intake::Submission {
  Report report;
  std::string bytes;
  Api api;
  std::string idempotency_scope;  // "" without a key
  http::Responder res;
};

namespace {

constexpr std::size_t kMaxIdempotencyKey = 255;
constexpr std::size_t kReplayBatch = 500;

kafka::Producer::Options producer_options(const Config& cfg) {
  kafka::Producer::Options o;
  // With a spool, a record lives until the broker stores it (or refuses it
  // for good): the answer does not wait for it past delivery_timeout, and a
  // record given up while the broker may still hold it would be stored
  // twice once its spooled copy is replayed. Without one, a report not
  // stored by the deadline is refused (503), and so must its record be.
  o.delivery_timeout = cfg.spool.dir.empty() ? cfg.delivery_timeout : std::chrono::milliseconds(0);
  o.linger = cfg.linger;
  return o;
}

// The intake's producer, for the reports topic.
class ReportsOutlet final : public Outlet {
 public:
  ReportsOutlet(kafka::Producer& producer, std::string topic) : producer_(producer), topic_(std::move(topic)) {}
  Status produce(std::string_view key, std::string_view value, kafka::Producer::OnDelivery done) override {
    return producer_.produce(topic_, key, value, std::move(done));
  }
  bool reachable() const override { return producer_.connected(); }

 private:
  kafka::Producer& producer_;
  std::string topic_;
};

std::string lower_media_type(std::string_view ct) {
  const std::string_view media = ct.substr(0, ct.find(';'));
  std::string lower;
  for (const char c : media) {
    if (c != ' ') lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return lower;
}

std::string_view api_name(bool open311) { return open311 ? "open311" : "api"; }

// The error body of each API: the project's {"error","message"}, or
// Open311's [{"code","description"}].
http::Response error_for(bool open311, http::Status status, std::string_view code, const std::string& message) {
  if (!open311) return http::error_response(status, code, message);
  return http::make_response(status, open311::to_json({{static_cast<unsigned>(status), message}}));
}

json::object report_json(const StoredReport& s) {
  const Report& r = s.report;
  json::object o{{"id", r.id},
                 {"status", s.status()},
                 {"delivery", to_string(s.delivery)},
                 {"category", r.category},
                 {"district", r.district},
                 {"description", r.description},
                 {"occurred_at", format_rfc3339(r.occurred_at)},
                 {"received_at", format_rfc3339(r.received_at)},
                 {"source", r.source}};
  if (r.location) o["location"] = json::object{{"lat", r.location->lat}, {"lon", r.location->lon}};
  if (!r.address.empty()) o["address"] = r.address;
  json::array media;
  for (const auto& u : r.media_urls) media.push_back(json::string(u));
  o["media_urls"] = std::move(media);
  json::array updates;
  for (const ReportStatus& u : s.updates) {
    updates.push_back(json::object{{"status", u.status},
                                   {"note", u.note},
                                   {"operator_id", u.operator_id},
                                   {"agency", u.agency},
                                   {"updated_at", format_rfc3339(u.updated_at)}});
  }
  o["updates"] = std::move(updates);
  return o;
}

std::uint64_t fingerprint(const http::Request& req) {
  const std::size_t h = std::hash<std::string_view>{}(req.target()) * 31 + std::hash<std::string_view>{}(req.body());
  return h == 0 ? 1 : h;  // 0 means "any request" in the cache
}

// The partitions of `topic` in the plan, each to be read from the start.
std::vector<kafka::TopicPartition> whole_topic(const daemon::CommonConfig& c, const std::string& topic) {
  int partitions = 1;
  for (const auto& t : c.topics) {
    if (t.name == topic) partitions = t.partitions;
  }
  std::vector<kafka::TopicPartition> out;
  for (int p = 0; p < partitions; ++p) out.push_back({topic, p, kafka::TopicPartition::kOffsetBeginning, {}});
  return out;
}

}  // namespace

Intake::Intake(const Config& cfg, const Registry& registry, const Clock& clock, prometheus::Registry& metrics)
    : cfg_(cfg),
      registry_(registry),
      clock_(clock),
      ids_(clock),
      m_(std::make_unique<Metrics>(metrics)),
      producer_(cfg.common.kafka, producer_options(cfg)),
      outlet_(std::make_unique<ReportsOutlet>(producer_, cfg.topic)),
      keys_(cfg.keys_file.empty() ? KeyRing() : KeyRing(cfg.keys_file)),
      per_ip_(cfg.per_ip),
      per_key_(cfg.per_key),
      idempotency_(cfg.idempotency_max_keys, cfg.idempotency_window),
      store_(cfg.max_indexed_reports) {
  if (!cfg.spool.dir.empty()) {
    spool_ = std::make_unique<Spool>(cfg.spool);
    // Reports waiting in the spool are known to lookups and retries at
    // once; read a batch at a time, as the replayer does.
    for (std::uint64_t after = 0;;) {
      auto pending = spool_->peek(kReplayBatch, after);
      if (!pending.ok() || pending->empty()) break;
      for (const SpooledRecord& rec : *pending) {
        Report r;
        if (codec::decode(rec.payload, r).ok()) remember(r, Delivery::kQueued);
      }
      after = pending->back().seq;
    }
    m_->spool_corrupt.Set(static_cast<double>(spool_->corrupt_records()));
  }
  HandoffHooks hooks;
  hooks.delivered = [this](std::string_view id) { store_.set_delivery(id, Delivery::kDelivered); };
  hooks.replayed = [this](std::size_t n) { m_->spool_replayed.Increment(static_cast<double>(n)); };
  hooks.spool_refused = [this] { m_->spool_failed.Increment(); };
  handoff_ = std::make_unique<Handoff>(
      *outlet_, spool_.get(), clock_,
      HandoffOptions{.answer_deadline = cfg.delivery_timeout, .replay_batch = kReplayBatch}, std::move(hooks));
  handoff_->start();
  m_->api_keys.Set(keys_.enabled() ? static_cast<double>(keys_.size()) : -1);
  follower_ = std::thread([this] { follow_loop(); });
}

Intake::~Intake() { flush(std::chrono::milliseconds(0)); }

void Intake::add_routes(http::Router& router) {
  auto route = [this, &router](http::Verb verb, std::string pattern, std::string name, auto member) {
    router.add(verb, std::move(pattern), std::move(name),
               [this, member](const http::Request& req, const http::Params& params, http::Responder res) {
                 if constexpr (std::is_invocable_v<decltype(member), Intake*, const http::Request&, http::Responder>) {
                   (void)params;
                   std::invoke(member, this, req, std::move(res));
                 } else {
                   std::invoke(member, this, params, req, std::move(res));
                 }
               });
  };
  route(http::Verb::post, "/api/v1/reports", "reports", &Intake::post_report);
  if (cfg_.noop_route) {
    // The benchmarks' baseline: the same server, connection handling and
    // body reading, and nothing else.
    router.add(http::Verb::post, "/bench/noop", "bench_noop", [](const http::Request&, const http::Params&,
                                                                 http::Responder res) {
      res.send(http::make_response(http::Status::accepted, R"({"status":"accepted"})"));
    });
  }
  route(http::Verb::get, "/api/v1/reports/{id}", "report", &Intake::get_report);
  router.add(http::Verb::get, "/open311/v2/services.json", "open311_services",
             [this](const http::Request& req, const http::Params&, http::Responder res) {
               if (admit(req, res, Api::kOpen311, Scope{0}, nullptr)) {
                 res.send(http::make_response(http::Status::ok, open311::services_json(registry_)));
               }
             });
  router.add(http::Verb::get, "/open311/v2/services/{file}", "open311_service",
             [this](const http::Request& req, const http::Params& params, http::Responder res) {
               if (!admit(req, res, Api::kOpen311, Scope{0}, nullptr)) return;
               const std::string& file = params.front().second;
               auto body = file.ends_with(".json") ? open311::service_definition_json(
                                                         registry_, std::string_view(file).substr(0, file.size() - 5))
                                                   : std::nullopt;
               if (!body) {
                 return res.send(error_for(true, http::Status::not_found, "not_found",
                                           "no such service: " + echo(file) +
                                               " (services are listed at /open311/v2/services.json; only the "
                                               ".json format is served)"));
               }
               res.send(http::make_response(http::Status::ok, *body));
             });
  route(http::Verb::post, "/open311/v2/requests.json", "open311_requests", &Intake::post_open311);
  route(http::Verb::get, "/open311/v2/requests.json", "open311_requests", &Intake::get_open311_requests);
  route(http::Verb::get, "/open311/v2/requests/{file}", "open311_request", &Intake::get_open311_request);
}

// ---------------------------------------------------------------- admission

void Intake::refuse(const http::Responder& res, Api api, http::Status status, std::string_view code,
                    const std::string& message) const {
  res.send(error_for(api == Api::kOpen311, status, code, message));
}

std::optional<Principal> Intake::admit(const http::Request& req, const http::Responder& res, Api api,
                                            Scope scope, const std::string* api_key_param) {
  const TimePoint now = clock_.now();
  auto limited = [&](const TokenBuckets::Decision& d, std::string_view who) {
    m_->rate_limited.Increment();
    http::Response r = error_for(api == Api::kOpen311, http::Status::too_many_requests, "rate_limited",
                                 "too many requests from this " + std::string(who) + "; retry in " +
                                     std::to_string(d.retry_after_s) + "s");
    r.set(http::beast_http::field::retry_after, std::to_string(d.retry_after_s));
    res.send(std::move(r));
  };
  if (auto d = per_ip_.take(res.peer(), now); !d.allowed) {
    limited(d, "address");
    return std::nullopt;
  }
  if (!keys_.enabled()) return Principal{"", kSubmit | kRead};
  std::string key(req["X-API-Key"]);
  if (key.empty() && api_key_param != nullptr) key = *api_key_param;
  if (key.empty()) {
    if (auto q = http::query_param(req.target(), "api_key")) key = *q;
  }
  if (scope == Scope{0} && key.empty()) return Principal{};  // public: service discovery
  if (key.empty()) {
    m_->unauthorized.Increment();
    http::Response r = error_for(api == Api::kOpen311, http::Status::unauthorized, "unauthorized",
                                 "an API key is required: send it as the X-API-Key header" +
                                     std::string(api == Api::kOpen311 ? " or the api_key parameter" : ""));
    r.set(http::beast_http::field::www_authenticate, "ApiKey header=\"X-API-Key\"");
    res.send(std::move(r));
    return std::nullopt;
  }
  auto p = keys_.find(key);
  if (!p) {
    m_->unauthorized.Increment();
    http::Response r =
        error_for(api == Api::kOpen311, http::Status::unauthorized, "unauthorized", "the API key is not valid");
    r.set(http::beast_http::field::www_authenticate, "ApiKey header=\"X-API-Key\"");
    res.send(std::move(r));
    return std::nullopt;
  }
  if (scope != Scope{0} && !p->can(scope)) {
    m_->unauthorized.Increment();
    refuse(res, api, http::Status::forbidden, "forbidden",
           "the API key '" + p->name + "' lacks the scope '" + (scope == kSubmit ? "submit" : "read") + "'");
    return std::nullopt;
  }
  if (auto d = per_key_.take(p->name, now); !d.allowed) {
    limited(d, "API key");
    return std::nullopt;
  }
  return p;
}

// ---------------------------------------------------------------- native API

void Intake::post_report(const http::Request& req, http::Responder res) {
  auto caller = admit(req, res, Api::kNative, kSubmit, nullptr);
  if (!caller) return;
  const std::string media = lower_media_type(req[http::beast_http::field::content_type]);
  if (media != "application/json") {
    m_->invalid.Increment();
    return refuse(res, Api::kNative, http::Status::unsupported_media_type, "unsupported_media_type",
                  "Content-Type must be application/json, got '" +
                      echo(req[http::beast_http::field::content_type]) + "'");
  }
  auto parsed = parse_report(req.body(), registry_, clock_.now(), cfg_.limits);
  if (auto* rej = std::get_if<Rejection>(&parsed)) {
    m_->invalid.Increment();
    return res.send(http::make_response(static_cast<http::Status>(rej->status), to_json(*rej)));
  }
  submit(std::get<Report>(std::move(parsed)), Api::kNative, *caller, req, std::move(res));
}

void Intake::get_report(const http::Params& params, const http::Request& req, http::Responder res) {
  if (!admit(req, res, Api::kNative, kRead, nullptr)) return;
  const std::string& id = params.front().second;
  auto s = store_.get(id);
  if (!s) {
    return refuse(res, Api::kNative, http::Status::not_found, "not_found",
                  "no report with id '" + echo(id) + "' is known here (reports are kept for lookup while "
                  "they are among the last intake.status.max_reports)");
  }
  res.send(http::make_response(http::Status::ok, json::serialize(report_json(*s))));
}

// ---------------------------------------------------------------- Open311

void Intake::post_open311(const http::Request& req, http::Responder res) {
  const std::string media = lower_media_type(req[http::beast_http::field::content_type]);
  open311::Params params;
  if (media == "application/x-www-form-urlencoded") {
    params = http::parse_form(req.body());
  } else if (media == "application/json") {
    auto p = open311::params_from_json(req.body());
    if (auto* rej = std::get_if<open311::Rejected>(&p)) {
      m_->invalid.Increment();
      return res.send(http::make_response(static_cast<http::Status>(rej->status), open311::to_json(rej->errors)));
    }
    params = std::get<open311::Params>(std::move(p));
  } else {
    m_->invalid.Increment();
    return refuse(res, Api::kOpen311, http::Status::unsupported_media_type, "unsupported_media_type",
                  "Content-Type must be application/x-www-form-urlencoded or application/json, got '" +
                      echo(req[http::beast_http::field::content_type]) + "'");
  }
  const std::string* key = nullptr;
  for (const auto& [k, v] : params) {
    if (k == "api_key") key = &v;
  }
  auto caller = admit(req, res, Api::kOpen311, kSubmit, key);
  if (!caller) return;
  auto parsed = open311::parse_request(params, registry_, clock_.now(), cfg_.limits);
  if (auto* rej = std::get_if<open311::Rejected>(&parsed)) {
    m_->invalid.Increment();
    return res.send(http::make_response(static_cast<http::Status>(rej->status), open311::to_json(rej->errors)));
  }
  submit(std::get<Report>(std::move(parsed)), Api::kOpen311, *caller, req, std::move(res));
}

void Intake::get_open311_requests(const http::Request& req, http::Responder res) {
  if (!admit(req, res, Api::kOpen311, kRead, nullptr)) return;
  const std::string_view target = req.target();
  const std::size_t q = target.find('?');
  const auto params = http::parse_form(q == std::string_view::npos ? std::string_view() : target.substr(q + 1));
  auto query = open311::parse_query(params, registry_, clock_.now());
  if (auto* rej = std::get_if<open311::Rejected>(&query)) {
    return res.send(http::make_response(static_cast<http::Status>(rej->status), open311::to_json(rej->errors)));
  }
  res.send(http::make_response(http::Status::ok,
                               open311::requests_json(store_.query(std::get<ReportQuery>(query)), registry_)));
}

void Intake::get_open311_request(const http::Params& params, const http::Request& req, http::Responder res) {
  if (!admit(req, res, Api::kOpen311, kRead, nullptr)) return;
  const std::string& file = params.front().second;
  if (!file.ends_with(".json")) {
    return refuse(res, Api::kOpen311, http::Status::not_found, "not_found",
                  "only the .json format is served: /open311/v2/requests/{service_request_id}.json");
  }
  auto s = store_.get(std::string_view(file).substr(0, file.size() - 5));
  if (!s) {
    return refuse(res, Api::kOpen311, http::Status::not_found, "not_found",
                  "no service request with id '" + echo(file) + "' is known here");
  }
  res.send(http::make_response(http::Status::ok, open311::requests_json({*s}, registry_)));
}

// ---------------------------------------------------------------- submission

void Intake::submit(Report report, Api api, const Principal& caller, const http::Request& req, http::Responder res) {
  const TimePoint now = clock_.now();
  std::string key(req["Idempotency-Key"]);
  if (key.size() > kMaxIdempotencyKey ||
      std::any_of(key.begin(), key.end(), [](char c) { return c < 0x21 || c > 0x7e; })) {
    m_->invalid.Increment();
    return refuse(res, api, http::Status::bad_request, "invalid_idempotency_key",
                  "Idempotency-Key must be 1-" + std::to_string(kMaxIdempotencyKey) +
                      " printable ASCII characters without spaces");
  }
  if (key.empty() && !report.id.empty()) key = "id:" + report.id;  // the client's own report id
  auto s = std::make_shared<Submission>(Submission{std::move(report), {}, api, {}, std::move(res)});
  if (!key.empty()) {
    if (!index_ready_.load() && producer_.connected()) {
      // Until the reports stored before this start are read back, a retry
      // could not be told from a new report.
      http::Response r = error_for(api == Api::kOpen311, http::Status::service_unavailable, "starting",
                                   "the intake is loading the idempotency keys of stored reports; retry shortly");
      r.set(http::beast_http::field::retry_after, "1");
      return s->res.send(std::move(r));
    }
    s->idempotency_scope = caller.name + '\x1f' + key;
    const auto begun = idempotency_.begin(s->idempotency_scope, fingerprint(req), now);
    switch (begun.kind) {
      case IdempotencyCache::Begin::kNew: break;
      case IdempotencyCache::Begin::kReplay: {
        m_->replayed.Increment();
        http::Response r = http::make_response(static_cast<http::Status>(begun.response.status), begun.response.body);
        r.set("Idempotent-Replayed", "true");
        return s->res.send(std::move(r));
      }
      case IdempotencyCache::Begin::kInProgress: {
        http::Response r = error_for(api == Api::kOpen311, http::Status::conflict, "request_in_progress",
                                     "a request with this Idempotency-Key is still being processed; retry shortly");
        r.set(http::beast_http::field::retry_after, "1");
        return s->res.send(std::move(r));
      }
      case IdempotencyCache::Begin::kMismatch:
        m_->invalid.Increment();
        return refuse(s->res, api, http::Status::unprocessable_entity, "idempotency_key_reused",
                      "this Idempotency-Key was used for a different request; use a new key for a new report");
    }
    s->report.idempotency_key = key;
  }
  Report& r = s->report;
  if (r.id.empty()) r.id = ids_.next();
  r.received_at = now;
  r.source = std::string(api_name(api == Api::kOpen311));
  r.client = caller.name;
  codec::encode(r, s->bytes);
  store_.put(r, Delivery::kReceived);
  handoff_->submit({r.id, s->res.request_id(), r.district, std::move(s->bytes)}, [this, s](const Verdict& v) {
    switch (v.kind) {
      case Verdict::Kind::kAccepted: return complete(*s, Delivery::kDelivered);
      case Verdict::Kind::kQueued: return complete(*s, Delivery::kQueued);
      case Verdict::Kind::kBrokerUnavailable: return fail(*s, "broker_unavailable", v.why);
      case Verdict::Kind::kSpoolRefused: return fail(*s, "unavailable", v.why);
    }
  });
}

http::Response Intake::stored_response(const Report& r, Api api, Delivery delivery) const {
  const bool queued = delivery == Delivery::kQueued;
  if (api == Api::kOpen311) {
    json::object o{{"service_request_id", r.id},
                   {"service_notice", queued ? "queued at intake; it will be delivered when the broker is reachable"
                                             : ""},
                   {"account_id", nullptr}};
    return http::make_response(http::Status::created, json::serialize(json::array{o}));
  }
  json::object o{{"id", r.id}, {"status", queued ? "queued" : "accepted"}, {"district", r.district},
                 {"category", r.category}};
  if (queued) o["message"] = "stored at intake; it will be delivered when the broker is reachable";
  return http::make_response(http::Status::accepted, json::serialize(o));
}

void Intake::remember(const Report& r, Delivery delivery) {
  store_.put(r, delivery);
  if (r.idempotency_key.empty()) return;
  const http::Response resp = stored_response(r, r.source == "open311" ? Api::kOpen311 : Api::kNative, delivery);
  idempotency_.learn(r.client + '\x1f' + r.idempotency_key, {resp.result_int(), resp.body()}, r.received_at,
                     clock_.now());
}

void Intake::complete(const Submission& s, Delivery delivery) {
  (delivery == Delivery::kQueued ? m_->queued : m_->accepted).Increment();
  store_.put(s.report, delivery);
  http::Response r = stored_response(s.report, s.api, delivery);
  if (!s.idempotency_scope.empty()) idempotency_.finish(s.idempotency_scope, {r.result_int(), r.body()});
  s.res.send(std::move(r));
}

void Intake::fail(const Submission& s, std::string_view code, const std::string& why) {
  m_->unavailable.Increment();
  if (!s.idempotency_scope.empty()) idempotency_.abandon(s.idempotency_scope);
  http::Response r = error_for(s.api == Api::kOpen311, http::Status::service_unavailable, code,
                               "the report was not stored: " + why + "; retry later");
  r.set(http::beast_http::field::retry_after, std::to_string(cfg_.retry_after.count()));
  s.res.send(std::move(r));
}

// ---------------------------------------------------------------- follower

// Rebuilds the report index and the idempotency keys from ioc.reports.v1,
// and applies operator updates from the status topic. Malformed updates
// past the group's committed offsets are dead-lettered once.
void Intake::follow_loop() {
  try {
    kafka::Consumer::Options o;
    o.group_id = cfg_.common.service + "-status";
    kafka::Consumer consumer(cfg_.common.kafka, o);
    auto status_parts = whole_topic(cfg_.common, cfg_.status_topic);
    std::vector<std::int64_t> frontier(status_parts.size(), -1);
    while (!stop_.load()) {
      auto committed = consumer.committed(status_parts, std::chrono::seconds(5));
      if (committed.ok()) {
        for (const auto& tp : *committed) {
          if (tp.partition >= 0 && static_cast<std::size_t>(tp.partition) < frontier.size()) {
            frontier[static_cast<std::size_t>(tp.partition)] = tp.offset < 0 ? 0 : tp.offset;
          }
        }
        break;
      }
    }
    if (stop_.load()) return;
    auto parts = whole_topic(cfg_.common, cfg_.topic);
    // Retries are recognised once every report stored before this start
    // has been read back.
    std::vector<std::int64_t> report_end(parts.size(), 0);
    {
      kafka::Admin admin(cfg_.common.kafka);
      for (std::size_t p = 0; p < parts.size() && !stop_.load(); ++p) {
        Result<kafka::Watermarks> w = admin.watermarks(cfg_.topic, parts[p].partition, std::chrono::seconds(5));
        while (!w.ok() && !stop_.load()) w = admin.watermarks(cfg_.topic, parts[p].partition, std::chrono::seconds(5));
        if (w.ok()) report_end[p] = w->log_end > w->log_start ? w->log_end : 0;
      }
    }
    if (stop_.load()) return;
    std::vector<std::int64_t> report_pos(parts.size(), 0);
    std::vector<std::int64_t> next(status_parts.size(), -1);
    auto check_caught_up = [&] {
      for (std::size_t p = 0; p < parts.size(); ++p) {
        if (report_pos[p] < report_end[p]) return;
      }
      index_ready_.store(true);
      log::info("report index caught up", {{"reports", static_cast<std::int64_t>(store_.size())},
                                           {"idempotency_keys", static_cast<std::int64_t>(idempotency_.size())},
                                           {"following_reports", cfg_.follow_reports}});
      if (cfg_.follow_reports) return;
      // Only operator updates from now on: this intake indexes its own
      // reports as it stores them.
      std::vector<kafka::TopicPartition> rest = status_parts;
      for (std::size_t p = 0; p < rest.size(); ++p) {
        if (next[p] >= 0) rest[p].offset = next[p];
      }
      consumer.assign(rest);
    };
    const auto all = [&] {
      auto v = parts;
      v.insert(v.end(), status_parts.begin(), status_parts.end());
      return v;
    }();
    consumer.assign(all);
    check_caught_up();
    const kafka::DeadLetters dead_letters(cfg_.deadletter_topic, cfg_.common.service, producer_);
    MonotonicTime last_commit = clock_.monotonic();
    while (!stop_.load()) {
      for (const kafka::Message& msg : consumer.poll(500, std::chrono::milliseconds(200))) {
        if (msg.topic() == cfg_.topic) {
          if (static_cast<std::size_t>(msg.partition()) < report_pos.size()) {
            report_pos[static_cast<std::size_t>(msg.partition())] = msg.offset() + 1;
          }
          Report r;
          if (codec::decode(msg.value(), r).ok()) remember(r, Delivery::kDelivered);  // else: the aggregator dead-letters it
          continue;
        }
        const auto p = static_cast<std::size_t>(msg.partition());
        if (p < next.size()) next[p] = msg.offset() + 1;
        ReportStatus u;
        Status st = codec::decode(msg.value(), u);
        if (st.ok()) {
          store_.apply(u);
          m_->updates_applied.Increment();
          continue;
        }
        if (p < frontier.size() && msg.offset() < frontier[p]) continue;  // dead-lettered before
        m_->updates_invalid.Increment();
        log::warn("invalid report status update dead-lettered",
                  {{"partition", msg.partition()}, {"offset", msg.offset()}, {"error", st.error().message}});
        (void)dead_letters.send(msg.view(), st.error().message);
      }
      if (!index_ready_.load()) check_caught_up();
      if (clock_.monotonic() - last_commit > std::chrono::seconds(5)) {
        last_commit = clock_.monotonic();
        std::vector<kafka::TopicPartition> done;
        for (std::size_t p = 0; p < next.size(); ++p) {
          if (next[p] > frontier[p]) done.push_back({cfg_.status_topic, static_cast<std::int32_t>(p), next[p], {}});
        }
        if (!done.empty() && consumer.commit(done, std::chrono::seconds(2)).ok()) {
          for (const auto& tp : done) frontier[static_cast<std::size_t>(tp.partition)] = tp.offset;
        }
      }
    }
  } catch (const std::exception& e) {
    log::error("report index stopped; status lookups only know reports submitted since start",
               {{"error", e.what()}});
  }
}

// ---------------------------------------------------------------- process

metrics::Readiness Intake::readiness() const {
  const bool broker = producer_.connected();
  metrics::Readiness r;
  r.details["broker_connected"] = broker;
  r.details["report_index_ready"] = index_ready_.load();
  if (spool_) {
    r.details["spool_depth"] = spool_->depth();
    r.details["spool_held"] = spool_->held();
    r.details["spool_bytes"] = spool_->bytes();
  }
  if (broker || (spool_ && spool_->bytes() < cfg_.spool.max_bytes)) return r;
  r.ready = false;
  r.reason = "kafka brokers unreachable (" + cfg_.common.kafka.bootstrap_servers + ")" +
             (spool_ ? " and the spool is full" : " and no spool is configured");
  return r;
}

void Intake::refresh_gauges() {
  m_->connected.Set(producer_.connected() ? 1 : 0);
  m_->in_flight.Set(static_cast<double>(producer_.in_flight()));
  if (spool_) {
    m_->spool_depth.Set(static_cast<double>(spool_->depth()));
    m_->spool_held.Set(static_cast<double>(spool_->held()));
    m_->spool_bytes.Set(static_cast<double>(spool_->bytes()));
  }
  m_->indexed.Set(static_cast<double>(store_.size()));
  m_->idempotency_keys.Set(static_cast<double>(idempotency_.size()));
}

void Intake::reload_keys() {
  if (!keys_.enabled()) return log::info("no keys file to reload (authentication is off)");
  if (Status s = keys_.reload(); !s.ok()) {
    return log::error("keys file not reloaded; the previous keys stay in force", {{"error", s.error().message}});
  }
  m_->api_keys.Set(static_cast<double>(keys_.size()));
  log::info("keys reloaded", {{"file", keys_.file()}, {"keys", static_cast<std::int64_t>(keys_.size())}});
}

void Intake::flush(std::chrono::milliseconds timeout) {
  stop_.store(true);
  handoff_->stop();
  // Reports still waiting for the broker either get their acknowledgement or
  // fail over to the spool, which therefore closes last. Records still in
  // flight after `timeout` are given up: their reports are in the spool
  // (held ones already), replayed at the next start.
  if (Status s = producer_.flush(timeout); !s.ok()) {
    log::warn("records not acknowledged at shutdown; their reports stay in the spool",
              {{"records", producer_.in_flight()}, {"error", s.error().message}});
  }
  producer_.purge();
  if (follower_.joinable()) follower_.join();
  if (spool_) spool_->close();
}

int run(const Config& cfg) {
  if (cfg.common.check_only) {
    if (!cfg.keys_file.empty()) KeyRing check(cfg.keys_file);  // throws ConfigError when invalid
    return daemon::config_ok(cfg.common);
  }
  log::init(cfg.common.service, cfg.common.log_level);
  daemon::check_topics(cfg.common, {cfg.topic, cfg.status_topic});
  const Registry registry = daemon::load_registry(cfg.common);
  daemon::Front front(cfg.common, 2);
  Intake intake(cfg, registry, SystemClock::instance(), front.registry());
  intake.add_routes(front.router());
  front.on_reload([&intake] { intake.reload_keys(); });
  front.every(std::chrono::seconds(1), [&intake] { intake.refresh_gauges(); });
  front.start([&intake] { return intake.readiness(); });
  if (cfg.keys_file.empty()) {
    log::warn("authentication is off: anyone who reaches this port can submit and read reports "
              "(set intake.auth.keys_file)");
  }
  if (cfg.spool.dir.empty()) log::warn("the spool is off: reports get 503 while the broker is unreachable");
  log::info("intake ready", {{"topic", cfg.topic},
                             {"bootstrap_servers", cfg.common.kafka.bootstrap_servers},
                             {"spool", cfg.spool.dir},
                             {"auth", cfg.keys_file.empty() ? "off" : cfg.keys_file},
                             {"districts", static_cast<std::int64_t>(registry.districts().size())},
                             {"categories", static_cast<std::int64_t>(registry.categories().size())}});
  const int sig = front.wait_for_signal();
  log::info("shutting down", {{"signal", sig}});
  // Drain HTTP first: requests waiting for the broker still get their answer.
  front.stop(cfg.delivery_timeout);
  intake.flush(cfg.delivery_timeout);
  front.shutdown_done(0);
  return 0;
}

}  // namespace ioc::intake
