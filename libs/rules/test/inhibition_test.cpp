#include "ioc/rules/inhibition.hpp"

#include <gtest/gtest.h>

namespace ioc::rules {
namespace {

AlertEvent alert(std::string rule, std::vector<Label> group, AlertEvent::State state = AlertEvent::State::kFiring) {
  AlertEvent a;
  a.rule = std::move(rule);
  a.state = state;
  a.group = std::move(group);
  a.fingerprint = a.rule;
  for (const Label& l : a.group) a.fingerprint += "/" + l.value;
  a.id = a.fingerprint + "-1";
  return a;
}

// deploy/config/rules.yaml's two inhibitions.
const std::vector<Inhibition> kInhibitions = {
    {"BtsStationsDown", {"BtsStationSilent"}, {"district"}},
    {"TelemetryFeedStale", {"BtsStationSilent", "BtsStationsDown"}, {}},
};

std::vector<const AlertEvent*> pointers(const std::vector<AlertEvent>& v) {
  std::vector<const AlertEvent*> out;
  for (const AlertEvent& a : v) out.push_back(&a);
  return out;
}

TEST(InhibitionTest, AFiringSourceInhibitsTargetsWithEqualLabels) {
  const AlertEvent down = alert("BtsStationsDown", {{"district", "384"}});
  const AlertEvent here = alert("BtsStationSilent", {{"district", "384"}, {"source_id", "bts-1"}},
                                AlertEvent::State::kPending);
  const AlertEvent there = alert("BtsStationSilent", {{"district", "385"}, {"source_id", "bts-2"}});
  const AlertEvent flood = alert("FloodReportSurge", {{"district", "384"}});
  EXPECT_TRUE(inhibits(kInhibitions[0], down, here));  // pending targets too
  EXPECT_FALSE(inhibits(kInhibitions[0], down, there));
  EXPECT_FALSE(inhibits(kInhibitions[0], down, flood));
  EXPECT_FALSE(inhibits(kInhibitions[0], here, down));
  AlertEvent pending_down = down;
  pending_down.state = AlertEvent::State::kPending;
  EXPECT_FALSE(inhibits(kInhibitions[0], pending_down, here)) << "only a firing alert inhibits (Alertmanager sees no other)";
  // A resolved source inhibits nothing, but its targets are still in its
  // reach: the alerter holds its resolution back while they fire.
  AlertEvent resolved_down = down;
  resolved_down.state = AlertEvent::State::kResolved;
  EXPECT_FALSE(inhibits(kInhibitions[0], resolved_down, here));
  EXPECT_TRUE(reaches(kInhibitions[0], resolved_down, here));
  EXPECT_FALSE(reaches(kInhibitions[0], resolved_down, there));
  EXPECT_FALSE(reaches(kInhibitions[0], resolved_down, flood));
  EXPECT_FALSE(reaches(kInhibitions[0], here, resolved_down));
  // The alert's labels count before its group labels; a label missing on both sides is equal.
  AlertEvent labelled = there;
  labelled.labels = {{"district", "384"}};
  EXPECT_TRUE(inhibits(kInhibitions[0], down, labelled));
  const AlertEvent province_down = alert("BtsStationsDown", {});
  const AlertEvent no_district = alert("BtsStationSilent", {{"source_id", "bts-3"}});
  EXPECT_TRUE(inhibits(kInhibitions[0], province_down, no_district));

  const std::vector<AlertEvent> active = {flood, here, there, down};
  const auto ptrs = pointers(active);
  EXPECT_EQ(inhibited_by(here, ptrs, kInhibitions), &active[3]);
  EXPECT_EQ(inhibited_by(there, ptrs, kInhibitions), nullptr);
  EXPECT_EQ(inhibited_by(down, ptrs, kInhibitions), nullptr);
}

TEST(InhibitionTest, FoldMakesOneCardPerIncident) {
  std::vector<AlertEvent> active;
  for (int i = 0; i < 48; ++i) {
    active.push_back(alert("BtsStationSilent", {{"district", "384"}, {"source_id", "bts-" + std::to_string(i)}}));
  }
  active.push_back(alert("BtsStationsDown", {{"district", "384"}}));
  active.push_back(alert("BtsStationSilent", {{"district", "385"}, {"source_id", "bts-x"}}));
  active.push_back(alert("FloodReportSurge", {{"district", "384"}, {"category", "flood"}}));
  const auto ptrs = pointers(active);
  const std::vector<Folded> f = fold(ptrs, kInhibitions);
  ASSERT_EQ(f.size(), active.size());
  std::size_t cards = 0;
  for (std::size_t i = 0; i < f.size(); ++i) {
    EXPECT_EQ(f[i].inhibited_by, inhibited_by(active[i], ptrs, kInhibitions)) << i;
    if (f[i].card == nullptr) ++cards;
  }
  EXPECT_EQ(cards, 3u);
  for (int i = 0; i < 48; ++i) EXPECT_EQ(f[i].card, &active[48]);
  EXPECT_EQ(f[49].card, nullptr) << "another district's station is its own incident";

  // The feed goes stale: everything telemetry is one incident under it.
  active.push_back(alert("TelemetryFeedStale", {}));
  const auto more = pointers(active);
  const std::vector<Folded> g = fold(more, kInhibitions);
  for (std::size_t i = 0; i < 50; ++i) EXPECT_EQ(g[i].card, &active.back()) << i;
  EXPECT_EQ(g[0].inhibited_by, &active[48]) << "the first inhibitor in input order";
  EXPECT_EQ(g[50].card, nullptr) << "the flood is another incident";
  EXPECT_EQ(g[51].card, nullptr);
}

TEST(InhibitionTest, AlertsInhibitingEachOtherStayCards) {
  const std::vector<Inhibition> circle = {{"A", {"B"}, {}}, {"B", {"A"}, {}}};
  const std::vector<AlertEvent> active = {alert("A", {}), alert("B", {}), alert("C", {})};
  const std::vector<Folded> f = fold(pointers(active), circle);
  EXPECT_EQ(f[0].inhibited_by, &active[1]);
  EXPECT_EQ(f[1].inhibited_by, &active[0]);
  for (const Folded& x : f) EXPECT_EQ(x.card, nullptr);
  EXPECT_TRUE(fold(pointers(active), {}).size() == 3);
}

}  // namespace
}  // namespace ioc::rules
