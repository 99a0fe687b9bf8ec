#include "app.hpp"

#include <boost/json.hpp>
#include <thread>

#include "ioc/core/log.hpp"

namespace ioc::aggregator {

namespace {

http::Response json_error(http::Status status, const std::string& message) {
  return http::make_response(status, boost::json::serialize(boost::json::object{{"error", message}}));
}

void add_routes(http::Router& router, const Config& cfg, const Aggregator& aggregator, const PeerQuery& peers) {
  router.add(http::Verb::get, "/api/v1/views", "views",
             [&cfg](const http::Request&, const http::Params&, const http::Responder& res) {
               boost::json::array views;
               for (const ViewConfig& v : cfg.views) {
                 boost::json::array group_by;
                 for (const auto& g : v.group_names) group_by.push_back(boost::json::string(g));
                 boost::json::array values;
                 for (const auto& n : v.value_names) values.push_back(boost::json::string(n));
                 views.push_back({{"name", v.spec.name},
                                  {"source", to_string(v.stream)},
                                  {"window", window::to_string(v.spec.window.kind)},
                                  {"group_by", std::move(group_by)},
                                  {"values", std::move(values)}});
               }
               res.send(http::make_response(http::Status::ok, boost::json::serialize(views)));
             });
  router.add(http::Verb::get, "/api/v1/views/{view}", "view",
             [&aggregator, &peers](const http::Request& req, const http::Params& params, const http::Responder& res) {
               ViewQuery q;
               q.view = params.front().second;
               bool local = false;
               const std::string_view target = req.target();
               const auto qmark = target.find('?');
               if (qmark != std::string_view::npos) {
                 for (auto& [k, v] : http::parse_form(target.substr(qmark + 1))) {
                   if (k == "local") {
                     local = true;
                   } else {
                     q.match.emplace_back(k, v);
                   }
                 }
               }
               auto answer = aggregator.query(q);
               if (!answer.ok()) {
                 return res.send(json_error(answer.error().code == ErrorCode::kNotFound ? http::Status::not_found
                                                                                        : http::Status::bad_request,
                                            answer.error().message));
               }
               if (local || peers.empty()) return res.send(http::make_response(http::Status::ok, *answer));
               // Answered when the peers have: the loop serves other requests meanwhile.
               peers.ask(std::string(target), boost::json::parse(*answer).as_object(),
                         [res](const boost::json::object& out) {
                           res.send(http::make_response(http::Status::ok, boost::json::serialize(out)));
                         });
             });
}

}  // namespace

int run(const Config& cfg) {
  if (cfg.common.check_only) return daemon::config_ok(cfg.common);
  log::init(cfg.common.service, cfg.common.log_level);
  std::vector<std::string> topics{cfg.output_topic, cfg.deadletter_topic, cfg.state_topic};
  for (const ViewConfig& v : cfg.views) {
    if (std::find(topics.begin(), topics.end(), topic_of(v.stream)) == topics.end()) topics.emplace_back(topic_of(v.stream));
  }
  daemon::check_topics(cfg.common, topics);
  const Registry registry = daemon::load_registry(cfg.common);
  daemon::Front front(cfg.common);
  Aggregator aggregator(cfg, registry, SystemClock::instance(), front.registry());
  const PeerQuery peers(front.io(), cfg.peers, cfg.peer_timeout);
  add_routes(front.router(), cfg, aggregator, peers);
  front.start([&aggregator] { return aggregator.readiness(); });
  std::atomic<bool> stop{false};
  bool healthy = true;
  std::thread poller([&] {
    healthy = aggregator.run(stop);
    front.request_stop();  // if the loop ends on its own, end the process too
  });
  std::string names;
  for (const ViewConfig& v : cfg.views) names += (names.empty() ? "" : ",") + v.spec.name;
  log::info("aggregator ready", {{"views_file", cfg.views_file},
                                 {"views", names},
                                 {"output", cfg.output_topic},
                                 {"state", cfg.state_topic},
                                 {"group", cfg.group_id}});
  const int sig = front.wait_for_signal();
  log::info("shutting down", {{"signal", sig}});
  stop = true;
  poller.join();
  // Checkpointed and closed: what remains (client teardown) may be cut short.
  front.shutdown_done(healthy ? 0 : 1);
  front.stop();
  return healthy ? 0 : 1;
}

}  // namespace ioc::aggregator
