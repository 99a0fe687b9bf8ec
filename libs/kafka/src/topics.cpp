#include "ioc/kafka/topics.hpp"

#include <algorithm>

#include "ioc/kafka/admin.hpp"
#include "ioc/kafka/client_config.hpp"

namespace ioc::kafka {

std::vector<TopicSpec> project_topics(int partitions, int replication) {
  const std::map<std::string, std::string> compacted = {{"cleanup.policy", "compact"}};
  return {
      {topics::kReports, partitions, replication, {}},
      {topics::kReportStatus, 3, replication, {}},
      {topics::kTransactions, partitions, replication, {}},
      {topics::kTelemetry, 2 * partitions, replication, {}},
      {topics::kAggregates, partitions, replication, compacted},
      {topics::kAlerts, 3, replication, compacted},
      {topics::kDeadLetter, 3, replication, {{"retention.ms", std::to_string(30LL * 24 * 3600 * 1000)}}},
      {topics::kAggregatorState, partitions, replication, compacted},
  };
}

Result<TopicCheck> check_topics(Admin& admin, const std::vector<TopicSpec>& plan, std::chrono::milliseconds timeout) {
  auto existing = admin.topics(timeout);
  if (!existing.ok()) return existing.error();
  TopicCheck out;
  for (const TopicSpec& want : plan) {
    auto it = std::find_if(existing->begin(), existing->end(), [&](const TopicInfo& t) { return t.name == want.name; });
    if (it == existing->end()) {
      out.missing.push_back(want.name);
    } else if (want.partitions > 0 && it->partitions != want.partitions) {
      out.mismatched.push_back(want.name + ": " + std::to_string(it->partitions) + " partitions, expected " +
                               std::to_string(want.partitions));
    }
  }
  return out;
}

Result<std::vector<TopicOutcome>> create_missing_topics(Admin& admin, const std::vector<TopicSpec>& plan,
                                                        std::chrono::milliseconds timeout) {
  auto check = check_topics(admin, plan, timeout);
  if (!check.ok()) return check.error();
  std::vector<TopicSpec> missing;
  for (const TopicSpec& t : plan) {
    if (std::find(check->missing.begin(), check->missing.end(), t.name) != check->missing.end()) missing.push_back(t);
  }
  auto created = missing.empty() ? Result<std::vector<Status>>(std::vector<Status>{})
                                 : admin.create_topics(missing, timeout);
  if (!created.ok()) return created.error();
  std::vector<TopicOutcome> out;
  std::size_t next = 0;
  for (const TopicSpec& t : plan) {
    if (next < missing.size() && missing[next].name == t.name) {
      const Status& st = (*created)[next++];
      out.push_back({t.name, st.ok(), st});
    } else {
      out.push_back({t.name, false, {}});
    }
  }
  return out;
}

}  // namespace ioc::kafka
