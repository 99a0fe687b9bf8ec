#include "app.hpp"

#include <algorithm>

#include "ioc/core/config_error.hpp"
#include "ioc/kafka/admin.hpp"

namespace ioc::topics {

Config load_config(config::Source& src) {
  Config c;
  c.common = daemon::load_common(src, "ioc-topics", ":0");
  c.timeout = src.get_duration("topics.timeout", c.timeout, std::chrono::milliseconds(100));
  daemon::finish(src, "topics");
  return c;
}

const char* const kUsage =
    "\n"
    "Creates the topics of the plan (topics.*) that the cluster at kafka.bootstrap_servers\n"
    "lacks, waits until every broker shows each of them (printing what it waits for), then\n"
    "compares every planned topic with the cluster: partitions, replication, and each config\n"
    "the plan sets (cleanup.policy, retention.ms). Existing topics are never changed: for each\n"
    "difference it prints how to fix it.\n"
    "\n"
    "  --check   only compare; create nothing\n"
    "\n"
    "Replication: topics.replication_factor (-1, the default: the cluster's\n"
    "default.replication.factor) must not exceed the number of brokers: Kafka puts each\n"
    "replica of a partition on a broker of its own. topics.timeout bounds the wait.\n"
    "\n"
    "Exit codes: 0 every topic as planned; 1 a topic missing, different, or not created and\n"
    "visible in time, or the cluster unreachable; 2 a configuration error, including a\n"
    "replication factor above the cluster's broker count.\n";

namespace {

std::string describe(const kafka::TopicSpec& t) {
  std::string s = std::to_string(t.partitions) + " partitions, replication " +
                  (t.replication < 0 ? std::string("cluster default") : std::to_string(t.replication));
  for (const auto& [k, v] : t.configs) s += ", " + k + "=" + v;
  return s;
}

// How to bring one topic to its plan by hand: ioc-topics never changes an
// existing topic (new partitions move keys; a config change is the
// operator's decision).
std::vector<std::string> fixes(const std::string& topic, const std::vector<kafka::TopicDifference>& differences,
                               const std::string& bootstrap) {
  using Kind = kafka::TopicDifference::Kind;
  std::vector<std::string> out;
  const std::string recreate = "delete and recreate it (kafka-topics.sh --bootstrap-server " + bootstrap +
                               " --delete --topic " + topic + ", then ioc-topics; its records are lost)";
  std::string configs;
  for (const kafka::TopicDifference& d : differences) {
    if (d.topic != topic) continue;
    switch (d.kind) {
      case Kind::kPartitions:
        out.push_back(topic + ": " + recreate + ", or plan the " + d.actual + " it has (--set topics.partitions." +
                      topic + "=" + d.actual + ")");
        break;
      case Kind::kReplication:
        out.push_back(topic + ": give each partition " + d.expected +
                      " replicas with kafka-reassign-partitions.sh, or " + recreate);
        break;
      case Kind::kConfig: {
        // kafka-configs.sh takes a list value in brackets.
        const bool list = d.expected.find(',') != std::string::npos;
        configs += (configs.empty() ? "" : ",") + d.config + "=" + (list ? "[" + d.expected + "]" : d.expected);
        break;
      }
    }
  }
  if (!configs.empty()) {
    out.push_back(topic + ": kafka-configs.sh --bootstrap-server " + bootstrap +
                  " --alter --entity-type topics --entity-name " + topic + " --add-config " + configs);
  }
  return out;
}

}  // namespace

int run(const Config& cfg, bool check_only, std::ostream& out) {
  if (cfg.common.check_only) return daemon::config_ok(cfg.common);
  kafka::Admin admin(cfg.common.kafka);
  const auto& plan = cfg.common.topics;
  const std::string& bootstrap = cfg.common.kafka.bootstrap_servers;
  std::vector<std::string> created;
  bool failed = false;
  if (!check_only) {
    auto outcomes = kafka::create_missing_topics(admin, plan, cfg.timeout, [&out](const std::string& line) {
      out << "waiting  " << line << std::endl;  // flushed: it says why the tool is still running
    });
    if (!outcomes.ok() && outcomes.error().code == ErrorCode::kOutOfRange) {
      throw ConfigError("kafka " + bootstrap, "topics.replication_factor",
                        outcomes.error().message +
                            ": set it to at most the number of brokers, or to -1 for the cluster's "
                            "default.replication.factor");
    }
    if (!outcomes.ok()) {
      out << "error    " << bootstrap << ": " << outcomes.error().message << "\n";
      return 1;
    }
    for (const kafka::TopicOutcome& o : *outcomes) {
      if (o.created) created.push_back(o.name);
      if (!o.status.ok()) {
        out << "failed   " << o.name << ": " << o.status.error().message << "\n";
        failed = true;
      }
    }
  }
  auto check = kafka::check_topics(admin, plan, cfg.timeout);
  if (!check.ok()) {
    out << "error    " << bootstrap << ": " << check.error().message << "\n";
    return 1;
  }
  const auto contains = [](const std::vector<std::string>& v, const std::string& name) {
    return std::find(v.begin(), v.end(), name) != v.end();
  };
  std::vector<std::string> fix_lines;
  for (const kafka::TopicSpec& t : plan) {
    bool differs = false;
    for (const kafka::TopicDifference& d : check->differences) {
      if (d.topic != t.name) continue;
      out << "differs  " << d.describe() << "\n";
      differs = true;
    }
    if (contains(check->missing, t.name)) {
      out << "missing  " << t.name << " (" << describe(t) << ")\n";
    } else if (differs) {
      for (std::string& f : fixes(t.name, check->differences, bootstrap)) fix_lines.push_back(std::move(f));
    } else {
      out << (contains(created, t.name) ? "created  " : "ok       ") << t.name << " (" << describe(t) << ")\n";
    }
  }
  for (const std::string& note : check->notes) out << "note     " << note << "\n";
  for (const std::string& f : fix_lines) out << "fix      " << f << "\n";
  if (!fix_lines.empty()) {
    out << "note     ioc-topics never changes an existing topic; kafka-configs.sh before Kafka 2.6 takes "
           "--zookeeper <host:port> instead of --bootstrap-server for topics\n";
  }
  return check->ok() && !failed ? 0 : 1;
}

}  // namespace ioc::topics
