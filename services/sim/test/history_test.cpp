#include "history.hpp"

#include <gtest/gtest.h>

#include <set>

#include "ioc/codec/codec.hpp"
#include "ioc/config/registry_loader.hpp"
#include "ioc/core/topics.hpp"

namespace ioc::sim {
namespace {

using namespace std::chrono_literals;

const TimePoint kFrom = from_epoch_ms(1719792000000);  // 2024-07-01T00:00:00Z

Registry shipped() {
  const std::string dir = IOC_DEFAULT_CONFIG_DIR;
  return config::load_registry(dir + "/districts.yaml", dir + "/categories.yaml");
}

std::vector<HistoryRecord> all_of(History& h, Millis step) {
  std::vector<HistoryRecord> all, batch;
  while (h.next(step, batch)) all.insert(all.end(), batch.begin(), batch.end());
  return all;
}

TEST(HistoryTest, WritesTheSpanAtItsRatesInTimeOrderWithSimulatedTimes) {
  const Registry reg = shipped();
  GeneratorOptions o;
  o.seed = 3;
  History h(reg, o, {.reports_per_second = 2, .transactions_per_second = 5, .telemetry_per_second = 10,
                     .air_quality_per_second = 1},
            kFrom, kFrom + 10min);
  const std::vector<HistoryRecord> all = all_of(h, 1s);
  EXPECT_EQ(h.time(), kFrom + 10min);
  std::map<std::string, int> per_topic;
  std::set<std::string> ids;
  for (std::size_t i = 0; i < all.size(); ++i) {
    const HistoryRecord& r = all[i];
    ++per_topic[r.topic];
    EXPECT_GT(r.time, kFrom);
    EXPECT_LT(r.time, kFrom + 10min);
    if (i > 0) {
      EXPECT_LE(all[i - 1].time, r.time);
    }
    if (std::string(r.topic) == topics::kReports) {
      Report rep;
      ASSERT_TRUE(codec::decode(r.bytes, rep).ok());
      EXPECT_EQ(rep.received_at, r.time);  // ingest time is the simulated one
      EXPECT_LE(rep.occurred_at, r.time);
      EXPECT_EQ(rep.district, r.key);
      ids.insert(rep.id);
    } else if (std::string(r.topic) == topics::kTransactions) {
      ServiceTransaction t;
      ASSERT_TRUE(codec::decode(r.bytes, t).ok());
      EXPECT_EQ(t.received_at, r.time);
    }
  }
  // floor(600 s x rate), less at most one per stream for the last step's rounding.
  EXPECT_NEAR(per_topic[topics::kReports], 1200, 1);
  EXPECT_NEAR(per_topic[topics::kTransactions], 3000, 1);
  EXPECT_NEAR(per_topic[topics::kTelemetry], 6000, 1);
  EXPECT_NEAR(per_topic[topics::kAirQuality], 600, 1);
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(per_topic[topics::kReports]));  // one id per report
}

TEST(HistoryTest, TheSameSeedWritesTheSameHistoryAndPlacesScenariosFromItsStart) {
  const Registry reg = shipped();
  GeneratorOptions o;
  o.seed = 9;
  o.timeline = Timeline({{.kind = ScenarioKind::kFlood, .district = "386", .start = 2min, .duration = 3min}}, kFrom);
  const HistoryRates rates{.reports_per_second = 1, .transactions_per_second = 3, .telemetry_per_second = 4};
  History a(reg, o, rates, kFrom, kFrom + 6min);
  History b(reg, o, rates, kFrom, kFrom + 6min);
  const auto ra = all_of(a, 1s);
  const auto rb = all_of(b, 1s);
  ASSERT_EQ(ra.size(), rb.size());
  for (std::size_t i = 0; i < ra.size(); ++i) {
    EXPECT_EQ(ra[i].bytes, rb[i].bytes);
    EXPECT_EQ(ra[i].time, rb[i].time);
  }
  // The flood placed 2 min after the history's start surges reports of 386 then only.
  int surge = 0;
  for (const HistoryRecord& r : ra) {
    if (std::string(r.topic) != topics::kReports) continue;
    Report rep;
    ASSERT_TRUE(codec::decode(r.bytes, rep).ok());
    if (rep.description != "Nước lên nhanh, nhà dân bị ngập" && rep.description != "Sạt lở đất, đường bị chia cắt") {
      continue;
    }
    ++surge;
    EXPECT_EQ(rep.district, "386");
    EXPECT_GE(r.time, kFrom + 2min);
    EXPECT_LT(r.time, kFrom + 5min);
  }
  EXPECT_NEAR(surge, 180, 1);  // 1 report/s for 3 minutes
}

}  // namespace
}  // namespace ioc::sim
