#include "ioc/kafka/cluster_watch.hpp"

#include <utility>

#include "ioc/kafka/admin.hpp"

namespace ioc::kafka {

ClusterWatch::ClusterWatch(AskId ask, std::chrono::steady_clock::duration interval)
    : ask_(std::move(ask)), interval_(interval) {}

ClusterWatch::ClusterWatch(Admin& admin, std::chrono::milliseconds timeout, std::chrono::steady_clock::duration interval)
    : ClusterWatch([&admin, timeout] { return admin.cluster_id(timeout); }, interval) {}

std::optional<ClusterChange> ClusterWatch::observe(bool reachable, TimePoint now) {
  // Back after an outage, or every interval: is it still the same cluster?
  // (Not at every snapshot: a question may block for its whole timeout.)
  const bool reconnected = reachable && !reachable_;
  reachable_ = reachable;
  if (!reachable) return std::nullopt;
  if (reconnected || !last_asked_ || now - *last_asked_ >= interval_) return check(now);
  return std::nullopt;
}

std::optional<ClusterChange> ClusterWatch::check(TimePoint now) {
  last_asked_ = now;
  Result<std::string> id = ask_();
  if (!id.ok() || id->empty() || *id == id_) return std::nullopt;
  ClusterChange change{std::exchange(id_, *id), *id};
  if (change.old_id.empty()) return std::nullopt;  // learnt
  return change;
}

}  // namespace ioc::kafka
