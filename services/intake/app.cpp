#include "app.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "ioc/codec/codec.hpp"
#include "ioc/core/log.hpp"

namespace ioc::intake {

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
  c.delivery_timeout =
      src.get_duration("intake.delivery_timeout", std::chrono::seconds(10), std::chrono::milliseconds(100));
  c.retry_after = std::chrono::duration_cast<std::chrono::seconds>(
      src.get_duration("intake.retry_after", std::chrono::seconds(5), std::chrono::seconds(1)));
  daemon::finish(src, "intake");
  return c;
}

namespace {

kafka::Producer::Options producer_options(const Config& cfg) {
  kafka::Producer::Options o;
  o.delivery_timeout = cfg.delivery_timeout;
  // A reporter is waiting: send at once. Under concurrent load librdkafka still
  // batches what accumulates while a request is in flight.
  o.linger = std::chrono::milliseconds(0);
  return o;
}

bool is_json_content_type(std::string_view ct) {
  const std::string_view media = ct.substr(0, ct.find(';'));
  std::string lower;
  for (const char c : media) {
    if (c != ' ') lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return lower == "application/json";
}

}  // namespace

Intake::Intake(const Config& cfg, const Registry& registry, const Clock& clock, prometheus::Registry& metrics)
    : cfg_(cfg),
      registry_(registry),
      clock_(clock),
      ids_(clock),
      outcomes_(prometheus::BuildCounter()
                    .Name("ioc_intake_reports_total")
                    .Help("Report submissions by outcome: accepted (stored by the broker), invalid (4xx), "
                          "unavailable (503, broker unreachable or too slow)")
                    .Register(metrics)),
      accepted_(outcomes_.Add({{"outcome", "accepted"}})),
      invalid_(outcomes_.Add({{"outcome", "invalid"}})),
      unavailable_(outcomes_.Add({{"outcome", "unavailable"}})),
      connected_(prometheus::BuildGauge()
                     .Name("ioc_intake_broker_connected")
                     .Help("1 when the Kafka brokers answered the last probe")
                     .Register(metrics)
                     .Add({})),
      in_flight_(prometheus::BuildGauge()
                     .Name("ioc_intake_records_in_flight")
                     .Help("Reports handed to the producer and not yet acknowledged by the broker")
                     .Register(metrics)
                     .Add({})),
      producer_(cfg.common.kafka,
                producer_options(cfg)) {}

void Intake::add_routes(http::Router& router) {
  router.add(http::Verb::post, "/api/v1/reports", "reports",
             [this](const http::Request& req, const http::Params&, http::Responder res) {
               post_report(req, std::move(res));
             });
}

metrics::Readiness Intake::readiness() const {
  if (producer_.connected()) return {};
  return {false, "kafka brokers unreachable (" + cfg_.common.kafka.bootstrap_servers + ")"};
}

void Intake::refresh_gauges() {
  connected_.Set(producer_.connected() ? 1 : 0);
  in_flight_.Set(static_cast<double>(producer_.in_flight()));
}

void Intake::flush(std::chrono::milliseconds timeout) {
  if (Status s = producer_.flush(timeout); !s.ok()) {
    log::error("reports not acknowledged at shutdown", {{"error", s.error().message}});
  }
}

http::Response Intake::unavailable(std::string_view why) const {
  unavailable_.Increment();
  http::Response res = http::error_response(http::Status::service_unavailable, "broker_unavailable",
                                            std::string("the report was not stored: ") + std::string(why) +
                                                "; retry later");
  res.set(http::beast_http::field::retry_after, std::to_string(cfg_.retry_after.count()));
  return res;
}

void Intake::post_report(const http::Request& req, http::Responder res) {
  if (!is_json_content_type(req[http::beast_http::field::content_type])) {
    invalid_.Increment();
    return res.send(http::error_response(
        http::Status::unsupported_media_type, "unsupported_media_type",
        "Content-Type must be application/json, got '" + std::string(req[http::beast_http::field::content_type]) + "'"));
  }
  const TimePoint now = clock_.now();
  auto parsed = parse_report(req.body(), registry_, now, cfg_.limits);
  if (auto* rej = std::get_if<Rejection>(&parsed)) {
    invalid_.Increment();
    return res.send(http::make_response(static_cast<http::Status>(rej->status), to_json(*rej)));
  }
  Report report = std::get<Report>(std::move(parsed));
  if (!producer_.connected()) return res.send(unavailable("kafka brokers unreachable"));

  report.id = ids_.next();
  report.received_at = now;
  report.source = "api";
  std::string bytes;
  codec::encode(report, bytes);
  Status queued = producer_.produce(
      cfg_.topic, report.district, bytes,
      [this, res, id = report.id, district = report.district,
       category = report.category](const kafka::DeliveryReport& d) {
        if (!d.status.ok()) {
          log::warn("report not stored", {{"id", id}, {"error", d.status.error().message}});
          return res.send(unavailable(d.status.error().message));
        }
        accepted_.Increment();
        boost::json::object o{{"id", id}, {"status", "accepted"}, {"district", district}, {"category", category}};
        res.send(http::make_response(http::Status::accepted, boost::json::serialize(o)));
      });
  if (!queued.ok()) res.send(unavailable(queued.error().message));
}

int run(const Config& cfg) {
  log::init(cfg.common.service, cfg.common.log_level);
  daemon::check_topics(cfg.common, {cfg.topic});
  const Registry registry = daemon::load_registry(cfg.common);
  daemon::Front front(cfg.common, 2);
  Intake intake(cfg, registry, SystemClock::instance(), front.registry());
  intake.add_routes(front.router());
  front.every(std::chrono::seconds(1), [&intake] { intake.refresh_gauges(); });
  front.start([&intake] { return intake.readiness(); });
  log::info("intake ready", {{"topic", cfg.topic},
                             {"bootstrap_servers", cfg.common.kafka.bootstrap_servers},
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
