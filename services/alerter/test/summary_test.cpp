#include "summary.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "cap.hpp"
#include "events.hpp"
#include "ioc/core/time_format.hpp"

namespace ioc::alerter {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using S = AlertEvent::State;

TimePoint t(const char* rfc3339) { return *parse_rfc3339(rfc3339); }

WindowResult day_result(const std::string& district, double count, double online, double completed, double overdue,
                        bool final) {
  WindowResult r;
  r.view = "transactions_24h";
  r.group = {{"district", district}};
  r.window_start = t("2024-06-30T17:00:00Z");
  r.window_end = r.window_start + 24h;
  r.revision = 1;
  r.final = final;
  r.values = {{"count", count}, {"online", online}, {"completed", completed}, {"overdue", overdue}};
  return r;
}

class SummaryTest : public ::testing::Test {
 protected:
  SummaryTest() {
    ctx_.targets = {0.80, 0.05};
    ctx_.registry = &registry_;
    ctx_.province = "Thanh Hóa";
  }
  void fire(const std::string& fp, const char* start, const char* end, const std::string& district) {
    const CapConfig cap;
    AlertEvent e = test::event(fp, S::kFiring, 0, 1);
    e.rule = "FloodReportSurge <x>";
    e.severity = "warning";
    e.labels = {{"alertname", e.rule}, {"severity", "warning"}, {"district", district}};
    e.summary = "40 flood reports & rising";
    e.starts_at = e.sent_at = t(start);
    e.id = fp + "-1";
    book_.record(e);
    if (auto m = next_cap_message(*book_.episode(e.id), e, cap)) book_.add_cap(*m);
    history_.record(*book_.episode(e.id));
    if (end != nullptr) {
      e.state = S::kResolved;
      e.revision = 2;
      e.ends_at = e.sent_at = t(end);
      book_.record(e);
      if (auto m = next_cap_message(*book_.episode(e.id), e, cap)) book_.add_cap(*m);
      history_.record(*book_.episode(e.id));
    }
  }

  Registry registry_{{{"380", "Thành phố Thanh Hóa", "thanh-hoa"}, {"381", "Thị xã <Bỉm Sơn>", "bim-son"},
                      {"382", "Sầm Sơn", "sam-son"}},
                     {{"flood", "Ngập lụt", "naturalDisaster", "flood", ""}}};
  SummaryContext ctx_;
  KpiLedger ledger_;
  EpisodeHistory history_;
  AlertBook book_;
};

TEST_F(SummaryTest, DatesAreLocalDaysOfTheCalendar) {
  EXPECT_EQ(*parse_summary_date("2024-07-01", ctx_), t("2024-06-30T17:00:00Z"));
  for (const char* bad : {"", "2024-7-1", "2024-07-01T00:00:00Z", "2024-02-30", "2024-13-01", "yesterday", "2024/07/01"}) {
    auto r = parse_summary_date(bad, ctx_);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("YYYY-MM-DD"), std::string::npos) << r.error().message;
  }
}

TEST_F(SummaryTest, JsonHasEveryDistrictAgainstTheTargetsTheProvinceAndTheDaysEpisodes) {
  ASSERT_TRUE(ledger_.add(day_result("380", 100, 85, 60, 2, true)));
  ASSERT_TRUE(ledger_.add(day_result("381", 50, 30, 20, 5, false)));
  fire("a", "2024-07-01T01:00:00Z", "2024-07-01T01:30:00Z", "380");  // within the local day
  fire("b", "2024-06-30T10:00:00Z", "2024-06-30T11:00:00Z", "381");  // the day before (local)
  fire("c", "2024-06-30T16:00:00Z", nullptr, "381");                 // began before, still firing
  const Summary s = build_summary("2024-07-01", t("2024-06-30T17:00:00Z"), ledger_, history_, ctx_);
  const json::object o = summary_json(s, ctx_);
  EXPECT_EQ(o.at("date"), "2024-07-01");
  EXPECT_EQ(o.at("utc_offset"), "+07:00");
  EXPECT_EQ(o.at("from"), "2024-06-30T17:00:00.000Z");
  EXPECT_EQ(o.at("to"), "2024-07-01T17:00:00.000Z");
  EXPECT_EQ(o.at("targets").at("online_rate").as_double(), 0.80);
  const json::array& d = o.at("districts").as_array();
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].at("district"), "380");
  EXPECT_EQ(d[0].at("name"), "Thành phố Thanh Hóa");
  EXPECT_EQ(d[0].at("applications").as_int64(), 100);
  EXPECT_DOUBLE_EQ(d[0].at("online_rate").as_double(), 0.85);
  EXPECT_EQ(d[0].at("meets_online"), true);
  EXPECT_DOUBLE_EQ(d[0].at("overdue_ratio").as_double(), 2.0 / 62.0);
  EXPECT_EQ(d[0].at("meets_overdue"), true);
  EXPECT_EQ(d[0].at("complete"), true);
  EXPECT_EQ(d[1].at("meets_online"), false);
  EXPECT_EQ(d[1].at("meets_overdue"), false);
  EXPECT_EQ(d[1].at("complete"), false);
  EXPECT_EQ(d[2].at("reported"), false);  // no figures: unknown, not a miss
  EXPECT_TRUE(d[2].at("online_rate").is_null());
  EXPECT_TRUE(d[2].at("meets_online").is_null());
  const json::object& p = o.at("province").as_object();
  EXPECT_EQ(p.at("applications").as_int64(), 150);
  EXPECT_DOUBLE_EQ(p.at("online_rate").as_double(), 115.0 / 150.0);
  EXPECT_EQ(p.at("complete"), false);  // 381's day is not final yet
  const json::array& e = o.at("episodes").as_array();
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].at("id"), "c-1");  // by start
  EXPECT_TRUE(e[0].at("ended").is_null());
  EXPECT_EQ(e[1].at("id"), "a-1");
  EXPECT_EQ(e[1].at("duration_seconds").as_int64(), 1800);
  EXPECT_EQ(e[1].at("peak"), "40 flood reports & rising");
  EXPECT_EQ(e[1].at("link"), "/api/v1/alerts/a-1");
  EXPECT_EQ(e[1].at("labels").at("district"), "380");
}

TEST_F(SummaryTest, ThePageShowsTheSameFiguresEscaped) {
  ASSERT_TRUE(ledger_.add(day_result("380", 100, 85, 60, 2, true)));
  ASSERT_TRUE(ledger_.add(day_result("381", 50, 30, 20, 5, false)));
  fire("a", "2024-07-01T01:00:00Z", "2024-07-01T01:30:00Z", "380");
  const std::string html =
      summary_html(build_summary("2024-07-01", t("2024-06-30T17:00:00Z"), ledger_, history_, ctx_), ctx_);
  EXPECT_NE(html.find("<!DOCTYPE html>"), std::string::npos);
  EXPECT_NE(html.find("@media print"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_NE(html.find("Thành phố Thanh Hóa"), std::string::npos);
  EXPECT_NE(html.find("Thị xã &lt;Bỉm Sơn&gt;"), std::string::npos);
  EXPECT_EQ(html.find("<Bỉm"), std::string::npos);
  EXPECT_NE(html.find("85.0%"), std::string::npos);
  EXPECT_NE(html.find("60.0%"), std::string::npos);   // 381 online
  EXPECT_NE(html.find("20.0%"), std::string::npos);   // 381 overdue 5 / 25
  EXPECT_NE(html.find("FloodReportSurge &lt;x&gt;"), std::string::npos);
  EXPECT_NE(html.find("40 flood reports &amp; rising"), std::string::npos);
  EXPECT_NE(html.find("30 min"), std::string::npos);
  EXPECT_NE(html.find("not complete"), std::string::npos);
}

}  // namespace
}  // namespace ioc::alerter
