#include "ioc/codec/json.hpp"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

namespace ioc::codec {
namespace {

TEST(JsonTest, LabelsBecomeOneObjectInTheirOrder) {
  EXPECT_EQ(boost::json::serialize(labels_json({{"district", "380"}, {"category", "flood"}})),
            R"({"district":"380","category":"flood"})");
  EXPECT_TRUE(labels_json({}).empty());
}

TEST(JsonTest, AlertFieldsKeepTheirValues) {
  AlertEvent e;
  e.fingerprint = "fp";
  e.id = "fp-1";
  e.rule = "FloodReportSurge";
  e.state = AlertEvent::State::kFiring;
  e.view = "reports_5m";
  e.group = {{"district", "380"}};
  e.value = 15;
  e.threshold = 10;
  e.comparator = ">";
  e.summary = "s";
  e.description = "d";
  e.scenario = "go";
  e.category = "naturalDisaster";
  e.sub_category = "flood";
  boost::json::object o{{"extra", 1}};
  add_alert_fields(e, o);
  EXPECT_EQ(o.at("extra"), 1);  // kept
  EXPECT_EQ(o.at("fingerprint"), "fp");
  EXPECT_EQ(o.at("id"), "fp-1");
  EXPECT_EQ(o.at("rule"), "FloodReportSurge");
  EXPECT_EQ(o.at("state"), "firing");
  EXPECT_EQ(o.at("view"), "reports_5m");
  EXPECT_EQ(o.at("group").as_object().at("district"), "380");
  EXPECT_EQ(o.at("value").as_double(), 15);
  EXPECT_EQ(o.at("threshold").as_double(), 10);
  EXPECT_EQ(o.at("comparator"), ">");
  EXPECT_EQ(o.at("summary"), "s");
  EXPECT_EQ(o.at("description"), "d");
  EXPECT_EQ(o.at("scenario"), "go");
  EXPECT_EQ(o.at("category"), "naturalDisaster");
  EXPECT_EQ(o.at("sub_category"), "flood");
  EXPECT_EQ(o.size(), 15u);
}

}  // namespace
}  // namespace ioc::codec
