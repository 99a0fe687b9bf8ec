#include "cap.hpp"

#include <gtest/gtest.h>

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
  std::string render(const AlertBook::Episode& ep) {
    return render_cap(ep, CapContext{cap_, registry_, province_, url_});
  }
  static std::string between(const std::string& xml, const std::string& tag) {
    const auto a = xml.find("<" + tag + ">");
    const auto b = xml.find("</" + tag + ">");
    if (a == std::string::npos || b == std::string::npos) return "(missing)";
    return xml.substr(a + tag.size() + 2, b - a - tag.size() - 2);
  }
  CapConfig cap_;
  Registry registry_;
  Province province_;
  std::string url_ = "http://alerter:9102";
};

TEST_F(CapTest, AFiringAlertIsACapAlertForItsDistrict) {
  AlertBook::Episode ep{event("fp", S::kFiring, 10, 1), std::nullopt};
  ep.first_firing = ep.latest;
  const std::string xml = render(ep);
  EXPECT_EQ(xml.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">", 0), 0u);
  EXPECT_EQ(between(xml, "identifier"), cap_identifier(ep.latest.id, 1));
  EXPECT_EQ(between(xml, "sent"), "2024-07-01T08:30:10-00:00");
  EXPECT_EQ(between(xml, "msgType"), "Alert");
  EXPECT_EQ(xml.find("<references>"), std::string::npos);
  EXPECT_EQ(between(xml, "category"), "Met");
  EXPECT_EQ(between(xml, "event"), "Citizen report surge");
  EXPECT_EQ(between(xml, "urgency"), "Immediate");
  EXPECT_EQ(between(xml, "severity"), "Severe");
  EXPECT_EQ(between(xml, "certainty"), "Observed");
  EXPECT_EQ(between(xml, "headline"), "23 flood reports in Thành phố Thanh Hóa");
  EXPECT_EQ(between(xml, "description"), "Citizens sent 23 reports &lt;flood&gt; &amp; more");
  EXPECT_EQ(between(xml, "instruction"), "Call the steering committee.");
  EXPECT_EQ(between(xml, "areaDesc"), "Thành phố Thanh Hóa");
  EXPECT_NE(xml.find("<valueName>GSO</valueName>\n        <value>380</value>"), std::string::npos);
  EXPECT_NE(xml.find("<valueName>evidence</valueName>\n      <value>r-1 r-2</value>"), std::string::npos);
}

TEST_F(CapTest, LaterStatesAreUpdatesAndCancelsReferencingTheFirstMessage) {
  AlertBook::Episode ep{event("fp", S::kFiring, 90, 3), event("fp", S::kFiring, 30, 2)};
  std::string xml = render(ep);
  EXPECT_EQ(between(xml, "msgType"), "Update");
  EXPECT_EQ(between(xml, "references"), "ioc-alerter@ioc.local," + cap_identifier(ep.latest.id, 1) +
                                            ",2024-07-01T08:30:00-00:00 ioc-alerter@ioc.local," +
                                            cap_identifier(ep.latest.id, 2) + ",2024-07-01T08:30:30-00:00");
  ep.latest = event("fp", S::kResolved, 120, 4);
  xml = render(ep);
  EXPECT_EQ(between(xml, "msgType"), "Cancel");
  EXPECT_EQ(between(xml, "urgency"), "Past");
  EXPECT_EQ(between(xml, "responseType"), "AllClear");
}

TEST_F(CapTest, APendingAlertIsPossible) {
  AlertBook::Episode ep{event("fp", S::kPending, 0, 1), std::nullopt};
  const std::string xml = render(ep);
  EXPECT_EQ(between(xml, "msgType"), "Alert");
  EXPECT_EQ(between(xml, "certainty"), "Possible");
  EXPECT_EQ(between(xml, "urgency"), "Expected");
}

TEST_F(CapTest, AnAlertWithoutADistrictCoversTheProvince) {
  AlertBook::Episode ep{event("fp", S::kFiring, 10, 1), std::nullopt};
  ep.latest.group.clear();
  const std::string xml = render(ep);
  EXPECT_EQ(between(xml, "areaDesc"), "Thanh Hóa");
  EXPECT_EQ(between(xml, "polygon"), "19.3,104.4 19.3,106.1 20.7,106.1 20.7,104.4 19.3,104.4");
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
