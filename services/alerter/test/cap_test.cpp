#include "cap.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <tuple>
#include <vector>

#include "events.hpp"

namespace ioc::alerter {
namespace {

using test::at;
using test::event;
using S = AlertEvent::State;

class CapTest : public ::testing::Test {
 protected:
  CapTest()
      : registry_({{"380", "Thành phố Thanh Hóa", "thanh-hoa"}}, {{"flood", "Ngập lụt", "naturalDisaster", "flood", ""}}) {
    province_.code = "38";
    province_.name = "Thanh Hóa";
    province_.lat_min = 19.3;
    province_.lat_max = 20.7;
    province_.lon_min = 104.4;
    province_.lon_max = 106.1;
  }
  CapContext ctx() { return CapContext{cap_, registry_, province_, url_}; }
  /// Records `e` into book_ as the pipeline does; the message it issued, if any.
  std::optional<CapMessage> record(const AlertEvent& e) {
    book_.record(e);
    auto m = next_cap_message(*book_.episode(e.id), e, cap_);
    if (m) book_.add_cap(*m);
    return m;
  }
  std::string render(const CapMessage& m) { return render_cap(*book_.episode(m.event.id), m, ctx()); }
  static std::string between(const std::string& xml, const std::string& tag) {
    const auto a = xml.find("<" + tag + ">");
    const auto b = xml.find("</" + tag + ">");
    if (a == std::string::npos || b == std::string::npos) return "(missing)";
    return xml.substr(a + tag.size() + 2, b - a - tag.size() - 2);
  }
  CapConfig cap_;
  AlertBook book_;
  Registry registry_;
  Province province_;
  std::string url_ = "http://alerter:9102";
};

TEST_F(CapTest, AFiringAlertIsACapAlertForItsDistrict) {
  const auto m = record(event("fp", S::kFiring, 10, 1));
  ASSERT_TRUE(m);
  const std::string xml = render(*m);
  EXPECT_EQ(xml.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">", 0), 0u);
  EXPECT_EQ(between(xml, "identifier"), cap_identifier(m->event.id, 1));
  EXPECT_EQ(between(xml, "sent"), "2024-07-01T08:30:10-00:00");
  EXPECT_EQ(between(xml, "msgType"), "Alert");
  EXPECT_EQ(between(xml, "scope"), "Public");
  EXPECT_EQ(xml.find("<restriction>"), std::string::npos);
  EXPECT_EQ(xml.find("<references>"), std::string::npos);
  EXPECT_EQ(between(xml, "category"), "Met");
  EXPECT_EQ(between(xml, "event"), "Citizen report surge");
  EXPECT_EQ(between(xml, "urgency"), "Immediate");
  EXPECT_EQ(between(xml, "severity"), "Severe");
  EXPECT_EQ(between(xml, "certainty"), "Observed");
  EXPECT_EQ(between(xml, "expires"), "2024-07-01T09:30:10-00:00");  // sent + alerter.cap.expires (1h)
  EXPECT_EQ(between(xml, "headline"), "23 flood reports in Thành phố Thanh Hóa");
  EXPECT_EQ(between(xml, "description"), "Citizens sent 23 reports &lt;flood&gt; &amp; more");
  EXPECT_EQ(between(xml, "instruction"), "Call the steering committee.");
  EXPECT_EQ(between(xml, "areaDesc"), "Thành phố Thanh Hóa");
  EXPECT_NE(xml.find("<valueName>GSO</valueName>\n        <value>380</value>"), std::string::npos);
  EXPECT_NE(xml.find("<valueName>evidence</valueName>\n      <value>r-1 r-2</value>"), std::string::npos);
}

// Before: pending then firing went out as two msgType=Alert messages (the
// second without references), and a Cancel kept the dispatch instruction
// and the firing headline.
TEST_F(CapTest, AnEpisodeIsOneSequenceAlertUpdatesCancelEachReferencingTheEarlierOnes) {
  EXPECT_FALSE(record(event("fp", S::kPending, 0, 1)));  // pending is the alerter's own business
  const auto alert = record(event("fp", S::kFiring, 30, 2));
  ASSERT_TRUE(alert);
  EXPECT_EQ(alert->n, 1u);
  EXPECT_EQ(between(render(*alert), "msgType"), "Alert");
  EXPECT_EQ(render(*alert).find("<references>"), std::string::npos);

  AlertEvent higher = event("fp", S::kFiring, 330, 3);
  higher.value = 30;  // 7 past the last message's 23: more than 0.25 x threshold 20
  higher.summary = "30 flood reports in Thành phố Thanh Hóa";
  const auto update = record(higher);
  ASSERT_TRUE(update);
  std::string xml = render(*update);
  EXPECT_EQ(between(xml, "msgType"), "Update");
  EXPECT_EQ(between(xml, "references"),
            "ioc-alerter@ioc.local," + cap_identifier(higher.id, 1) + ",2024-07-01T08:30:30-00:00");
  EXPECT_EQ(between(xml, "headline"), "30 flood reports in Thành phố Thanh Hóa");

  const auto cancel = record(event("fp", S::kResolved, 900, 4));
  ASSERT_TRUE(cancel);
  xml = render(*cancel);
  EXPECT_EQ(between(xml, "msgType"), "Cancel");
  EXPECT_EQ(between(xml, "references"), "ioc-alerter@ioc.local," + cap_identifier(higher.id, 1) +
                                            ",2024-07-01T08:30:30-00:00 ioc-alerter@ioc.local," +
                                            cap_identifier(higher.id, 2) + ",2024-07-01T08:35:30-00:00");
  EXPECT_EQ(between(xml, "urgency"), "Past");
  EXPECT_EQ(between(xml, "responseType"), "AllClear");
  EXPECT_EQ(between(xml, "headline"), "Ended: Citizen report surge in Thành phố Thanh Hóa");
  EXPECT_EQ(between(xml, "description"),
            "The Citizen report surge alert for Thành phố Thanh Hóa ended at 2024-07-01T08:45:00.000Z, 14m30s after it "
            "began. At its peak: 30 flood reports in Thành phố Thanh Hóa. No further action is needed.");
  EXPECT_EQ(xml.find("<instruction>"), std::string::npos);
  EXPECT_FALSE(record(event("fp", S::kFiring, 901, 5)));  // nothing after the end
}

// Before: every firing update (each update_interval) became a CAP Update,
// telling a value under the alarm line while the alert still fired.
TEST_F(CapTest, AnUpdateGoesOutOnlyForAMaterialChangeAndTellsThePeak) {
  ASSERT_TRUE(record(event("fp", S::kFiring, 0, 1)));
  AlertEvent lower = event("fp", S::kFiring, 300, 2);
  lower.value = 12;  // under the threshold, still firing (hysteresis)
  lower.summary = "12 flood reports";
  EXPECT_FALSE(record(lower));
  AlertEvent slightly = event("fp", S::kFiring, 600, 3);
  slightly.value = 26;  // 3 more than told: under 0.25 x 20
  EXPECT_FALSE(record(slightly));
  AlertEvent worse = event("fp", S::kFiring, 900, 4);
  worse.severity = "warning";  // the rule changed its severity
  const auto m = record(worse);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, CapMsgType::kUpdate);
  EXPECT_EQ(m->event.value, 26);  // the peak, the value that keeps it firing
  EXPECT_EQ(between(render(*m), "severity"), "Moderate");
}

TEST_F(CapTest, AFiringEpisodeIsRefreshedBeforeItsMessageExpires) {
  const auto first = record(event("fp", S::kFiring, 0, 1));
  ASSERT_TRUE(first);
  EXPECT_FALSE(refresh_cap_message(*book_.episode(first->event.id), at(1799), cap_));
  const auto m = refresh_cap_message(*book_.episode(first->event.id), at(1800), cap_);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->n, 2u);
  EXPECT_EQ(m->type, CapMsgType::kUpdate);
  EXPECT_EQ(m->sent, at(1800));
}

TEST_F(CapTest, ARestrictedRuleIsRestricted) {
  AlertEvent e = event("fp", S::kFiring, 10, 1);
  e.annotations.push_back({"cap_scope", "Restricted"});
  e.annotations.push_back({"cap_restriction", "Operations center only"});
  const std::string xml = render(*record(e));
  EXPECT_EQ(between(xml, "scope"), "Restricted");
  EXPECT_EQ(between(xml, "restriction"), "Operations center only");
}

TEST_F(CapTest, AnAlertWithoutADistrictCoversTheProvince) {
  AlertEvent e = event("fp", S::kFiring, 10, 1);
  e.group.clear();
  const std::string xml = render(*record(e));
  EXPECT_EQ(between(xml, "areaDesc"), "Thanh Hóa");
  EXPECT_EQ(between(xml, "polygon"), "19.3,104.4 19.3,106.1 20.7,106.1 20.7,104.4 19.3,104.4");
}

TEST_F(CapTest, TheFeedHasOneEntryPerEpisodeLinkingItsLatestMessage) {
  record(event("a", S::kFiring, 10, 1));
  record(event("b", S::kFiring, 20, 1));
  record(event("b", S::kResolved, 40, 2));
  record(event("c", S::kPending, 50, 1));
  const std::string feed = render_cap_feed(book_.episodes(), ctx());
  EXPECT_EQ(feed.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">", 0), 0u);
  std::size_t entries = 0;
  for (auto p = feed.find("<entry>"); p != std::string::npos; p = feed.find("<entry>", p + 1)) ++entries;
  EXPECT_EQ(entries, 2u);
  const std::string b = url_ + cap_message_path(event("b", S::kFiring, 0, 1).id, 2);
  const auto first = feed.find("<entry>");
  EXPECT_EQ(feed.find("<id>" + b + "</id>"), feed.find("<id>", first));  // newest first
  EXPECT_NE(feed.find("<link rel=\"alternate\" type=\"application/cap+xml\" href=\"" + b + "\"/>"), std::string::npos);
  EXPECT_NE(feed.find("<title>Ended: Citizen report surge in Thành phố Thanh Hóa</title>"), std::string::npos);
  EXPECT_NE(feed.find("<updated>2024-07-01T08:30:40.000Z</updated>\n  <author>"), std::string::npos);
}

TEST(CapCategoryTest, FiwareCategoriesMapToCapCategories) {
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"naturalDisaster", "flood", "Met"},        {"naturalDisaster", "landslide", "Geo"},
      {"naturalDisaster", "earthquake", "Geo"},   {"naturalDisaster", "forestFire", "Fire"},
      {"weather", "rain", "Met"},                 {"traffic", "trafficJam", "Transport"},
      {"environment", "airPollution", "Env"},     {"health", "outbreak", "Health"},
      {"security", "buildingFire", "Fire"},       {"security", "robbery", "Security"},
      {"infrastructure", "powerCut", "Infra"},    {"other", "", "Other"}};
  for (const auto& [category, sub, cap] : cases) {
    EXPECT_EQ(cap_category_for(category, sub), cap) << category << "/" << sub;
  }
}

}  // namespace
}  // namespace ioc::alerter
