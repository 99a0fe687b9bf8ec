#include "kpi_ledger.hpp"

#include <gtest/gtest.h>

#include "ioc/core/time_format.hpp"

namespace ioc::alerter {
namespace {

using namespace std::chrono_literals;

TimePoint t(const char* rfc3339) { return *parse_rfc3339(rfc3339); }

WindowResult day_result(const char* start, const std::string& district, std::uint64_t revision, double count,
                        double online, double completed, double overdue, bool final = false) {
  WindowResult r;
  r.view = "transactions_24h";
  r.group = {{"district", district}};
  r.window_start = t(start);
  r.window_end = r.window_start + 24h;
  r.revision = revision;
  r.final = final;
  r.count = static_cast<std::int64_t>(count);
  r.values = {{"count", count}, {"online", online}, {"completed", completed}, {"overdue", overdue},
              {"online_ratio", count > 0 ? online / count : 0}};
  return r;
}

TEST(KpiLedgerTest, TheDayIsTheWindowStartingAtLocalMidnight) {
  KpiLedger ledger;  // +07:00
  // 2024-07-01 00:00 at +07:00 is 2024-06-30 17:00 UTC.
  EXPECT_TRUE(ledger.add(day_result("2024-06-30T17:00:00Z", "380", 1, 10, 8, 5, 1)));
  // The hopping windows between midnights are not days.
  EXPECT_FALSE(ledger.add(day_result("2024-06-30T18:00:00Z", "380", 1, 99, 0, 0, 0)));
  EXPECT_FALSE(ledger.add(day_result("2024-07-01T00:00:00Z", "380", 1, 99, 0, 0, 0)));  // UTC midnight
  const auto days = ledger.day("2024-07-01");
  ASSERT_EQ(days.size(), 1u);
  EXPECT_EQ(days[0].district, "380");
  EXPECT_EQ(days[0].window_start, t("2024-06-30T17:00:00Z"));
  EXPECT_EQ(days[0].totals, (TransactionTotals{10, 8, 5, 1}));
  EXPECT_FALSE(days[0].complete);
  EXPECT_TRUE(ledger.day("2024-06-30").empty());

  // Another offset moves the day.
  KpiLedger utc({"transactions_24h", 0ms, 30 * 24h});
  EXPECT_FALSE(utc.add(day_result("2024-06-30T17:00:00Z", "380", 1, 10, 8, 5, 1)));
  EXPECT_TRUE(utc.add(day_result("2024-07-01T00:00:00Z", "380", 1, 10, 8, 5, 1)));
  EXPECT_EQ(utc.day("2024-07-01").size(), 1u);
  KpiLedger west({"transactions_24h", -3h - 30min, 30 * 24h});
  EXPECT_TRUE(west.add(day_result("2024-07-01T03:30:00Z", "380", 1, 1, 1, 0, 0)));
  EXPECT_EQ(west.day("2024-07-01").size(), 1u);
}

TEST(KpiLedgerTest, TheLatestRevisionWinsAndTheFinalCompletesTheDay) {
  KpiLedger ledger;
  ASSERT_TRUE(ledger.add(day_result("2024-06-30T17:00:00Z", "380", 3, 30, 20, 10, 2)));
  EXPECT_FALSE(ledger.add(day_result("2024-06-30T17:00:00Z", "380", 2, 20, 10, 5, 1))) << "an older revision";
  EXPECT_EQ(ledger.day("2024-07-01")[0].totals.count, 30);
  ASSERT_TRUE(ledger.add(day_result("2024-06-30T17:00:00Z", "380", 4, 40, 30, 12, 2, true)));
  ASSERT_TRUE(ledger.add(day_result("2024-06-30T17:00:00Z", "381", 1, 5, 5, 0, 0)));
  const auto days = ledger.day("2024-07-01");
  ASSERT_EQ(days.size(), 2u);
  EXPECT_EQ(days[0].totals, (TransactionTotals{40, 30, 12, 2}));
  EXPECT_TRUE(days[0].complete);
  EXPECT_EQ(days[0].revision, 4u);
  EXPECT_EQ(days[1].district, "381");
  EXPECT_FALSE(days[1].complete);
}

TEST(KpiLedgerTest, OtherViewsWindowsAndGroupsAreNotTheLedgers) {
  KpiLedger ledger;
  WindowResult other = day_result("2024-06-30T17:00:00Z", "380", 1, 10, 8, 5, 1);
  other.view = "transactions_1h";
  EXPECT_FALSE(ledger.add(other));
  WindowResult hour = day_result("2024-06-30T17:00:00Z", "380", 1, 10, 8, 5, 1);
  hour.window_end = hour.window_start + 1h;
  EXPECT_FALSE(ledger.add(hour));
  WindowResult no_district = day_result("2024-06-30T17:00:00Z", "380", 1, 10, 8, 5, 1);
  no_district.group = {{"category", "flood"}};
  EXPECT_FALSE(ledger.add(no_district));
  EXPECT_EQ(ledger.size(), 0u);
  EXPECT_FALSE(ledger.take_changed());
}

TEST(KpiLedgerTest, SurvivesARestartAndForgetsPastTheRetention) {
  KpiLedger ledger({"transactions_24h", 7h, 48h});
  ASSERT_TRUE(ledger.add(day_result("2024-06-30T17:00:00Z", "380", 4, 40, 30, 12, 2, true)));
  ASSERT_TRUE(ledger.add(day_result("2024-07-01T17:00:00Z", "380", 1, 7, 7, 0, 0)));
  EXPECT_TRUE(ledger.take_changed());
  EXPECT_FALSE(ledger.take_changed());
  const std::string bytes = ledger.encode();

  KpiLedger restored({"transactions_24h", 7h, 48h});
  ASSERT_TRUE(restored.restore(bytes).ok());
  EXPECT_EQ(restored.size(), 2u);
  EXPECT_EQ(restored.day("2024-07-01"), ledger.day("2024-07-01"));
  EXPECT_EQ(restored.day("2024-07-02"), ledger.day("2024-07-02"));
  EXPECT_EQ(restored.encode(), bytes);

  std::string damaged = bytes;
  damaged[20] ^= 0x5a;
  EXPECT_FALSE(restored.restore(damaged).ok());
  EXPECT_FALSE(restored.restore(bytes.substr(0, 10)).ok());

  // 07-01 ended 07-01T17:00Z; 48 h later it goes, 07-02 stays.
  ledger.prune(t("2024-07-03T16:59:59Z"));
  EXPECT_EQ(ledger.size(), 2u);
  ledger.prune(t("2024-07-03T17:00:00Z"));
  EXPECT_EQ(ledger.size(), 1u);
  EXPECT_TRUE(ledger.day("2024-07-01").empty());
  EXPECT_TRUE(ledger.take_changed());
}

TEST(KpiLedgerTest, LocalDateOfAnInstant) {
  EXPECT_EQ(local_date(t("2024-06-30T16:59:59Z"), 7h), "2024-06-30");
  EXPECT_EQ(local_date(t("2024-06-30T17:00:00Z"), 7h), "2024-07-01");
}

}  // namespace
}  // namespace ioc::alerter
