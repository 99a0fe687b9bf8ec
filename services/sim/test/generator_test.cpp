#include "generator.hpp"

#include <gtest/gtest.h>

#include <map>

#include "ioc/config/registry_loader.hpp"
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
    auto r = intake::parse_report(gen.next_report_json(now), reg, now, intake::ReportLimits{});
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
    EXPECT_EQ(a.next_report_json(now), b.next_report_json(now));
    EXPECT_EQ(a.next_transaction(now), b.next_transaction(now));
    EXPECT_EQ(a.next_telemetry(now), b.next_telemetry(now));
  }
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
