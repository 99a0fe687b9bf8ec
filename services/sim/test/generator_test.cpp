#include "generator.hpp"

#include <gtest/gtest.h>

#include <map>

#include "ioc/config/registry_loader.hpp"
#include "app.hpp"
#include "report_request.hpp"

namespace ioc::sim {
namespace {

Registry shipped() {
  const std::string dir = IOC_DEFAULT_CONFIG_DIR;
  return config::load_registry(dir + "/districts.yaml", dir + "/categories.yaml");
}

TEST(GeneratorTest, ReportsPassTheIntakeValidation) {
  const Registry reg = shipped();
  Generator gen(reg, {.seed = 7});
  const TimePoint now = from_epoch_ms(1719822600000);
  std::map<std::string, int> categories;
  for (int i = 0; i < 2000; ++i) {
    auto r = intake::parse_report(report_json(gen.next_report(now)), reg, now, intake::ReportLimits{});
    ASSERT_TRUE(std::holds_alternative<Report>(r)) << intake::to_json(std::get<intake::Rejection>(r));
    ++categories[std::get<Report>(r).category];
    EXPECT_LE(std::get<Report>(r).occurred_at, now);
  }
  EXPECT_EQ(categories.size(), reg.categories().size());
  EXPECT_GT(categories["flood"], categories["other"]);  // weighted like a rainy season
}

TEST(GeneratorTest, DeterministicForASeed) {
  const Registry reg = shipped();
  Generator a(reg, {.seed = 3});
  Generator b(reg, {.seed = 3});
  const TimePoint now = from_epoch_ms(1719822600000);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(a.next_report(now), b.next_report(now));
    EXPECT_EQ(a.next_transaction(now), b.next_transaction(now));
    EXPECT_EQ(a.next_telemetry(now), b.next_telemetry(now));
    EXPECT_EQ(a.next_air_quality(now), b.next_air_quality(now));
  }
}

TEST(GeneratorTest, AirQualityCoversEveryDistrictWithItsIndex) {
  const Registry reg = shipped();
  Generator gen(reg, {.seed = 13});
  const TimePoint now = from_epoch_ms(1719822600000);
  std::set<std::string> districts;
  for (std::size_t i = 0; i < 20 * reg.districts().size(); ++i) {
    const AirQualityReading a = gen.next_air_quality(now);
    districts.insert(a.district);
    EXPECT_EQ(a.station_id, "aq-" + a.district);
    EXPECT_GT(a.pm25, 0);
    EXPECT_GE(a.pm10, a.pm25);
    // The EPA index of PM2.5: 0-50 up to 12 µg/m³, 51-100 up to 35.4, 101-150 up to 55.4, ...
    if (a.pm25 <= 12.0) {
      EXPECT_LE(a.aqi, 50);
    } else if (a.pm25 <= 35.4) {
      EXPECT_TRUE(a.aqi >= 51 && a.aqi <= 100) << a.pm25 << " " << a.aqi;
    } else if (a.pm25 <= 55.4) {
      EXPECT_TRUE(a.aqi >= 101 && a.aqi <= 150) << a.pm25 << " " << a.aqi;
    }
    EXPECT_LE(a.aqi, 200) << "a normal day is never very unhealthy (AirQualityVeryUnhealthy stays quiet)";
  }
  EXPECT_EQ(districts.size(), reg.districts().size());
}

TEST(GeneratorTest, SilentStationsNeverHeartbeat) {
  const Registry reg = shipped();
  Generator gen(reg, {.seed = 5, .stations = 2000, .silent_station_fraction = 0.05});
  ASSERT_FALSE(gen.silent_stations().empty());
  std::set<std::string> seen;
  for (int i = 0; i < 5000; ++i) seen.insert(gen.next_telemetry(from_epoch_ms(0)).source_id);
  for (const auto& s : gen.silent_stations()) EXPECT_EQ(seen.count(s), 0u) << s;
  EXPECT_GT(seen.size(), 1800u);
}

TEST(GeneratorTest, TransactionsHaveDistrictSpecificOnlineRates) {
  const Registry reg = shipped();
  Generator gen(reg, {.seed = 11});
  std::map<std::string, std::pair<int, int>> online;  // district -> (online, total)
  for (int i = 0; i < 20000; ++i) {
    const ServiceTransaction t = gen.next_transaction(from_epoch_ms(0));
    ASSERT_TRUE(reg.district_index(t.district).has_value());
    auto& [on, total] = online[t.district];
    on += t.channel == Channel::kOnline;
    ++total;
  }
  double lo = 1;
  double hi = 0;
  for (const auto& [d, v] : online) {
    const double rate = static_cast<double>(v.first) / v.second;
    lo = std::min(lo, rate);
    hi = std::max(hi, rate);
  }
  EXPECT_GT(hi - lo, 0.2);  // districts differ, as the national figures do
}

}  // namespace
}  // namespace ioc::sim

namespace ioc::sim {
namespace {

using namespace std::chrono_literals;

const TimePoint kOrigin = from_epoch_ms(1719822600000);

Generator with(const Registry& reg, std::vector<Scenario> scenarios, std::uint64_t seed = 5) {
  GeneratorOptions o;
  o.seed = seed;
  o.timeline = Timeline(std::move(scenarios), kOrigin);
  return Generator(reg, o);
}

TEST(ScenarioTest, ListedScenariosNameKindPlaceStartAndDuration) {
  auto s = parse_scenario_item("flood:386:2h15m:20m");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->kind, ScenarioKind::kFlood);
  EXPECT_EQ(s->district, "386");
  EXPECT_EQ(s->start, 135min);
  EXPECT_EQ(s->duration, 20min);
  s = parse_scenario_item("portal-outage::2h:15m");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->district, "");
  s = parse_scenario_item("late-data:transactions:1h:10m");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->feed, "transactions");
  EXPECT_EQ(parse_scenario_item("flood:386:2h").error().message,
            "sim.scenarios: 'flood:386:2h' must be KIND:WHERE:START:DURATION, e.g. flood:386:2h15m:20m");
  EXPECT_FALSE(parse_scenario_item("volcano:386:1h:1m").ok());
  EXPECT_FALSE(parse_scenario_item("flood:386:soon:1m").ok());
}

TEST(ScenarioTest, AFloodSurgesReportsAndRaisesWaterInItsDistrictOnlyWhileItLasts) {
  const Registry reg = shipped();
  Scenario flood{.kind = ScenarioKind::kFlood, .district = "381", .start = 60s, .duration = 120s};
  ASSERT_TRUE(validate(flood, reg).ok());
  Generator gen = with(reg, {flood});
  EXPECT_FALSE(gen.next_flood_report(kOrigin + 59s));
  EXPECT_FALSE(gen.next_flood_report(kOrigin + 180s));
  const TimePoint crest = kOrigin + 120s;
  for (int i = 0; i < 50; ++i) {
    auto body = gen.next_flood_report(crest);
    ASSERT_TRUE(body);
    auto r = intake::parse_report(report_json(*body), reg, crest, intake::ReportLimits{});
    ASSERT_TRUE(std::holds_alternative<Report>(r)) << report_json(*body);
    EXPECT_EQ(std::get<Report>(r).district, "381");
    EXPECT_TRUE(std::get<Report>(r).category == "flood" || std::get<Report>(r).category == "landslide");
  }
  auto water = [&](TimePoint now, const std::string& station) {
    double sum = 0;
    int n = 0;
    for (int i = 0; i < 20'000 && n < 20; ++i) {
      const Telemetry t = gen.next_telemetry(now);
      if (t.source_id == station) {
        sum += t.value;
        ++n;
      }
    }
    return sum / n;
  };
  EXPECT_GT(water(crest, "wl-381"), 5.0);           // 2.5 m normally, +3.5 m at the crest
  EXPECT_LT(water(crest, "wl-380"), 4.0);           // other districts stay dry
  EXPECT_LT(water(kOrigin + 30s, "wl-381"), 4.0);   // before the flood
}

TEST(ScenarioTest, ABtsOutageSilencesTheDistrictsStations) {
  const Registry reg = shipped();
  Generator gen = with(reg, {{.kind = ScenarioKind::kBtsOutage, .district = "384", .start = 0s, .duration = 60s}});
  auto heartbeats_from = [&](TimePoint now) {
    int n = 0;
    for (int i = 0; i < 3000; ++i) {
      const Telemetry t = gen.next_telemetry(now);
      n += t.kind == TelemetryKind::kBtsHeartbeat && t.district == "384";
    }
    return n;
  };
  EXPECT_EQ(heartbeats_from(kOrigin + 10s), 0);
  EXPECT_GT(heartbeats_from(kOrigin + 61s), 0);
}

TEST(ScenarioTest, APortalOutageCollapsesTheOnlineRate) {
  const Registry reg = shipped();
  Generator gen = with(reg, {{.kind = ScenarioKind::kPortalOutage, .start = 60s, .duration = 60s}});
  auto online_share = [&](TimePoint now) {
    int online = 0;
    for (int i = 0; i < 4000; ++i) online += gen.next_transaction(now).channel == Channel::kOnline;
    return online / 4000.0;
  };
  const double before = online_share(kOrigin);
  const double during = online_share(kOrigin + 90s);
  EXPECT_GT(before, 0.3);
  EXPECT_LT(during, before * 0.1);
}

TEST(ScenarioTest, LateDataDelaysOneFeedOnly) {
  const Registry reg = shipped();
  Generator gen = with(reg, {{.kind = ScenarioKind::kLateData, .start = 0s, .duration = 60s, .delay = 3h,
                              .feed = "telemetry"}});
  const TimePoint now = kOrigin + 1s;
  const Telemetry t = gen.next_telemetry(now);
  EXPECT_LE(t.occurred_at, now - 3h);
  EXPECT_GT(t.occurred_at, now - 3h - 1s);
  EXPECT_EQ(t.received_at, now);
  EXPECT_GT(gen.next_transaction(now).occurred_at, now - 3s);
}

TEST(ScenarioTest, DeterministicForASeedWithScenarios) {
  const Registry reg = shipped();
  const std::vector<Scenario> s = {{.kind = ScenarioKind::kFlood, .district = "380", .start = 0s, .duration = 60s},
                                   {.kind = ScenarioKind::kBtsOutage, .district = "381", .start = 0s, .duration = 60s}};
  Generator a = with(reg, s, 9);
  Generator b = with(reg, s, 9);
  for (int i = 0; i < 200; ++i) {
    const TimePoint now = kOrigin + std::chrono::milliseconds(i * 100);
    EXPECT_EQ(a.next_flood_report(now), b.next_flood_report(now));
    EXPECT_EQ(a.next_telemetry(now), b.next_telemetry(now));
    EXPECT_EQ(a.next_air_quality(now), b.next_air_quality(now));
  }
}

TEST(ScenarioTest, TheDemoSequenceIsValidAndOverInUnderFourMinutes) {
  const Registry reg = shipped();
  const std::vector<Scenario> demo = demo_sequence();
  ASSERT_EQ(demo.size(), 3u);
  for (const Scenario& s : demo) {
    EXPECT_TRUE(validate(s, reg).ok()) << to_string(s.kind);
    EXPECT_LE(s.start + s.duration, std::chrono::minutes(4)) << to_string(s.kind);
  }
  const Timeline t(demo, kOrigin);
  EXPECT_NE(t.active(ScenarioKind::kFlood, kOrigin + 90s, "380"), nullptr);
  EXPECT_NE(t.active(ScenarioKind::kPortalOutage, kOrigin + 90s, "395"), nullptr);  // province-wide
  EXPECT_EQ(t.active(ScenarioKind::kFlood, kOrigin + 240s), nullptr);
}

TEST(ScenarioTest, SettingsAreCheckedWithPreciseErrors) {
  const Registry reg = shipped();
  EXPECT_EQ(parse_scenario_kind("tsunami").error().message,
            "unknown scenario 'tsunami'; allowed: flood, bts-outage, portal-outage, late-data");
  EXPECT_NE(validate({.kind = ScenarioKind::kFlood}, reg).error().message.find("needs a district code"),
            std::string::npos);
  EXPECT_NE(validate({.kind = ScenarioKind::kBtsOutage, .district = "999"}, reg).error().message.find("unknown district"),
            std::string::npos);
  EXPECT_NE(validate({.kind = ScenarioKind::kLateData, .feed = "reports"}, reg).error().message.find("feed"),
            std::string::npos);
  EXPECT_EQ(expand_shortcuts({"--config", "f.yaml", "--scenario", "flood", "--district", "380", "--seed", "4"}),
            (std::vector<std::string>{"--config", "f.yaml", "--set", "sim.scenario.kind=flood", "--set",
                                      "sim.scenario.district=380", "--set", "sim.seed=4"}));
}

}  // namespace
}  // namespace ioc::sim
