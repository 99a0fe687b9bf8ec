#include "ioc/kafka/progress.hpp"

#include <algorithm>
#include <utility>

namespace ioc::kafka {

ProgressWatch::ProgressWatch(std::string noun, std::chrono::milliseconds stall_timeout)
    : noun_(std::move(noun)), stall_timeout_(stall_timeout) {}

void ProgressWatch::update(const ConsumerStats& stats, const std::vector<TopicPartition>& positions, TimePoint now) {
  reachable_ = stats.brokers_up > 0;
  lags_.clear();
  waiting_ = 0;
  std::int64_t read = 0;
  std::size_t watched = 0;
  for (const PartitionStats& st : stats.partitions) {
    const auto mine = std::find_if(positions.begin(), positions.end(), [&](const TopicPartition& tp) {
      return tp.partition == st.partition && tp.topic == st.topic;
    });
    if (mine == positions.end()) continue;
    ++watched;
    // Nothing read yet: the position is where fetching starts.
    const std::int64_t position = mine->offset >= 0 ? mine->offset : st.fetch_offset;
    if (!reachable_ || st.high_watermark < 0 || position < 0) continue;
    const std::int64_t lag = std::max<std::int64_t>(0, st.high_watermark - position);
    lags_.push_back({st.topic, st.partition, position, lag});
    waiting_ += lag;
    read += position;
  }
  all_known_ = watched > 0 && lags_.size() == watched;
  // Progress: nothing waits, or the positions moved since the last snapshot.
  if (waiting_ == 0 || read != last_read_) last_progress_ = now;
  last_read_ = read;
  verdict_.clear();
  if (!reachable_) {
    verdict_ = "no broker connection (" + std::to_string(stats.brokers_known) + " brokers known)";
  } else if (now - last_progress_ >= stall_timeout_) {
    verdict_ = "not consuming: " + std::to_string(waiting_) + " " + noun_ + " waiting and no progress for " +
               std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now - last_progress_).count()) + "s";
  }
}

}  // namespace ioc::kafka
