#include "generator.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cmath>
#include <cstdio>

#include "ioc/core/time_format.hpp"

namespace ioc::sim {
namespace {

// Relative frequency of report categories by code; unknown codes get 1.
double category_weight(const std::string& code) {
  static const std::pair<const char*, double> kWeights[] = {{"flood", 25},       {"traffic_accident", 15},
                                                            {"road_damage", 12}, {"utility_outage", 10},
                                                            {"pollution", 8},    {"public_order", 8},
                                                            {"fire", 6},         {"health_emergency", 6},
                                                            {"landslide", 5},    {"other", 5}};
  for (const auto& [c, w] : kWeights) {
    if (code == c) return w;
  }
  return 1;
}

constexpr const char* kServices[] = {"1.001234", "1.004227", "2.000012", "1.010044", "2.001880", "1.003505"};
constexpr const char* kDescriptions[] = {"Nước ngập sâu trên đường, xe máy chết máy",
                                         "Va chạm giữa xe tải và xe máy",
                                         "Mặt đường sụt lún, ổ gà lớn",
                                         "Mất điện cả khu dân cư",
                                         "Khói bụi từ bãi rác",
                                         "Tụ tập gây rối trật tự",
                                         "Cháy nhà dân, cần hỗ trợ",
                                         "Người bị thương cần cấp cứu",
                                         "Sạt lở taluy dương",
                                         "Phản ánh khác"};

// The US EPA air quality index of a PM2.5 concentration (µg/m³, 2012
// breakpoints): linear between the breakpoints, 500 at most.
double aqi_of_pm25(double pm25) {
  struct Band {
    double c_lo, c_hi, i_lo, i_hi;
  };
  static constexpr Band kBands[] = {{0.0, 12.0, 0, 50},       {12.1, 35.4, 51, 100},   {35.5, 55.4, 101, 150},
                                    {55.5, 150.4, 151, 200},  {150.5, 250.4, 201, 300}, {250.5, 500.4, 301, 500}};
  const double c = std::floor(std::max(0.0, pm25) * 10) / 10;  // the index truncates to 0.1 µg/m³
  for (const Band& b : kBands) {
    if (c <= b.c_hi) return std::round(b.i_lo + (b.i_hi - b.i_lo) * (std::max(c, b.c_lo) - b.c_lo) / (b.c_hi - b.c_lo));
  }
  return 500;
}

}  // namespace

Generator::Generator(const Registry& registry, GeneratorOptions options)
    : registry_(registry), options_(std::move(options)), rng_(options_.seed) {
  std::vector<double> cw;
  for (const auto& c : registry.categories()) cw.push_back(category_weight(c.code));
  category_ = std::discrete_distribution<int>(cw.begin(), cw.end());
  // The first district (the provincial city) is busiest; the rest vary.
  std::vector<double> dw;
  std::uniform_real_distribution<double> spread(0.5, 1.5);
  for (std::size_t i = 0; i < registry.districts().size(); ++i) dw.push_back(i == 0 ? 4.0 : spread(rng_));
  district_ = std::discrete_distribution<int>(dw.begin(), dw.end());
  // Online application rates differ widely between districts (17% .. 80%).
  std::uniform_real_distribution<double> online(0.17, 0.85);
  for (std::size_t i = 0; i < registry.districts().size(); ++i) online_rate_.push_back(online(rng_));
  std::bernoulli_distribution silent(options_.silent_station_fraction);
  const auto& districts = registry.districts();
  for (int i = 0; i < options_.stations; ++i) {
    const std::string& d = districts[static_cast<std::size_t>(i) % districts.size()].code;
    char id[64];
    std::snprintf(id, sizeof id, "bts-%s-%04d", d.c_str(), i / static_cast<int>(districts.size()));
    if (silent(rng_)) {
      silent_.emplace_back(id);
    } else {
      stations_.push_back({id, d, TelemetryKind::kBtsHeartbeat});
    }
  }
  for (std::size_t i = 0; i < districts.size(); ++i) {  // a water level and a rain gauge per district
    stations_.push_back({"wl-" + districts[i].code, districts[i].code, TelemetryKind::kWaterLevel});
    stations_.push_back({"rain-" + districts[i].code, districts[i].code, TelemetryKind::kRainfall});
  }
}

std::string report_json(const Report& r) {
  boost::json::object o;
  o["category"] = r.category;
  o["district"] = r.district;
  o["description"] = r.description;
  if (r.location) o["location"] = {{"lat", r.location->lat}, {"lon", r.location->lon}};
  o["occurred_at"] = format_rfc3339(r.occurred_at);
  o["reporter_id"] = r.reporter_id;
  if (!r.media_urls.empty()) {
    boost::json::array media;
    for (const auto& u : r.media_urls) media.emplace_back(u);
    o["media_urls"] = std::move(media);
  }
  return boost::json::serialize(o);
}

Report Generator::next_report(TimePoint now) {
  const auto& district = registry_.district(static_cast<Registry::Index>(district_(rng_)));
  const int ci = category_(rng_);
  const auto& category = registry_.category(static_cast<Registry::Index>(ci));
  // Most reports are sent within seconds of the event; a few much later.
  std::exponential_distribution<double> delay_s(1.0 / 4.0);
  std::int64_t delay_ms = static_cast<std::int64_t>(std::min(delay_s(rng_), 60.0) * 1000);
  if (std::bernoulli_distribution(options_.delayed_report_fraction)(rng_)) {
    delay_ms = std::uniform_int_distribution<std::int64_t>(60'000, 180'000)(rng_);
  }
  std::uniform_real_distribution<double> lat(19.3, 20.7);
  std::uniform_real_distribution<double> lon(104.4, 106.1);
  Report r;
  r.category = category.code;
  r.district = district.code;
  r.description = kDescriptions[static_cast<std::size_t>(ci) % std::size(kDescriptions)];
  const double la = lat(rng_);
  r.location = GeoPoint{la, lon(rng_)};
  r.occurred_at = now - Millis(delay_ms);
  r.reporter_id = "sim-" + std::to_string(std::uniform_int_distribution<int>(1, 500)(rng_));
  if (std::bernoulli_distribution(0.3)(rng_)) {
    r.media_urls = {"https://media.example.org/ioc/" + std::to_string(++sequence_) + ".jpg"};
  }
  return r;
}

ServiceTransaction Generator::next_transaction(TimePoint now) {
  const int di = district_(rng_);
  ServiceTransaction t;
  t.id = "app-" + std::to_string(options_.seed) + "-" + std::to_string(++sequence_);
  t.district = registry_.district(static_cast<Registry::Index>(di)).code;
  t.service_code = kServices[std::uniform_int_distribution<std::size_t>(0, std::size(kServices) - 1)(rng_)];
  t.service_level = std::bernoulli_distribution(0.3)(rng_) ? ServiceLevel::kFullOnline : ServiceLevel::kPartialOnline;
  double online = online_rate_[static_cast<std::size_t>(di)];
  if (options_.timeline.active(ScenarioKind::kPortalOutage, now, t.district) != nullptr) {
    online *= 0.05;  // the portal is down: almost everyone queues at the counter
  }
  t.channel = std::bernoulli_distribution(online)(rng_) ? Channel::kOnline : Channel::kCounter;
  const double r = std::uniform_real_distribution<double>(0, 1)(rng_);
  t.status = r < 0.5    ? TransactionStatus::kSubmitted
             : r < 0.95 ? TransactionStatus::kCompleted
                        : TransactionStatus::kOverdue;
  if (t.status != TransactionStatus::kSubmitted) {
    t.processing_ms = std::uniform_int_distribution<std::int64_t>(3'600'000, 15 * 86'400'000LL)(rng_);
  }
  t.occurred_at = now - Millis(std::uniform_int_distribution<int>(0, 2000)(rng_));
  if (const Scenario* late = options_.timeline.active(ScenarioKind::kLateData, now);
      late != nullptr && late->feed == "transactions") {
    t.occurred_at -= late->delay;
  }
  t.received_at = now;
  return t;
}

Telemetry Generator::next_telemetry(TimePoint now) {
  // Skip stations silenced by an outage (at most one round).
  const Station* pick = &stations_[next_station_++ % stations_.size()];
  for (std::size_t tries = 0; tries < stations_.size() && pick->kind == TelemetryKind::kBtsHeartbeat &&
                              options_.timeline.active(ScenarioKind::kBtsOutage, now, pick->district) != nullptr;
       ++tries) {
    pick = &stations_[next_station_++ % stations_.size()];
  }
  const Station& s = *pick;
  const Scenario* flood = options_.timeline.active(ScenarioKind::kFlood, now, s.district);
  const double crest = flood != nullptr ? options_.timeline.progress_peak(*flood, now) : 0.0;
  Telemetry m;
  m.source_id = s.id;
  m.district = s.district;
  m.kind = s.kind;
  switch (s.kind) {
    case TelemetryKind::kBtsHeartbeat:
      m.value = std::bernoulli_distribution(0.995)(rng_) ? 1.0 : 0.0;
      break;
    case TelemetryKind::kWaterLevel:
      m.value = std::normal_distribution<double>(2.5, 0.4)(rng_) + 3.5 * crest;  // a flood crest: +3.5 m
      m.unit = "m";
      break;
    case TelemetryKind::kRainfall:
      m.value = std::max(0.0, std::normal_distribution<double>(3, 4)(rng_)) + (flood != nullptr ? 20 + 30 * crest : 0);
      m.unit = "mm";
      break;
    case TelemetryKind::kAirQuality:
    case TelemetryKind::kPower:
    case TelemetryKind::kUnspecified:
      m.value = 1;
      break;
  }
  m.occurred_at = now - Millis(std::uniform_int_distribution<int>(0, 500)(rng_));
  if (const Scenario* late = options_.timeline.active(ScenarioKind::kLateData, now);
      late != nullptr && late->feed == "telemetry") {
    m.occurred_at -= late->delay;
  }
  m.received_at = now;
  return m;
}

AirQualityReading Generator::next_air_quality(TimePoint now) {
  // One station per district, in turn; the provincial city (the first
  // district) breathes the most traffic.
  const auto& districts = registry_.districts();
  const std::size_t i = next_air_station_++ % districts.size();
  AirQualityReading a;
  a.district = districts[i].code;
  a.station_id = "aq-" + a.district;
  const double median = i == 0 ? 35 : 22;  // µg/m³
  a.pm25 = std::round(std::lognormal_distribution<double>(std::log(median), 0.35)(rng_) * 10) / 10;
  a.pm10 = std::round(a.pm25 * std::uniform_real_distribution<double>(1.4, 2.0)(rng_) * 10) / 10;
  a.aqi = aqi_of_pm25(a.pm25);
  a.occurred_at = now - Millis(std::uniform_int_distribution<int>(0, 1000)(rng_));
  a.received_at = now;
  return a;
}

std::optional<Report> Generator::next_flood_report(TimePoint now) {
  const Scenario* flood = options_.timeline.active(ScenarioKind::kFlood, now);
  if (flood == nullptr) return std::nullopt;
  const bool landslide = std::bernoulli_distribution(0.3)(rng_);
  Report r;
  r.category = landslide ? "landslide" : "flood";
  r.district = flood->district;
  r.description = landslide ? "Sạt lở đất, đường bị chia cắt" : "Nước lên nhanh, nhà dân bị ngập";
  r.occurred_at = now - Millis(std::uniform_int_distribution<int>(0, 20'000)(rng_));
  r.reporter_id = "sim-" + std::to_string(std::uniform_int_distribution<int>(1, 500)(rng_));
  return r;
}

}  // namespace ioc::sim
