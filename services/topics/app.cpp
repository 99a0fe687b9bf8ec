#include "app.hpp"

#include <algorithm>

#include "ioc/kafka/admin.hpp"

namespace ioc::topics {

Config load_config(config::Source& src) {
  Config c;
  c.common = daemon::load_common(src, "ioc-topics", ":0");
  c.timeout = src.get_duration("topics.timeout", c.timeout, std::chrono::milliseconds(100));
  daemon::finish(src, "topics");
  return c;
}

namespace {

std::string describe(const kafka::TopicSpec& t) {
  std::string s = std::to_string(t.partitions) + " partitions, replication " +
                  (t.replication < 0 ? std::string("cluster default") : std::to_string(t.replication));
  for (const auto& [k, v] : t.configs) s += ", " + k + "=" + v;
  return s;
}

}  // namespace

int run(const Config& cfg, bool check_only, std::ostream& out) {
  if (cfg.common.check_only) return daemon::config_ok(cfg.common);
  kafka::Admin admin(cfg.common.kafka);
  const auto& plan = cfg.common.topics;
  std::vector<std::string> created;
  bool failed = false;
  if (!check_only) {
    auto outcomes = kafka::create_missing_topics(admin, plan, cfg.timeout);
    if (!outcomes.ok()) {
      out << "error    " << cfg.common.kafka.bootstrap_servers << ": " << outcomes.error().message << "\n";
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
    out << "error    " << cfg.common.kafka.bootstrap_servers << ": " << check.error().message << "\n";
    return 1;
  }
  const auto contains = [](const std::vector<std::string>& v, const std::string& name) {
    return std::find(v.begin(), v.end(), name) != v.end();
  };
  for (const kafka::TopicSpec& t : plan) {
    auto differs = std::find_if(check->mismatched.begin(), check->mismatched.end(),
                                [&](const std::string& m) { return m.starts_with(t.name + ":"); });
    if (contains(check->missing, t.name)) {
      out << "missing  " << t.name << " (" << describe(t) << ")\n";
    } else if (differs != check->mismatched.end()) {
      out << "differs  " << *differs << "\n";
    } else {
      out << (contains(created, t.name) ? "created  " : "ok       ") << t.name << " (" << describe(t) << ")\n";
    }
  }
  return check->ok() && !failed ? 0 : 1;
}

}  // namespace ioc::topics
