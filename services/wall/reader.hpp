#pragma once
/// TopicReader: feeds the wall from Kafka. At start it reads the wall's
/// topics back (alerts whole, aggregates and reports within
/// wall.restore.window, the latest reports only) up to the end offsets it
/// found, and only then calls the wall restored; afterwards it follows the
/// topics as they grow.
///
/// The wall is a read model: it assigns partitions itself (no consumer
/// group membership, no rebalances) and never commits offsets; every start
/// rebuilds the state from the topics.
///
/// run() is the poll loop, on its own thread; restored() and
/// broker_connected() may be read from any thread.

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "config.hpp"
#include "ingest.hpp"
#include "ioc/core/clock.hpp"
#include "ioc/kafka/consumer.hpp"
#include "metrics.hpp"
#include "wall_state.hpp"

namespace ioc::wall {

/// The state shared by the reader (writes) and the HTTP loop (renders).
struct SharedState {
  SharedState(WallOptions options, const Registry& registry) : state(std::move(options), registry) {}
  std::mutex mu;
  WallState state;
};

class TopicReader : public kafka::RebalanceListener {
 public:
  TopicReader(const Config& cfg, SharedState& shared, const Clock& clock, Metrics& metrics);

  /// Restores, then follows, until `stop` is set. Throws on a setup error
  /// (the consumer cannot be configured).
  void run(const std::atomic<bool>& stop);

  bool restored() const { return restored_.load(std::memory_order_acquire); }
  bool broker_connected() const { return broker_connected_.load(std::memory_order_acquire); }

  void on_assigned(std::vector<kafka::TopicPartition>&) override {}
  void on_revoked(const std::vector<kafka::TopicPartition>&) override {}
  void on_error(const kafka::ConsumerError& error) override;
  void on_stats(const kafka::ConsumerStats& stats) override;

 private:
  /// Partitions to read and where to start; fills pending_ with the end
  /// offsets to reach. Retries until the cluster answers or `stop`.
  std::vector<kafka::TopicPartition> plan(const std::atomic<bool>& stop);
  void handle(const kafka::Message& m, TimePoint now);
  void check_restored();

  const Config& cfg_;
  SharedState& shared_;
  const Clock& clock_;
  Metrics& metrics_;
  std::map<std::string, Topic, std::less<>> topics_;
  /// (topic, partition) → end offset still to reach before the wall is restored.
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> pending_;
  std::atomic<bool> restored_{false};
  std::atomic<bool> broker_connected_{false};
  std::string error_;  // scratch
  MonotonicTime restore_started_{};
};

}  // namespace ioc::wall
