#include "episode_history.hpp"

#include <gtest/gtest.h>

#include "cap.hpp"
#include "events.hpp"

namespace ioc::alerter {
namespace {

using test::at;
using test::event;
using S = AlertEvent::State;
using namespace std::chrono_literals;

/// Records `events` into a book as the pipeline does, and each state into `h`.
void feed(EpisodeHistory& h, AlertBook& book, const std::vector<AlertEvent>& events) {
  const CapConfig cap;
  for (const AlertEvent& e : events) {
    book.record(e);
    if (auto m = next_cap_message(*book.episode(e.id), e, cap)) book.add_cap(*m);
    h.record(*book.episode(e.id));
  }
}

TEST(EpisodeHistoryTest, TellsTheEpisodesFiringWithinARange) {
  EpisodeHistory h;
  AlertBook book;
  AlertEvent peak = event("a", S::kFiring, 600, 3);
  peak.value = 40;
  peak.summary = "40 flood reports";
  feed(h, book,
       {event("a", S::kPending, 0, 1), event("a", S::kFiring, 60, 2), peak, event("a", S::kResolved, 3600, 4),
        event("b", S::kFiring, 7200, 1, 7200), event("c", S::kPending, 100, 1, 100)});
  const auto all = h.between(TimePoint::min(), TimePoint::max());
  ASSERT_EQ(all.size(), 2u);  // c never fired: not history
  const EpisodeRecord& a = all[0];
  EXPECT_EQ(a.rule, "FloodReportSurge");
  EXPECT_EQ(a.started, at(60));  // the first firing, not the pending start
  EXPECT_EQ(a.ended, at(3600));
  EXPECT_EQ(a.peak_value, 40);
  EXPECT_EQ(a.peak_summary, "40 flood reports");
  EXPECT_EQ(a.cap_messages, (std::vector<std::uint32_t>{1, 2, 3}));
  EXPECT_FALSE(all[1].ended);

  EXPECT_EQ(h.between(at(0), at(60)).size(), 0u);     // before a fired
  EXPECT_EQ(h.between(at(3600), at(3601)).size(), 1u);  // a's last moment
  EXPECT_EQ(h.between(at(3601), at(7200)).size(), 0u);
  EXPECT_EQ(h.between(at(3601), at(99999)).size(), 1u);  // b is still on
}

TEST(EpisodeHistoryTest, KeepsEndedEpisodesForTheRetentionAndTheCountAndSurvivesBytes) {
  EpisodeHistory h({.retention = 24h, .max_episodes = 2});
  AlertBook book;
  for (const char* fp : {"a", "b", "c"}) {
    const double s = fp[0] == 'a' ? 0 : fp[0] == 'b' ? 100 : 200;
    feed(h, book, {event(fp, S::kFiring, s, 1, s), event(fp, S::kResolved, s + 50, 2, s)});
  }
  feed(h, book, {event("d", S::kFiring, 300, 1, 300)});
  ASSERT_TRUE(h.take_changed());
  EXPECT_FALSE(h.take_changed());
  h.prune(at(400));
  auto left = h.between(TimePoint::min(), TimePoint::max());
  ASSERT_EQ(left.size(), 2u);  // a and b, the oldest ended, made room; d still fires
  EXPECT_EQ(left[0].id, event("c", S::kFiring, 0, 1, 200).id);
  EXPECT_EQ(left[1].id, event("d", S::kFiring, 0, 1, 300).id);

  EpisodeHistory copy;
  ASSERT_TRUE(copy.restore(h.encode()).ok());
  EXPECT_EQ(copy.between(TimePoint::min(), TimePoint::max()), left);
  std::string damaged = h.encode();
  damaged[20] ^= 1;
  EXPECT_FALSE(copy.restore(damaged).ok());

  h.prune(at(250) + 24h);  // c ended 24 h ago
  EXPECT_EQ(h.size(), 1u);
}

}  // namespace
}  // namespace ioc::alerter
