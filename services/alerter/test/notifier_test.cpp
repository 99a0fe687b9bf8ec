#include "notifier.hpp"

#include <gtest/gtest.h>
#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>
#include <prometheus/registry.h>

#include <map>

#include <boost/json/parse.hpp>

#include "events.hpp"
#include "ioc/core/time_format.hpp"

namespace ioc::alerter {
namespace {

using namespace std::chrono_literals;
using test::at;
using test::event;
using S = AlertEvent::State;

class FakeAlertmanager : public AlertSink {
 public:
  Status post(const std::string& path, const std::string& json) override {
    std::lock_guard lock(mu);
    paths.push_back(path);
    if (down) return unavailable("connect: connection refused");
    bodies.push_back(boost::json::parse(json).as_array());
    return {};
  }
  std::mutex mu;
  bool down = false;
  std::vector<std::string> paths;
  std::vector<boost::json::array> bodies;
};

AlertmanagerTarget am_target(const std::string& url = "http://127.0.0.1:9093") {
  AlertmanagerTarget t;
  t.url = url;
  return t;
}

AlertmanagerConfig am_config() {
  AlertmanagerConfig c;
  c.targets = {am_target()};
  c.resend_interval = 60s;
  c.backoff_min = 1s;
  c.backoff_max = 8s;
  return c;
}

TEST(AlertmanagerBodyTest, CarriesLabelsAnnotationsTimesAndALinkBack) {
  const AlertEvent firing = event("fp1", S::kFiring, 10, 1);
  const auto arr = boost::json::parse(alertmanager_body({firing}, at(10), 60s, "http://alerter:9102")).as_array();
  ASSERT_EQ(arr.size(), 1u);
  const auto& a = arr[0].as_object();
  EXPECT_EQ(a.at("labels").at("alertname").as_string(), "FloodReportSurge");
  EXPECT_EQ(a.at("labels").at("district").as_string(), "380");
  EXPECT_EQ(a.at("annotations").at("summary").as_string(), "23 flood reports in Thành phố Thanh Hóa");
  EXPECT_EQ(a.at("startsAt").as_string(), format_rfc3339(at(0)));
  EXPECT_EQ(a.at("endsAt").as_string(), format_rfc3339(at(10 + 240)));  // four resends ahead
  EXPECT_EQ(a.at("generatorURL").as_string(), "http://alerter:9102/api/v1/alerts/" + firing.id);
  const auto resolved = boost::json::parse(alertmanager_body({event("fp1", S::kResolved, 50, 2)}, at(60), 60s, ""));
  EXPECT_EQ(resolved.as_array()[0].at("endsAt").as_string(), format_rfc3339(at(50)));
}

TEST(NotifierTest, RetriesWhileAlertmanagerIsDownAndLosesNothing) {
  FakeAlertmanager am;
  ManualClock clock(at(0));
  prometheus::Registry metrics;
  Notifier n(am_config(), am_target(), "http://alerter:9102", am, clock, metrics);
  am.down = true;
  n.notify(event("fp1", S::kFiring, 0, 1), false);
  n.notify(event("fp2", S::kFiring, 0, 1), false);
  EXPECT_FALSE(n.deliver_due());
  EXPECT_EQ(n.depth(), 2u);
  EXPECT_TRUE(n.deliver_due());  // backing off: no second attempt at the same time
  EXPECT_EQ(am.paths.size(), 1u);
  // fp1 resolves while Alertmanager is away: its resolution replaces the firing state.
  n.notify(event("fp1", S::kResolved, 0.5, 2), false);
  clock.set(at(1));
  EXPECT_FALSE(n.deliver_due());
  am.down = false;
  clock.set(at(2));
  EXPECT_TRUE(n.deliver_due());  // backoff is 2 s now
  EXPECT_EQ(am.bodies.size(), 0u);
  clock.set(at(3));
  EXPECT_TRUE(n.deliver_due());
  ASSERT_EQ(am.bodies.size(), 1u);
  EXPECT_EQ(am.paths.back(), "/api/v2/alerts");
  ASSERT_EQ(am.bodies[0].size(), 2u);
  std::map<std::string, std::string> ends;  // by fingerprint
  for (const auto& a : am.bodies[0]) {
    const std::string url(a.at("generatorURL").as_string());
    const std::string id = url.substr(url.rfind('/') + 1);
    ends[id.substr(0, id.find('-'))] = a.at("endsAt").as_string();
  }
  EXPECT_EQ(ends["fp1"], format_rfc3339(at(0.5)));  // delivered as resolved
  EXPECT_EQ(ends["fp2"], format_rfc3339(at(3 + 240)));  // firing
  EXPECT_EQ(n.depth(), 0u);
}

TEST(NotifierTest, StopDeliversWhatIsQueued) {
  FakeAlertmanager am;
  prometheus::Registry metrics;
  Notifier n(am_config(), am_target(), "", am, SystemClock::instance(), metrics);
  n.start();
  n.notify(event("fp1", S::kResolved, 0, 2), false);
  n.stop(5s);
  EXPECT_EQ(n.depth(), 0u);
  std::size_t delivered = 0;
  for (const auto& b : am.bodies) delivered += b.size();
  EXPECT_EQ(delivered, 1u);
}

TEST(NotifierTest, BatchesAreBounded) {
  FakeAlertmanager am;
  ManualClock clock(at(0));
  prometheus::Registry metrics;
  AlertmanagerConfig cfg = am_config();
  cfg.max_batch = 3;
  Notifier n(cfg, am_target(), "", am, clock, metrics);
  for (int i = 0; i < 7; ++i) n.notify(event("fp" + std::to_string(i), S::kFiring, 0, 1), false);
  EXPECT_TRUE(n.deliver_due());
  ASSERT_EQ(am.bodies.size(), 3u);
  EXPECT_EQ(am.bodies[0].size(), 3u);
  EXPECT_EQ(am.bodies[2].size(), 1u);
}

double sample(prometheus::Registry& r, const std::string& name, const std::string& instance,
              const std::string& outcome = "") {
  for (const auto& family : r.Collect()) {
    if (family.name != name) continue;
    for (const auto& m : family.metric) {
      std::map<std::string, std::string> labels;
      for (const auto& l : m.label) labels[l.name] = l.value;
      if (labels["alertmanager"] != instance || (!outcome.empty() && labels["outcome"] != outcome)) continue;
      if (family.type == prometheus::MetricType::Histogram) return static_cast<double>(m.histogram.sample_count);
      return family.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
    }
  }
  return -1;
}

TEST(NotifierTest, EachInstanceOfAClusterHasItsOwnQueueAndMetrics) {
  // Two instances of an Alertmanager cluster, as ioc-alerter wires them:
  // one notifier each, every alert queued at both. One down delays nothing
  // at the other, and gets the alert (and its resolution) once it is back.
  FakeAlertmanager am0, am1;
  ManualClock clock(at(0));
  prometheus::Registry metrics;
  const AlertmanagerConfig cfg = am_config();
  Notifier n0(cfg, am_target("http://am-0:9093"), "", am0, clock, metrics);
  Notifier n1(cfg, am_target("http://am-1:9093"), "", am1, clock, metrics);
  am1.down = true;
  for (Notifier* n : {&n0, &n1}) n->notify(event("fp1", S::kFiring, 0, 1), false);
  EXPECT_TRUE(n0.deliver_due());
  EXPECT_FALSE(n1.deliver_due());
  EXPECT_EQ(n0.depth(), 0u);
  EXPECT_EQ(n1.depth(), 1u);
  EXPECT_EQ(sample(metrics, "ioc_alerter_alertmanager_up", "http://am-0:9093"), 1);
  EXPECT_EQ(sample(metrics, "ioc_alerter_alertmanager_up", "http://am-1:9093"), 0);
  EXPECT_EQ(sample(metrics, "ioc_alerter_delivery_queue_depth", "http://am-1:9093"), 1);
  EXPECT_EQ(sample(metrics, "ioc_alerter_notifications_total", "http://am-0:9093", "sent"), 1);
  EXPECT_EQ(sample(metrics, "ioc_alerter_notifications_total", "http://am-1:9093", "failed"), 1);
  // Every POST is timed, answered or failed.
  EXPECT_EQ(sample(metrics, "ioc_alerter_alertmanager_request_seconds", "http://am-0:9093"), 1);
  EXPECT_EQ(sample(metrics, "ioc_alerter_alertmanager_request_seconds", "http://am-1:9093"), 1);

  for (Notifier* n : {&n0, &n1}) n->notify(event("fp1", S::kResolved, 5, 2), false);
  clock.set(at(6));
  EXPECT_TRUE(n0.deliver_due());
  am1.down = false;
  EXPECT_TRUE(n1.deliver_due());
  ASSERT_EQ(am0.bodies.size(), 2u);
  ASSERT_EQ(am1.bodies.size(), 1u);  // only the latest state: the resolution
  EXPECT_EQ(am1.bodies[0][0].at("endsAt").as_string(), format_rfc3339(at(5)));
  EXPECT_EQ(sample(metrics, "ioc_alerter_delivery_queue_depth", "http://am-1:9093"), 0);
  EXPECT_EQ(sample(metrics, "ioc_alerter_alertmanager_up", "http://am-1:9093"), 1);
}

}  // namespace
}  // namespace ioc::alerter
