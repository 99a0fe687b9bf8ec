// The alerter's pipeline without Kafka: in-memory results, recorded
// outputs, a manual clock. Timers, checkpoints, reloads, restores and
// resolutions, in milliseconds.
#include "pipeline.hpp"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <memory>

#include "ioc/codec/codec.hpp"
#include "ioc/kafka/client_config.hpp"
#include "ioc/kafka/fakes/fakes.hpp"
#include "ioc/rules/parse.hpp"
#include "metrics.hpp"
#include "province.hpp"

namespace ioc::alerter {
namespace {

using namespace std::chrono_literals;
using S = AlertEvent::State;

constexpr std::int64_t kT0 = 1'699'999'200'000;  // an hour boundary

/// A rule on flood reports per district: fires at 20 a minute, clears under 10.
std::string surge_rule(const std::string& name = "FloodSurge") {
  return "rules:\n  - name: " + name + R"y(
    view: reports_1m
    group_by: [district, category]
    match: {category: flood}
    value: count
    fire: ">= 20"
    clear: "< 10"
    grace: 10s
    severity: critical
    category_from: category
    annotations: {summary: "{{value}} flood reports in {{district_name}}"}
    scenario: Send the rescue team.
)y";
}

/// The outputs, as the Alerter would send them.
class RecordingSink : public Sink {
 public:
  void publish(const AlertEvent& e) override { published.push_back(e); }
  void dead_letter(const kafka::RecordView& r, std::string_view reason) override {
    outbox.produce(kafka::topics::kDeadLetter, r.key, r.value, kafka::dead_letter_headers(r, reason, "ioc-alerter"));
  }
  void checkpoint(const Checkpoint& c, bool commit) override { checkpoints.emplace_back(c, commit); }
  void clear() {
    published.clear();
    outbox.clear();
    checkpoints.clear();
  }

  std::vector<AlertEvent> published;
  kafka::fakes::Outbox outbox;
  std::vector<std::pair<Checkpoint, bool>> checkpoints;
};

class RecordingChannel : public AlertChannel {
 public:
  void notify(const AlertEvent& e, bool resend) override { heard.emplace_back(e, resend); }
  std::vector<std::pair<AlertEvent, bool>> heard;
};

std::string states(const std::vector<AlertEvent>& events) {
  std::string s;
  for (const auto& e : events) s += std::string(s.empty() ? "" : ",") + to_string(e.state);
  return s;
}

class PipelineTest : public ::testing::Test {
 protected:
  PipelineTest() {
    views_ = views::Catalog::parse(test::kReportsViews, "views.yaml");
    cfg_.alertmanager.resend_interval = 60s;
  }

  rules::RuleSet rules(const std::string& yaml) {
    rules::Parsed p = rules::parse_rules(yaml, "rules.yaml", &views_);
    for (const auto& e : p.errors) ADD_FAILURE() << e.to_string();
    return std::move(p.rules);
  }

  /// A pipeline with the surge rule, restored from `checkpoint` and `published`, its input assigned and read.
  Pipeline& start(const Result<std::optional<Checkpoint>>& checkpoint = std::optional<Checkpoint>{},
                  const std::optional<std::map<std::string, AlertEvent>>& published =
                      std::map<std::string, AlertEvent>{}) {
    pipeline_ = std::make_unique<Pipeline>(cfg_, rules(rules_yaml_), views_, registry_, clock_, metrics_, sink_,
                                           std::vector<AlertChannel*>{&channel_}, box_);
    pipeline_->restore(checkpoint, published);
    pipeline_->assigning("cluster-A");
    pipeline_->assigned();
    pipeline_->backlog(true, 0);
    return *pipeline_;
  }

  /// One poll: `count` flood reports in district 380 for the window
  /// starting `start_s` seconds after kT0 (revision `revision`).
  void poll(double start_s, std::int64_t count, std::uint64_t revision, std::int32_t partition = 0) {
    WindowResult r;
    r.view = "reports_1m";
    r.group = {{"district", "380"}, {"category", "flood"}};
    r.window_start = from_epoch_ms(kT0 + static_cast<std::int64_t>(start_s * 1000));
    r.window_end = r.window_start + 60s;
    r.revision = revision;
    r.count = count;
    r.values = {{"count", static_cast<double>(count)}};
    std::string bytes;
    codec::encode(r, bytes);
    const auto& rec = log_.append(kafka::topics::kAggregates, partition, "k", bytes, to_epoch_ms(clock_.now()));
    pipeline_->begin_batch();
    pipeline_->handle(rec.view());
    pipeline_->tick(true);
  }
  /// An empty poll after `d`.
  void idle(Millis d) {
    clock_.advance(d);
    pipeline_->begin_batch();
    pipeline_->tick(false);
  }

  double counter(prometheus::Family<prometheus::Counter>& f, const std::string& state) {
    return f.Add({{"state", state}}).Value();
  }

  Config cfg_;
  std::string rules_yaml_ = surge_rule();
  views::Catalog views_;
  Registry registry_ = test::one_district();
  ManualClock clock_{from_epoch_ms(kT0 + 30'000)};
  prometheus::Registry prom_;
  Metrics metrics_{prom_};
  RecordingSink sink_;
  RecordingChannel channel_;
  AlertViewBox box_;
  kafka::fakes::Log log_;
  std::unique_ptr<Pipeline> pipeline_;
};

TEST_F(PipelineTest, AResultOverTheThresholdFiresAtOnceToTheTopicAndTheChannels) {
  start();
  poll(0, 23, 1);
  ASSERT_EQ(states(sink_.published), "firing");
  const AlertEvent& e = sink_.published[0];
  EXPECT_EQ(e.summary, "23 flood reports in Thành phố Thanh Hóa");
  EXPECT_EQ(e.sent_at, clock_.now());
  ASSERT_EQ(channel_.heard.size(), 1u);
  EXPECT_FALSE(channel_.heard[0].second);
  EXPECT_EQ(metrics_.applied.Value(), 1);
  EXPECT_EQ(counter(metrics_.transitions, "firing"), 1);
  ASSERT_EQ(box_.get()->active.size(), 1u);  // the API's view follows
  // The channel's vocabulary names the category of a rule that names none.
  const auto cap = std::find_if(e.annotations.begin(), e.annotations.end(),
                                [](const Label& l) { return l.name == "cap_category"; });
  ASSERT_NE(cap, e.annotations.end());
  EXPECT_EQ(cap->value, "Met");
}

TEST_F(PipelineTest, NothingIsJudgedUntilTheBacklogIsReadOrRestoreTimeoutPassed) {
  pipeline_ = std::make_unique<Pipeline>(cfg_, rules(surge_rule()), views_, registry_, clock_, metrics_, sink_,
                                         std::vector<AlertChannel*>{&channel_}, box_);
  pipeline_->restore(std::optional<Checkpoint>{}, std::nullopt);
  pipeline_->assigning("");
  pipeline_->assigned();
  poll(0, 23, 1);
  idle(2s);
  pipeline_->backlog(false, 500);
  idle(2s);
  EXPECT_FALSE(pipeline_->evaluating());
  EXPECT_EQ(sink_.published.size(), 0u);
  clock_.advance(cfg_.restore_timeout);
  pipeline_->backlog(false, 500);
  EXPECT_TRUE(pipeline_->evaluating());
  idle(1s);  // the evaluation of every alert is due
  EXPECT_EQ(states(sink_.published), "firing");
}

TEST_F(PipelineTest, TheEvaluationTimerResolvesAnAlertWhoseWindowEndedWithoutASuccessor) {
  start();
  poll(0, 23, 1);
  ASSERT_EQ(states(sink_.published), "firing");
  idle(30s);  // the window ended at kT0 + 60 s, grace 10 s: still current
  EXPECT_EQ(states(sink_.published), "firing");
  idle(11s);  // no current window, but the next one may yet get its records
  EXPECT_EQ(states(sink_.published), "firing");
  idle(59s);  // it ended empty at kT0 + 120 s (+ grace)
  EXPECT_EQ(states(sink_.published), "firing,resolved");
  ASSERT_GE(channel_.heard.size(), 2u);  // then its resolution sent again each resend_interval
  EXPECT_EQ(channel_.heard[1].first.state, S::kResolved);
  EXPECT_FALSE(channel_.heard[1].second);
  EXPECT_EQ(sink_.published[1].ends_at, clock_.now());
  EXPECT_TRUE(box_.get()->active.empty());
}

TEST_F(PipelineTest, EveryAlertIsJudgedEachEvaluationInterval) {
  cfg_.evaluation_interval = 15s;
  start();
  poll(0, 23, 1);
  // Evaluations of every alert at +15 s, +30 s (the window is still
  // current), ... +90 s (the next window, with no result, may yet get its
  // records) and +105 s (it ended, empty, 10 s ago).
  for (int s = 1; s < 105; ++s) idle(1s);
  EXPECT_EQ(states(sink_.published), "firing");
  idle(1s);
  EXPECT_EQ(states(sink_.published), "firing,resolved");
}

TEST_F(PipelineTest, TransitionsAreCheckpointedWithinASecondAndEverythingEachInterval) {
  start();
  poll(0, 23, 1, 3);
  EXPECT_TRUE(sink_.checkpoints.empty());  // the timers started under a second ago
  idle(1s);
  ASSERT_EQ(sink_.checkpoints.size(), 1u);
  const auto& [c, commit] = sink_.checkpoints[0];
  EXPECT_FALSE(commit);  // offsets are committed every checkpoint_interval only
  EXPECT_EQ(c.cluster_id, "cluster-A");
  EXPECT_EQ(c.topic, cfg_.input_topic);
  EXPECT_EQ(c.offsets, (std::map<std::int32_t, std::int64_t>{{3, 1}}));
  EXPECT_EQ(c.events.size(), 1u);
  EXPECT_EQ(c.written_at, clock_.now());
  EXPECT_FALSE(c.rules.empty());
  for (int s = 0; s < 4; ++s) idle(1s);
  EXPECT_EQ(sink_.checkpoints.size(), 1u);  // nothing changed: checkpoint_interval (5 s) after the last
  idle(1s);
  ASSERT_EQ(sink_.checkpoints.size(), 2u);
  EXPECT_TRUE(sink_.checkpoints[1].second);
  pipeline_->finish();
  ASSERT_EQ(sink_.checkpoints.size(), 3u);
  EXPECT_TRUE(sink_.checkpoints[2].second);
}

TEST_F(PipelineTest, AReloadKeepsTheStateOfKeptRulesAndResolvesTheAlertsOfRemovedOnes) {
  start();
  poll(0, 23, 1);
  pipeline_->replace_rules(rules(surge_rule()));
  pipeline_->apply_new_rules();
  idle(1s);
  EXPECT_EQ(states(sink_.published), "firing");  // same rule: the alert goes on
  EXPECT_EQ(pipeline_->evaluator().stats().series, 1u);
  pipeline_->replace_rules(rules(surge_rule("RiverFlood")));
  pipeline_->apply_new_rules();
  EXPECT_EQ(states(sink_.published), "firing,resolved");
  EXPECT_EQ(sink_.published[1].revision, sink_.published[0].revision + 1);
  EXPECT_EQ(metrics_.reloads.Add({{"outcome", "ok"}}).Value(), 2);
  pipeline_->reload_rejected();
  EXPECT_EQ(metrics_.reloads.Add({{"outcome", "rejected"}}).Value(), 1);
}

TEST_F(PipelineTest, ARestartRestoresPublishesWhatTheTopicLacksAndTellsTheChannels) {
  start();
  poll(0, 23, 1, 2);
  idle(1s);
  ASSERT_EQ(sink_.checkpoints.size(), 1u);
  Checkpoint c = sink_.checkpoints[0].first;
  const AlertEvent firing = sink_.published[0];
  // A restart: the topic lost the event (a broker that restarted empty).
  sink_.clear();
  channel_.heard.clear();
  clock_.advance(2s);
  start(std::optional<Checkpoint>{c}, std::map<std::string, AlertEvent>{});
  EXPECT_EQ(pipeline_->restored_offsets(), (std::map<std::int32_t, std::int64_t>{{2, 1}}));
  ASSERT_EQ(states(sink_.published), "firing");
  EXPECT_EQ(sink_.published[0], firing);  // the same event, not a new transition
  ASSERT_EQ(channel_.heard.size(), 1u);    // Alertmanager hears the current state at once
  EXPECT_EQ(channel_.heard[0].first, firing);
  // The rule state came back too: the window's next revision resolves nothing.
  poll(0, 25, 2, 2);
  EXPECT_EQ(states(sink_.published), "firing");
  // Another restart, with the topic holding the event: nothing is published again.
  sink_.clear();
  start(std::optional<Checkpoint>{c}, std::map<std::string, AlertEvent>{{firing.fingerprint, firing}});
  EXPECT_TRUE(sink_.published.empty());
}

TEST_F(PipelineTest, AlertsOfRulesGoneSinceTheCheckpointAreResolvedAtRestore) {
  AlertEvent orphan;
  orphan.fingerprint = "fp-gone";
  orphan.id = "fp-gone-1";
  orphan.rule = "RemovedRule";
  orphan.state = S::kFiring;
  orphan.severity = "warning";
  orphan.revision = 3;
  orphan.sent_at = orphan.starts_at = from_epoch_ms(kT0);
  start(std::optional<Checkpoint>{}, std::map<std::string, AlertEvent>{{orphan.fingerprint, orphan}});
  ASSERT_EQ(states(sink_.published), "resolved");
  EXPECT_EQ(sink_.published[0].revision, 4u);
  EXPECT_EQ(sink_.published[0].ends_at, clock_.now());
}

TEST_F(PipelineTest, ACheckpointOfAnotherClusterIsReadFromTheStart) {
  Checkpoint c;
  c.cluster_id = "cluster-old";
  c.topic = cfg_.input_topic;
  c.offsets = {{0, 40}};
  pipeline_ = std::make_unique<Pipeline>(cfg_, rules(surge_rule()), views_, registry_, clock_, metrics_, sink_,
                                         std::vector<AlertChannel*>{}, box_);
  pipeline_->restore(std::optional<Checkpoint>{c}, std::nullopt);
  EXPECT_EQ(pipeline_->restored_offsets().size(), 1u);
  pipeline_->assigning("cluster-old");
  EXPECT_EQ(pipeline_->restored_offsets().size(), 1u);
  pipeline_->assigning("cluster-new");
  EXPECT_TRUE(pipeline_->restored_offsets().empty());
}

TEST_F(PipelineTest, UnusableResultsAreDeadLetteredWithTheirReason) {
  start();
  const auto& garbage = log_.append(kafka::topics::kAggregates, 1, "k", "\xff\xff not a result", 0);
  pipeline_->begin_batch();
  pipeline_->handle(garbage.view());
  ASSERT_EQ(sink_.outbox.all().size(), 1u);
  const auto& dl = sink_.outbox.all()[0];
  EXPECT_EQ(dl.topic, kafka::topics::kDeadLetter);
  EXPECT_TRUE(dl.header("ioc.error")->starts_with("invalid record: "));
  EXPECT_EQ(dl.header("ioc.source.partition"), "1");
  EXPECT_EQ(metrics_.invalid.Value(), 1);
  EXPECT_EQ(pipeline_->positions().at(1), 1);  // read past it
}

TEST_F(PipelineTest, AFailedPublicationIsRetriedUnlessANewerEventSupersededIt) {
  start();
  poll(0, 23, 1);
  const AlertEvent firing = sink_.published[0];
  pipeline_->publication_failed(firing);
  idle(1ms);
  ASSERT_EQ(sink_.published.size(), 2u);
  EXPECT_EQ(sink_.published[1], firing);
  EXPECT_EQ(metrics_.output_errors.Value(), 1);
  idle(100s);  // resolved once the window after it ended empty
  ASSERT_EQ(states(sink_.published), "firing,firing,resolved");
  pipeline_->publication_failed(firing);
  idle(1ms);
  EXPECT_EQ(sink_.published.size(), 3u);  // superseded: not put after the resolution
}

TEST_F(PipelineTest, LostLogsRepublishTheActiveAlertsAndForgetPositions) {
  start();
  poll(0, 23, 1, 0);
  poll(0, 23, 2, 0);
  const auto& back = log_.append(kafka::topics::kAggregates, 1, "k", "", 0);
  EXPECT_FALSE(pipeline_->goes_back(back.view()));  // a partition not read yet
  kafka::fakes::Log fresh;  // the broker's new log starts at 0 again
  const auto& first = fresh.append(kafka::topics::kAggregates, 0, "k", "", 0);
  EXPECT_TRUE(pipeline_->goes_back(first.view()));
  pipeline_->logs_lost("offsets went back");
  EXPECT_TRUE(pipeline_->positions().empty());
  EXPECT_EQ(states(sink_.published), "firing,firing");
  EXPECT_EQ(sink_.published[1], sink_.published[0]);
  // The aggregator's revisions start over: revision 1 of the window counts
  // again (final here: an open window's count proves no end).
  poll(0, 5, std::uint64_t{1} << 31 | 1, 0);
  idle(1s);
  EXPECT_EQ(states(sink_.published), "firing,firing,resolved");
}

TEST_F(PipelineTest, FiringAlertsAreResentToTheChannelsEachResendInterval) {
  start();
  poll(0, 23, 1);
  poll(60, 23, 1);  // the next window keeps it firing
  channel_.heard.clear();
  idle(59s);
  EXPECT_TRUE(channel_.heard.empty());
  idle(1s);
  ASSERT_EQ(channel_.heard.size(), 1u);
  EXPECT_TRUE(channel_.heard[0].second);
  EXPECT_EQ(channel_.heard[0].first.state, S::kFiring);
}

constexpr std::uint64_t kFinalRevision = std::uint64_t{1} << 31;

TEST_F(PipelineTest, AnEpisodesCapMessagesAndHistorySurviveARestart) {
  start();
  poll(0, 23, 1);
  poll(0, 2, kFinalRevision | 2);
  idle(1s);  // resolved
  const AlertBook::Episode* ep = pipeline_->book().episode(sink_.published[0].id);
  ASSERT_NE(ep, nullptr);
  ASSERT_EQ(ep->cap.size(), 2u);
  EXPECT_EQ(ep->cap[0].type, CapMsgType::kAlert);
  EXPECT_EQ(ep->cap[1].type, CapMsgType::kCancel);
  const auto history = box_.history().between(TimePoint::min(), TimePoint::max());
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].cap_messages, (std::vector<std::uint32_t>{1, 2}));
  EXPECT_TRUE(history[0].ended);
  idle(5s);
  ASSERT_FALSE(sink_.checkpoints.empty());
  const Checkpoint c = sink_.checkpoints.back().first;
  EXPECT_EQ(c.cap.size(), 2u);

  AlertViewBox fresh;
  Pipeline restarted(cfg_, rules(rules_yaml_), views_, registry_, clock_, metrics_, sink_, {}, fresh);
  auto decoded = decode_checkpoint(encode_checkpoint(c));
  ASSERT_TRUE(decoded.ok());
  restarted.restore(std::optional<Checkpoint>(*decoded), std::map<std::string, AlertEvent>{});
  EXPECT_EQ(restarted.book().episode(ep->latest.id)->cap, ep->cap);
  EXPECT_EQ(fresh.history().between(TimePoint::min(), TimePoint::max()), history);
}

/// A count only proves a clear once its window is final.
constexpr std::uint64_t kFinal = kFinalRevision;

/// A district alert inhibiting its stations' alerts (as BtsStationsDown does
/// BtsStationSilent), with hysteresis that lets the district resolve first.
std::string inhibiting_rules() {
  return R"y(rules:
  - name: DistrictDown
    view: reports_1m
    group_by: [district]
    value: count
    fire: ">= 20"
    clear: "< 15"
    grace: 10s
    category: infrastructure
    annotations: {summary: "{{value}} in {{district_name}}"}
    scenario: Call the operators.
    inhibits: [{rules: [StationSilent], equal: [district]}]
  - name: StationSilent
    view: reports_1m
    group_by: [district, category]
    value: count
    fire: ">= 10"
    clear: "< 5"
    grace: 10s
    category: infrastructure
    annotations: {summary: "{{value}} in {{district_name}}"}
    scenario: Call the station.
)y";
}

std::vector<std::string> heard(const std::vector<std::pair<AlertEvent, bool>>& h) {
  std::vector<std::string> out;
  for (const auto& [e, resend] : h) out.push_back(e.rule + " " + to_string(e.state));
  return out;
}

// Before: the district alert resolved at Alertmanager while its station
// alerts still fired, lifting the inhibition, and Alertmanager notified
// "StationSilent firing" just before the stations resolved too.
TEST_F(PipelineTest, AnInhibitingAlertResolvesAtTheChannelsOnlyAfterTheAlertsItInhibits) {
  rules_yaml_ = inhibiting_rules();
  start();
  poll(0, 23, 1);
  EXPECT_EQ(heard(channel_.heard), (std::vector<std::string>{"DistrictDown firing", "StationSilent firing"}));
  channel_.heard.clear();
  poll(0, 8, kFinal | 2);  // the district clears; its station holds (hysteresis)
  idle(1s);
  EXPECT_EQ(states(sink_.published), "firing,firing,resolved");  // the topic has it at once
  EXPECT_TRUE(heard(channel_.heard).empty());
  idle(1s);
  EXPECT_TRUE(heard(channel_.heard).empty());
  poll(0, 2, kFinal | 3);  // the station resolves: then the district
  idle(1s);
  EXPECT_EQ(heard(channel_.heard), (std::vector<std::string>{"StationSilent resolved", "DistrictDown resolved"}));
}

TEST_F(PipelineTest, AHeldResolutionGoesOutAfterFiveEvaluationIntervalsAtMost) {
  rules_yaml_ = inhibiting_rules();
  start();
  poll(0, 23, 1);
  channel_.heard.clear();
  poll(0, 8, kFinal | 2);  // the district resolves, held
  for (int i = 0; i < 4; ++i) idle(1s);
  EXPECT_TRUE(heard(channel_.heard).empty());
  idle(1s);
  EXPECT_EQ(heard(channel_.heard), (std::vector<std::string>{"DistrictDown resolved"}));
}

}  // namespace
}  // namespace ioc::alerter
