#include "app.hpp"

#include <boost/json.hpp>
#include <thread>

#include "ioc/core/log.hpp"
#include "ioc/http/client.hpp"

namespace ioc::aggregator {

namespace {

http::Response json_error(http::Status status, const std::string& message) {
  return http::make_response(status, boost::json::serialize(boost::json::object{{"error", message}}));
}

/// Adds the windows and partitions other replicas own to `out`
/// (`target` is this request's target, which they answer with local=1).
void ask_peers(const std::vector<std::string>& peers, const std::string& target, boost::json::object& out) {
  boost::json::array errors;
  for (const std::string& peer : peers) {
    // "http://host:port"
    std::string_view rest = peer;
    if (rest.starts_with("http://")) rest.remove_prefix(7);
    const auto colon = rest.rfind(':');
    const std::string host(rest.substr(0, colon));
    const int port = colon == std::string_view::npos ? 80 : std::atoi(std::string(rest.substr(colon + 1)).c_str());
    http::Client client(host, static_cast<std::uint16_t>(port), std::chrono::seconds(2));
    auto r = client.get(target + (target.find('?') == std::string::npos ? "?" : "&") + "local=1");
    std::string error;
    if (!r.ok()) {
      error = r.error().message;
    } else if (r->result() != http::Status::ok) {
      error = "HTTP " + std::to_string(r->result_int());
    } else {
      boost::system::error_code ec;
      auto v = boost::json::parse(r->body(), ec);
      if (ec || !v.is_object()) {
        error = "not a view answer";
      } else {
        for (auto& w : v.as_object()["windows"].as_array()) out["windows"].as_array().push_back(w);
        for (auto& p : v.as_object()["partitions"].as_array()) out["partitions"].as_array().push_back(p);
      }
    }
    if (!error.empty()) errors.push_back({{"peer", peer}, {"error", error}});
  }
  out["peer_errors"] = std::move(errors);
}

void add_routes(http::Router& router, const Config& cfg, const Aggregator& aggregator) {
  router.add(http::Verb::get, "/api/v1/views", "views",
             [&cfg](const http::Request&, const http::Params&, http::Responder res) {
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
             [&cfg, &aggregator](const http::Request& req, const http::Params& params, http::Responder res) {
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
               if (local || cfg.peers.empty()) return res.send(http::make_response(http::Status::ok, *answer));
               auto out = boost::json::parse(*answer).as_object();
               ask_peers(cfg.peers, std::string(target), out);
               res.send(http::make_response(http::Status::ok, boost::json::serialize(out)));
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
  add_routes(front.router(), cfg, aggregator);
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
