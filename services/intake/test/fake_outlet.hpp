#pragma once
/// A test Outlet: records wait until the test gives their outcome.

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "ioc/codec/codec.hpp"
#include "outlet.hpp"

namespace ioc::intake::testing {

/// A producer under the test's control: records wait until deliver() or
/// fail() gives their outcome; what was delivered is "the topic".
class FakeOutlet final : public Outlet {
 public:
  Status produce(std::string_view key, std::string_view value, kafka::Producer::OnDelivery done) override {
    std::lock_guard lock(mu_);
    sent_.push_back({std::string(key), std::string(value), std::move(done)});
    return {};
  }
  bool reachable() const override { return reachable_.load(); }
  void set_reachable(bool up) { reachable_.store(up); }

  std::size_t sent() const {
    std::lock_guard lock(mu_);
    return sent_.size();
  }
  // The report id of record `i`.
  std::string id(std::size_t i) const {
    std::lock_guard lock(mu_);
    Report r;
    EXPECT_TRUE(codec::decode(sent_.at(i).value, r).ok());
    return r.id;
  }
  void deliver(std::size_t i) { outcome(i, {}, false); }
  void fail(std::size_t i, bool possibly_persisted = false) {
    outcome(i, unavailable("deliver to ioc.reports.v1: Local: Purged in queue"), possibly_persisted);
  }
  // Report ids stored on the topic, with how often.
  std::map<std::string, int> topic() const {
    std::lock_guard lock(mu_);
    return topic_;
  }

 private:
  struct Sent {
    std::string key;
    std::string value;
    kafka::Producer::OnDelivery done;
  };
  void outcome(std::size_t i, Status status, bool possibly_persisted) {
    kafka::Producer::OnDelivery done;
    {
      std::lock_guard lock(mu_);
      done = std::move(sent_.at(i).done);
      ASSERT_TRUE(done) << "record " << i << " had its outcome already";
      if (status.ok()) {
        Report r;
        ASSERT_TRUE(codec::decode(sent_.at(i).value, r).ok());
        ++topic_[r.id];
      }
    }
    kafka::DeliveryReport d;
    d.status = std::move(status);
    d.possibly_persisted = possibly_persisted;
    done(d);
  }

  mutable std::mutex mu_;
  std::vector<Sent> sent_;
  std::map<std::string, int> topic_;
  std::atomic<bool> reachable_{true};
};

}  // namespace ioc::intake::testing
