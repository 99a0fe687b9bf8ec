#include "routes.hpp"

#include "assets.hpp"
#include "ioc/core/log.hpp"

namespace ioc::wall {

namespace {

// The page loads only its own files and talks only to its own origin.
constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

http::Response asset_response(const Asset& a) {
  http::Response res = http::make_response(http::Status::ok, std::string(a.body), a.content_type);
  res.set(http::beast_http::field::cache_control, "no-cache");
  res.set("Content-Security-Policy", kContentSecurityPolicy);
  res.set("X-Content-Type-Options", "nosniff");
  return res;
}

/// An SseHub client writing to an HTTP stream.
class StreamSink final : public EventSink {
 public:
  explicit StreamSink(std::shared_ptr<http::Stream> stream) : stream_(std::move(stream)) {}
  bool send(std::string bytes) override { return stream_->write(std::move(bytes)); }
  void close() override { stream_->close(); }

 private:
  std::shared_ptr<http::Stream> stream_;
};

}  // namespace

void add_routes(http::Router& router, SseHub& hub, const SseOptions& options, const Clock& clock, Metrics& metrics) {
  router.add(http::Verb::get, "/", "page", [](const http::Request&, const http::Params&, const http::Responder& r) {
    r.send(asset_response(*find_asset("index.html")));
  });
  router.add(http::Verb::get, "/assets/{file}", "asset",
             [](const http::Request&, const http::Params& p, const http::Responder& r) {
               const Asset* a = find_asset(p.at(0).second);
               if (a == nullptr || a->name == "index.html") {
                 return r.send(http::error_response(http::Status::not_found, "not_found", "no such asset"));
               }
               r.send(asset_response(*a));
             });
  router.add(http::Verb::get, "/api/v1/state", "state",
             [&hub, &clock](const http::Request&, const http::Params&, const http::Responder& r) {
               http::Response res = http::make_response(http::Status::ok, hub.snapshot_json(to_epoch_ms(clock.now())));
               res.set(http::beast_http::field::cache_control, "no-store");
               r.send(std::move(res));
             });
  router.add(http::Verb::get, "/events", "events",
             [&hub, options, &clock, &metrics](const http::Request& req, const http::Params&, const http::Responder& r) {
               const bool full = hub.clients() >= options.max_clients;
               if (full || hub.clients_from(r.peer()) >= options.max_clients_per_address) {
                 metrics.sse_connects.Add({{"start", "rejected"}}).Increment();
                 http::Response busy = http::error_response(
                     http::Status::service_unavailable, "too_many_clients",
                     full ? "the wall serves at most " + std::to_string(options.max_clients) + " event streams"
                          : "the wall serves at most " + std::to_string(options.max_clients_per_address) +
                                " event streams to one address");
                 busy.set(http::beast_http::field::retry_after, "5");
                 return r.send(std::move(busy));
               }
               // EventSource sends Last-Event-ID on reconnects; a page may
               // also pass it as ?lastEventId= when it opens a new stream.
               std::string last(req["Last-Event-ID"]);
               if (last.empty()) last = http::query_param(req.target(), "lastEventId").value_or("");
               http::Response head = http::make_response(http::Status::ok, "", "text/event-stream; charset=utf-8");
               head.set(http::beast_http::field::cache_control, "no-store");
               head.set("X-Accel-Buffering", "no");  // tell reverse proxies not to buffer the stream
               auto stream = r.stream(std::move(head), {options.client_buffer_bytes, options.write_timeout});
               auto sink = std::make_shared<StreamSink>(stream);
               stream->on_end([&hub, &metrics, key = sink.get()](http::StreamEnd why) {
                 hub.detach(key);
                 metrics.sse_disconnects.Add({{"reason", http::to_string(why)}}).Increment();
               });
               const SseHub::Attach a = hub.attach(sink, last, to_epoch_ms(clock.now()), r.peer());
               switch (a.outcome) {
                 case SseHub::Attached::kOk:
                   metrics.sse_connects.Add({{"start", a.snapshot ? "snapshot" : a.events > 0 ? "replay" : "current"}})
                       .Increment();
                   log::debug("event stream opened", {{"request_id", r.request_id()},
                                                      {"peer", r.peer()},
                                                      {"last_event_id", last},
                                                      {"snapshot", a.snapshot},
                                                      {"events", static_cast<std::int64_t>(a.events)}});
                   break;
                 case SseHub::Attached::kTooMany:  // raced past the check above
                   metrics.sse_connects.Add({{"start", "rejected"}}).Increment();
                   stream->close();
                   break;
                 case SseHub::Attached::kGone:
                   break;
               }
             });
}

}  // namespace ioc::wall
