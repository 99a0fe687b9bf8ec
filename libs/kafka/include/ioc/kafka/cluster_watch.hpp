#pragma once
/// ClusterWatch: notices that the broker became another cluster.
///
/// A changed cluster id means new logs: for the embedded broker, a restarted
/// process that lost every topic. A consumer's positions then point into
/// logs that no longer exist, and records written into the new logs below
/// those positions before the next fetch would be skipped; its owner reacts
/// to the change (e.g. reads every partition again from its start).
///
/// The id is asked for at the first reachable observation, when the broker
/// is reachable again after an outage, every `interval`, and on demand (check(): e.g.
/// when offsets went back). Asking may block (the answer source's timeout,
/// e.g. Admin::cluster_id); the decision itself takes the time passed in and
/// never reads a clock. Not thread-safe: owned by the poll thread.

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "ioc/core/result.hpp"

namespace ioc::kafka {

class Admin;

/// The cluster id went from `old_id` to `new_id`.
struct ClusterChange {
  std::string old_id;
  std::string new_id;
};

class ClusterWatch {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  /// Answers the cluster's current id (may block, e.g. a metadata request).
  using AskId = std::function<Result<std::string>()>;

  static constexpr std::chrono::seconds kDefaultInterval{30};

  explicit ClusterWatch(AskId ask, std::chrono::steady_clock::duration interval = kDefaultInterval);
  /// Asks `admin` (which must outlive the watch), waiting at most `timeout`.
  explicit ClusterWatch(Admin& admin, std::chrono::milliseconds timeout = std::chrono::seconds(5),
                        std::chrono::steady_clock::duration interval = kDefaultInterval);

  /// Feeds the broker's reachability at `now` (e.g. every statistics
  /// snapshot); asks for the id when due (see above). The change, when the
  /// answer differs from the id known.
  [[nodiscard]] std::optional<ClusterChange> observe(bool reachable, TimePoint now);
  /// Asks for the id now. The change, when the answer differs from the id
  /// known; the first answer is learnt, not a change. A failed question
  /// changes nothing.
  [[nodiscard]] std::optional<ClusterChange> check(TimePoint now);

  /// The id last answered; empty before the first answer.
  [[nodiscard]] const std::string& id() const { return id_; }

 private:
  AskId ask_;
  std::chrono::steady_clock::duration interval_;
  std::string id_;
  bool reachable_ = true;
  std::optional<TimePoint> last_asked_;
};

}  // namespace ioc::kafka
