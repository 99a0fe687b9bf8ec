#include "peers.hpp"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <charconv>
#include <memory>
#include <mutex>

#include "ioc/core/config_error.hpp"
#include "ioc/core/result.hpp"
#include "ioc/http/async_client.hpp"

namespace ioc::aggregator {

namespace json = boost::json;

Peer parse_peer(std::string_view url, const std::string& source, const std::string& key) {
  const auto bad = [&](const std::string& why) {
    return ConfigError(source, key, "'" + std::string(url) + "' is not a peer URL (" + why +
                                        "); expected http://host:port, e.g. http://10.0.0.2:9101");
  };
  std::string_view rest = url;
  if (rest.starts_with("http://")) rest.remove_prefix(7);
  if (rest.find("://") != std::string_view::npos) throw bad("only http is supported");
  if (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.find('/') != std::string_view::npos) throw bad("a base URL has no path");
  Peer p;
  p.url = std::string(url);
  const auto colon = rest.rfind(':');
  p.host = std::string(rest.substr(0, colon));
  if (p.host.empty()) throw bad("no host");
  if (colon != std::string_view::npos) {
    const std::string_view port = rest.substr(colon + 1);
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) {
      throw bad("the port must be 1-65535");
    }
    p.port = static_cast<std::uint16_t>(value);
  }
  return p;
}

bool merge_peer_answer(std::string_view body, json::object& out) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return false;
  json::object& answer = v.as_object();
  const json::value* windows = answer.if_contains("windows");
  const json::value* partitions = answer.if_contains("partitions");
  if (windows == nullptr || !windows->is_array() || partitions == nullptr || !partitions->is_array()) return false;
  json::array& out_windows = out["windows"].is_array() ? out["windows"].as_array() : out["windows"].emplace_array();
  json::array& out_partitions =
      out["partitions"].is_array() ? out["partitions"].as_array() : out["partitions"].emplace_array();
  for (const auto& w : windows->as_array()) out_windows.push_back(w);
  for (const auto& p : partitions->as_array()) out_partitions.push_back(p);
  return true;
}

PeerQuery::PeerQuery(boost::asio::io_context& io, std::vector<Peer> peers, std::chrono::milliseconds timeout)
    : io_(io), peers_(std::make_shared<const std::vector<Peer>>(std::move(peers))), timeout_(timeout) {}

namespace {

// The peers' answers of one query, merged in peer order once all are in.
struct Gathering {
  std::mutex mu;
  json::object answer;
  std::vector<Result<http::Response>> got;
  std::size_t left = 0;
  std::function<void(json::object)> done;
};

json::object peer_error(const Peer& peer, int status, std::string error) {
  return json::object{{"peer", peer.url}, {"status", status}, {"error", std::move(error)}};
}

}  // namespace

void PeerQuery::ask(const std::string& target, json::object answer,
                    std::function<void(json::object)> done) const {
  const std::vector<Peer>& peers = *peers_;
  if (peers.empty()) return done(std::move(answer));
  auto g = std::make_shared<Gathering>();
  g->answer = std::move(answer);
  g->got.resize(peers.size(), Result<http::Response>(Error{ErrorCode::kInternal, "not asked"}));
  g->left = peers.size();
  g->done = std::move(done);
  const std::string local = target + (target.find('?') == std::string::npos ? "?" : "&") + "local=1";
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  for (std::size_t i = 0; i < peers.size(); ++i) {
    http::async_get(io_, peers[i].host, peers[i].port, local, deadline,
                    [all = peers_, g, i](Result<http::Response> r) {
                      {
                        std::lock_guard lock(g->mu);
                        g->got[i] = std::move(r);
                        if (--g->left > 0) return;
                      }
                      json::array errors;
                      for (std::size_t p = 0; p < all->size(); ++p) {
                        const Result<http::Response>& got = g->got[p];
                        if (!got.ok()) {
                          const bool late = got.error().code == ErrorCode::kDeadlineExceeded;
                          errors.push_back(peer_error((*all)[p], late ? 504 : 502, got.error().message));
                        } else if (got->result() != http::Status::ok) {
                          errors.push_back(peer_error((*all)[p], 502, "HTTP " + std::to_string(got->result_int())));
                        } else if (!merge_peer_answer(got->body(), g->answer)) {
                          errors.push_back(peer_error((*all)[p], 502, "not a view answer"));
                        }
                      }
                      g->answer["peer_errors"] = std::move(errors);
                      g->done(std::move(g->answer));
                    });
  }
}

}  // namespace ioc::aggregator
