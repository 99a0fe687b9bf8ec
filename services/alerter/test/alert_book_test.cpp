#include "alert_book.hpp"

#include <gtest/gtest.h>

#include "events.hpp"

namespace ioc::alerter {
namespace {

using test::at;
using test::event;
using S = AlertEvent::State;

TEST(AlertBookTest, KeepsTheNewestEventPerFingerprintWhateverTheOrder) {
  AlertBook book;
  EXPECT_TRUE(book.record(event("a", S::kFiring, 10, 1)));
  EXPECT_TRUE(book.record(event("a", S::kResolved, 20, 2)));
  EXPECT_FALSE(book.record(event("a", S::kFiring, 10, 1)));  // replayed older event
  EXPECT_EQ(book.latest("a")->state, S::kResolved);
  EXPECT_TRUE(book.active().empty());
  EXPECT_TRUE(book.record(event("a", S::kFiring, 30, 1, 30)));  // a new episode
  ASSERT_EQ(book.active().size(), 1u);
  EXPECT_EQ(book.episodes().size(), 2u);
}

TEST(AlertBookTest, RemembersTheFirstFiringOfAnEpisode) {
  AlertBook book;
  book.record(event("a", S::kPending, 0, 1));
  book.record(event("a", S::kFiring, 30, 2));
  book.record(event("a", S::kFiring, 90, 3));  // an update
  const auto* ep = book.episode(event("a", S::kFiring, 0, 1).id);
  ASSERT_NE(ep, nullptr);
  EXPECT_EQ(ep->latest.revision, 3u);
  ASSERT_TRUE(ep->first_firing);
  EXPECT_EQ(ep->first_firing->revision, 2u);
}

TEST(AlertBookTest, NotifiesFiringAndRecentlyResolvedOnly) {
  AlertBook book;
  book.record(event("firing", S::kFiring, 10, 1));
  book.record(event("pending", S::kPending, 10, 1));
  book.record(event("resolved", S::kResolved, 100, 2));
  book.record(event("canceled", S::kInactive, 100, 2));
  auto names = [&](TimePoint now) {
    std::vector<std::string> out;
    for (const auto& e : book.notifiable(now, std::chrono::minutes(15))) out.push_back(e.fingerprint);
    return out;
  };
  EXPECT_EQ(names(at(200)), (std::vector<std::string>{"firing", "resolved"}));
  EXPECT_EQ(names(at(100 + 15 * 60)), (std::vector<std::string>{"firing"}));
  book.prune(at(100 + 15 * 60), std::chrono::minutes(15));
  EXPECT_EQ(book.size(), 2u);  // firing and pending stay
  EXPECT_EQ(book.latest("resolved"), nullptr);
}

TEST(AlertBookTest, EventsRebuildTheSameBook) {
  AlertBook book;
  book.record(event("a", S::kPending, 0, 1));
  book.record(event("a", S::kFiring, 30, 2));
  book.record(event("a", S::kFiring, 90, 3));
  book.record(event("b", S::kResolved, 50, 2));
  AlertBook copy;
  for (const auto& e : book.events()) copy.record(e);
  EXPECT_EQ(copy.events(), book.events());
  EXPECT_EQ(copy.episode(event("a", S::kFiring, 0, 1).id)->first_firing->revision, 2u);
}

}  // namespace
}  // namespace ioc::alerter
