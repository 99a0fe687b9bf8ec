#include "ioc/kafka/topics.hpp"

#include <algorithm>
#include <charconv>
#include <thread>

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
      {topics::kAirQuality, partitions, replication, {}},
      {topics::kAggregates, partitions, replication, compacted},
      {topics::kAlerts, 3, replication, compacted},
      {topics::kDeadLetter, 3, replication, {{"retention.ms", std::to_string(30LL * 24 * 3600 * 1000)}}},
      {topics::kAggregatorState, partitions, replication, compacted},
  };
}

std::string TopicDifference::describe() const {
  switch (kind) {
    case Kind::kPartitions:
      return topic + ": " + actual + " partitions, expected " + expected;
    case Kind::kReplication:
      return topic + ": replication " + actual + ", expected " + expected +
             (expected_is_default ? " (the cluster's default.replication.factor)" : "");
    case Kind::kConfig:
      return topic + ": " + (actual.empty() ? config + " not set" : config + "=" + actual) + ", expected " + expected;
  }
  return topic;
}

std::vector<TopicDifference> compare_topic(const TopicSpec& want, const TopicInfo& have,
                                           const std::map<std::string, std::string>* configs,
                                           std::optional<int> default_replication) {
  std::vector<TopicDifference> out;
  if (want.partitions > 0 && have.partitions != want.partitions) {
    TopicDifference& d = out.emplace_back(TopicDifference{want.name, TopicDifference::Kind::kPartitions});
    d.actual = std::to_string(have.partitions);
    d.expected = std::to_string(want.partitions);
  }
  const bool by_default = want.replication < 0;
  const int replication = by_default ? default_replication.value_or(0) : want.replication;
  if (replication > 0 && have.replication != replication) {
    TopicDifference& d = out.emplace_back(TopicDifference{want.name, TopicDifference::Kind::kReplication});
    d.actual = std::to_string(have.replication);
    d.expected = std::to_string(replication);
    d.expected_is_default = by_default;
  }
  if (configs != nullptr) {
    for (const auto& [name, value] : want.configs) {
      const auto it = configs->find(name);
      if (it == configs->end() || it->second != value) {
        out.push_back({want.name, TopicDifference::Kind::kConfig, name, it == configs->end() ? "" : it->second, value});
      }
    }
  }
  return out;
}

Result<TopicCheck> check_topics(Admin& admin, const std::vector<TopicSpec>& plan, std::chrono::milliseconds timeout) {
  auto existing = admin.topics(timeout);
  if (!existing.ok()) return existing.error();
  TopicCheck out;
  std::vector<std::pair<const TopicSpec*, const TopicInfo*>> found;
  for (const TopicSpec& want : plan) {
    auto it = std::find_if(existing->begin(), existing->end(), [&](const TopicInfo& t) { return t.name == want.name; });
    if (it == existing->end()) {
      out.missing.push_back(want.name);
    } else {
      found.emplace_back(&want, &*it);
    }
  }
  // Configs and the cluster's default replication, only when a found topic
  // needs them: a cluster without DescribeConfigs (the embedded broker) is
  // still checked on the rest.
  std::vector<std::string> with_configs;
  bool by_default = false;
  for (const auto& [want, have] : found) {
    if (!want->configs.empty()) with_configs.push_back(want->name);
    by_default = by_default || want->replication < 0;
  }
  std::optional<Admin::Configs> configs;
  std::optional<int> default_replication;
  if (!with_configs.empty() || by_default) {
    const std::string what = !by_default ? "configs" : with_configs.empty() ? "replication" : "configs and replication";
    // The broker first: it answers at once, where a topic's configs are asked
    // of the controller, and a cluster that cannot describe its brokers
    // cannot describe its topics either.
    auto broker = admin.broker_configs(timeout);
    if (!broker.ok()) {
      out.notes.push_back(what + " not checked: " + broker.error().message);
    } else if (!broker->has_value()) {
      out.notes.push_back(what + " not checked (the broker does not support DescribeConfigs)");
    } else {
      if (by_default) {
        const auto it = (*broker)->find("default.replication.factor");
        int n = 0;
        if (it != (*broker)->end() &&
            std::from_chars(it->second.data(), it->second.data() + it->second.size(), n).ec == std::errc() && n > 0) {
          default_replication = n;
        } else {
          out.notes.push_back("replication not checked: the broker does not report default.replication.factor");
        }
      }
      if (!with_configs.empty()) {
        auto described = admin.topic_configs(with_configs, timeout);
        if (!described.ok()) {
          out.notes.push_back("configs not checked: " + described.error().message);
        } else if (!described->has_value()) {
          out.notes.push_back("configs not checked (the controller does not support DescribeConfigs)");
        } else {
          configs = std::move(**described);
        }
      }
    }
  }
  for (const auto& [want, have] : found) {
    const std::map<std::string, std::string>* topic_configs = nullptr;
    if (configs && !want->configs.empty()) {
      if (auto it = configs->find(want->name); it != configs->end()) {
        topic_configs = &it->second;
      } else {
        out.notes.push_back("configs of " + want->name + " not checked: the broker did not describe them");
      }
    }
    for (TopicDifference& d : compare_topic(*want, *have, topic_configs, default_replication)) {
      out.differences.push_back(std::move(d));
    }
  }
  return out;
}

// ------------------------------------------------------------ TopicSetup

TopicSetup::TopicSetup(std::vector<TopicSpec> plan) {
  for (TopicSpec& spec : plan) topics_.push_back({std::move(spec)});
}

TopicSetup::Topic* TopicSetup::find(const std::string& name) {
  auto it = std::find_if(topics_.begin(), topics_.end(), [&](const Topic& t) { return t.spec.name == name; });
  return it == topics_.end() ? nullptr : &*it;
}

void TopicSetup::observe(const std::vector<BrokerTopics>& brokers) {
  observed_ = true;
  brokers_ = static_cast<int>(brokers.size());
  silent_.clear();
  for (const BrokerTopics& b : brokers) {
    if (!b.answered) silent_.push_back("broker " + std::to_string(b.broker_id) + " (" + b.error + ")");
  }
  for (Topic& t : topics_) {
    t.visible = 0;
    t.leaderless = 0;
    for (const BrokerTopics& b : brokers) {
      if (!b.answered) continue;
      auto it =
          std::find_if(b.topics.begin(), b.topics.end(), [&](const TopicInfo& i) { return i.name == t.spec.name; });
      if (it == b.topics.end()) continue;
      ++t.visible;
      t.leaderless = std::max(t.leaderless, it->leaderless);
      t.partitions = it->partitions;
    }
    if (t.visible > 0 && !t.exists) {
      t.exists = true;
      // Seen after a request of ours that timed out: that request made it.
      t.created = t.attempts > 0;
      t.retry.clear();
    }
  }
}

std::vector<TopicSpec> TopicSetup::to_create() const {
  std::vector<TopicSpec> out;
  if (!observed_) return out;
  for (const Topic& t : topics_) {
    if (!t.exists && !t.failure) out.push_back(t.spec);
  }
  return out;
}

std::optional<Error> TopicSetup::replication_error() const {
  int most = 0;
  for (const TopicSpec& t : to_create()) most = std::max(most, t.replication);
  if (most <= brokers_) return std::nullopt;
  return Error{ErrorCode::kOutOfRange, "replication " + std::to_string(most) + " is more than the " +
                                           std::to_string(brokers_) + " broker(s) the cluster has (Kafka puts each " +
                                           "replica of a partition on a broker of its own)"};
}

namespace {

bool retriable(const Error& e) { return e.code == ErrorCode::kUnavailable || e.code == ErrorCode::kDeadlineExceeded; }

}  // namespace

void TopicSetup::created(const std::vector<TopicCreation>& answers) {
  for (const TopicCreation& a : answers) {
    Topic* t = find(a.name);
    if (t == nullptr) continue;
    ++t->attempts;
    if (a.status.ok()) {
      if (!t->exists) t->created = !a.existed || t->attempts > 1;
      t->exists = true;
      t->retry.clear();
    } else if (retriable(a.status.error())) {
      t->retry = a.status.error().message;
    } else {
      t->failure = a.status.error();
    }
  }
}

void TopicSetup::create_failed(const std::vector<TopicSpec>& asked, const Error& error) {
  for (const TopicSpec& spec : asked) {
    Topic* t = find(spec.name);
    if (t == nullptr) continue;
    ++t->attempts;
    if (retriable(error)) {
      t->retry = error.message;
    } else {
      t->failure = error;
    }
  }
}

bool TopicSetup::ready(const Topic& t) const {
  // A topic that existed before needs only to be known everywhere; one
  // created here also needs its leaders, or the first writes fail.
  return t.exists && brokers_ > 0 && t.visible == brokers_ && (!t.created || t.leaderless == 0);
}

bool TopicSetup::settled() const {
  return observed_ &&
         std::all_of(topics_.begin(), topics_.end(), [&](const Topic& t) { return t.failure || ready(t); });
}

std::string TopicSetup::waiting_for(const Topic& t) const {
  if (!t.exists) return t.retry.empty() ? "not created yet" : t.retry + "; asking again";
  std::string s = "visible on " + std::to_string(t.visible) + " of " + std::to_string(brokers_) + " brokers";
  if (t.created && t.leaderless > 0) {
    s += ", " + std::to_string(t.leaderless) + " of " + std::to_string(t.partitions) + " partitions without a leader";
  }
  if (!silent_.empty()) {
    s += "; no answer from";
    for (std::size_t i = 0; i < silent_.size(); ++i) s += (i == 0 ? " " : ", ") + silent_[i];
  }
  return s;
}

std::vector<std::string> TopicSetup::progress() {
  std::vector<std::string> out;
  if (!observed_) return out;
  for (Topic& t : topics_) {
    if (t.failure || ready(t) || (!t.exists && t.retry.empty())) continue;
    std::string line = t.spec.name + ": " + waiting_for(t);
    if (line == t.reported) continue;
    t.reported = line;
    out.push_back(std::move(line));
  }
  return out;
}

std::vector<TopicOutcome> TopicSetup::outcomes() const {
  std::vector<TopicOutcome> out;
  for (const Topic& t : topics_) {
    if (t.failure) {
      out.push_back({t.spec.name, false, *t.failure});
    } else if (ready(t)) {
      out.push_back({t.spec.name, t.created, {}});
    } else {
      const std::string why = !observed_ ? "the cluster did not answer"
                              : !t.exists
                                  ? "not created in time" + (t.retry.empty() ? "" : " (last answer: " + t.retry + ")")
                                  : "not shown by every broker in time: " + waiting_for(t);
      out.push_back({t.spec.name, t.created, Error{ErrorCode::kDeadlineExceeded, why}});
    }
  }
  return out;
}

// ------------------------------------------------------------ the driver

Result<std::vector<TopicOutcome>> create_missing_topics(Admin& admin, const std::vector<TopicSpec>& plan,
                                                        std::chrono::milliseconds timeout,
                                                        const std::function<void(const std::string&)>& progress) {
  using std::chrono::milliseconds;
  using Steady = std::chrono::steady_clock;
  // One broker that does not answer must not use up the whole timeout.
  constexpr milliseconds kAskTimeout{5000};
  constexpr milliseconds kPoll{250};
  // Real time on purpose: the timeout bounds real waits on the brokers.
  const Steady::time_point deadline = Steady::now() + timeout;
  const auto left = [&] {
    return std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(deadline - Steady::now()));
  };
  const auto report = [&](const std::string& line) {
    if (progress) progress(line);
  };
  TopicSetup setup(plan);
  bool observed = false;
  std::optional<Error> unanswered;  // the last failure to reach the cluster
  std::string reported;
  while (true) {
    auto brokers = admin.topics_by_broker(std::clamp(left(), milliseconds(100), kAskTimeout));
    if (brokers.ok()) {
      observed = true;
      setup.observe(*brokers);
      if (auto e = setup.replication_error()) return *e;
      // What this answer shows, before a request changes it.
      for (const std::string& line : setup.progress()) report(line);
      if (setup.settled()) break;
      if (std::vector<TopicSpec> todo = setup.to_create(); !todo.empty() && left() > milliseconds(0)) {
        auto answers = admin.create_topics(todo, left());
        if (answers.ok()) {
          setup.created(*answers);
        } else {
          setup.create_failed(todo, answers.error());
        }
        // Created: ask the brokers at once, the news may already be
        // everywhere. To be asked again: after a pause.
        if (setup.to_create().empty()) continue;
      }
    } else if (!retriable(brokers.error())) {
      return brokers.error();
    } else {
      unanswered = brokers.error();
      if (brokers.error().message != reported) report("the cluster: " + brokers.error().message);
      reported = brokers.error().message;
    }
    if (left() <= milliseconds(0)) break;
    std::this_thread::sleep_for(std::min(kPoll, left()));
  }
  // A cluster that never answered has no topics to report on.
  if (!observed && unanswered) return *unanswered;
  return setup.outcomes();
}

}  // namespace ioc::kafka
