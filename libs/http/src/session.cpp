// One connection of the Server: reading requests, routing them, writing
// responses and event streams, within the idle and request deadlines.
#include "session.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <array>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <mutex>
#include <random>
#include <optional>
#include <unordered_map>
#include "ioc/core/log.hpp"
#include "ioc/core/text.hpp"

namespace ioc::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

constexpr std::string_view kRequestIdHeader = "X-Request-Id";

bool sane_request_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (const char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == ':' || c == '-')) return false;
  }
  return true;
}

// Process-unique, unguessable enough to correlate logs: a random prefix
// chosen at start and a counter, 16 hex digits.
std::string next_request_id() {
  static const std::uint64_t prefix = std::random_device{}() & 0xffffffffu;
  static std::atomic<std::uint64_t> counter{0};
  const std::uint64_t v = (prefix << 32) ^ counter.fetch_add(1, std::memory_order_relaxed);
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

// ---------------------------------------------------------------- Session

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::string peer, std::shared_ptr<ServerState> state)
      : stream_(std::move(socket)), server_(std::move(state)), peer_(std::move(peer)) {}
  ~Session() {
    std::lock_guard lock(server_->mu);
    server_->sessions.erase(this);
    if (auto it = server_->per_address.find(peer_); it != server_->per_address.end() && --it->second == 0) {
      server_->per_address.erase(it);
    }
  }

  void start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read(); });
  }

  /// From any thread.
  void send(Response res) {
    asio::post(stream_.get_executor(), [self = shared_from_this(), r = std::move(res)]() mutable {
      self->write(std::move(r));
    });
  }

  /// From any thread: close now if waiting for a new request; finish an
  /// open stream.
  void close_if_idle() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->streaming_) return self->stream_close();
      if (self->reading_ && (!self->parser_ || !self->parser_->got_some())) {
        beast::error_code ignored;
        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        self->stream_.close();
      }
    });
  }

 private:
  void read() {
    const ServerOptions& o = server_->options;
    parser_.emplace();
    parser_->body_limit(o.max_body_bytes);
    parser_->header_limit(static_cast<std::uint32_t>(o.max_header_bytes));
    reading_ = true;
    // A kept-alive connection may wait idle_timeout for its next request;
    // once its first bytes arrive, the request has read_timeout like any other.
    const bool idle = requests_ > 0 && buffer_.size() == 0;
    stream_.expires_after(idle ? o.idle_timeout : o.read_timeout);
    read_head(idle);
  }

  // Reads until the whole header is buffered (or past the header limit, which
  // the parser then reports), to look at its lines before the parser, which
  // would unfold an obs-folded line (RFC 9112 section 5.2) and accept it.
  void read_head(bool idle = false) {
    const std::string_view have(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    const std::size_t end = have.find("\r\n\r\n");
    if (end == std::string_view::npos && have.size() <= server_->options.max_header_bytes) {
      stream_.async_read_some(buffer_.prepare(4096), [self = shared_from_this(), idle](beast::error_code ec,
                                                                                       std::size_t n) {
        self->buffer_.commit(n);
        if (ec) return self->on_read(ec);
        if (idle) self->stream_.expires_after(self->server_->options.read_timeout);
        self->read_head();
      });
      return;
    }
    const std::string_view head = have.substr(0, end == std::string_view::npos ? have.size() : end + 2);
    folded_ = head.find("\r\n ") != std::string_view::npos || head.find("\r\n\t") != std::string_view::npos;
    read_request();
  }

  void read_request() {
    beast_http::async_read_header(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec,
                                                                                          std::size_t) {
      if (!ec && self->server_->router.gate()) {
        if (auto refused = self->server_->router.gate()(self->parser_->get(), self->peer_)) {
          return self->refuse_unread(std::move(*refused));
        }
      }
      if (ec || self->parser_->is_done()) return self->on_read(ec);
      self->read_body();
    });
  }

  void read_body() {
    // A client that asked to be told whether to send its body (RFC 9110
    // section 10.1.1) hears "go on" now that its header is acceptable.
    const auto& head = parser_->get();
    if (head.version() >= 11 && beast::iequals(head[beast_http::field::expect], "100-continue") && !folded_ &&
        framing_error(head).empty()) {
      auto go_on = std::make_shared<beast_http::response<beast_http::empty_body>>(beast_http::status::continue_, 11);
      beast_http::async_write(stream_, *go_on, [self = shared_from_this(), go_on](beast::error_code ec, std::size_t) {
        if (ec) return self->on_read(ec);
        self->read_rest();
      });
      return;
    }
    read_rest();
  }

  void read_rest() {
    beast_http::async_read(stream_, buffer_, *parser_,
                           [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void begin_response(bool header_read) {
    reading_ = false;
    responded_ = false;
    // Pure measurement: the request's duration, for the HTTP metrics only.
    started_ = std::chrono::steady_clock::now();
    route_ = "unmatched";
    auto context = std::make_shared<RequestContext>();
    context->peer = peer_;
    const std::string_view given = header_read ? std::string_view(parser_->get()[kRequestIdHeader]) : std::string_view();
    context->request_id = sane_request_id(given) ? std::string(given) : next_request_id();
    context_ = context;
  }

  // The gate refused the request before its body was read: the answer,
  // then the connection closes (what follows on it is that body).
  void refuse_unread(Response res) {
    begin_response(true);
    route_ = "refused_unread";
    ++requests_;
    method_ = parser_->get().method();
    keep_alive_ = false;
    write(std::move(res));
  }

  void on_read(beast::error_code ec) {
    begin_response(!ec);
    if (ec == beast_http::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == beast::error::timeout || ec == asio::error::connection_reset || ec == asio::error::eof) {
      return close();
    }
    keep_alive_ = false;
    if (ec == beast_http::error::body_limit) {
      return write(error_response(Status::payload_too_large, "payload_too_large",
                                  "request body exceeds " + std::to_string(server_->options.max_body_bytes) + " bytes"));
    }
    if (ec == beast_http::error::header_limit) {
      return write(error_response(Status::request_header_fields_too_large, "headers_too_large",
                                  "request headers exceed " + std::to_string(server_->options.max_header_bytes) +
                                      " bytes"));
    }
    if (ec) {
      if (!parser_->got_some()) return close();
      return write(error_response(Status::bad_request, "bad_request", "malformed HTTP request: " + ec.message()));
    }
    ++requests_;
    request_ = parser_->release();
    method_ = request_.method();
    if (folded_) {
      return write(error_response(Status::bad_request, "bad_request",
                                  "a header line is folded (obsolete line folding, RFC 9112 section 5.2)"));
    }
    if (std::string bad = framing_error(request_); !bad.empty()) {
      return write(error_response(Status::bad_request, "bad_request", bad));  // and close: keep_alive_ is false
    }
    keep_alive_ = request_.keep_alive() && !server_->stopping.load();
    Router::Match m = server_->router.match(request_.method(), target_path(request_.target()));
    if (m.handler == nullptr) {
      if (!m.allow.empty()) {
        Response res = error_response(Status::method_not_allowed, "method_not_allowed",
                                      std::string(request_.method_string()) + " is not allowed here; allowed: " + m.allow);
        res.set(beast_http::field::allow, m.allow);
        return write(std::move(res));
      }
      return write(error_response(Status::not_found, "not_found",
                                  "no such resource: " + echo(target_path(request_.target()), 128)));
    }
    route_ = *m.route;
    try {
      (*m.handler)(request_, m.params, Responder(shared_from_this(), context_));
    } catch (const std::exception& e) {
      // Handlers report errors as responses; an exception is a bug, but it
      // must not take the server down.
      log::error("http handler threw", {{"route", route_}, {"request_id", context_->request_id}, {"error", e.what()}});
      write(error_response(Status::internal_server_error, "internal", "internal error"));
    }
  }

  void write(Response res) {
    if (responded_) return;  // a second send() is ignored
    responded_ = true;
    res.version(11);
    res.keep_alive(keep_alive_ && !server_->stopping.load());
    res.set(beast_http::field::server, server_->options.server_name);
    res.set(kRequestIdHeader, context_->request_id);
    if (method_ == Verb::head) res.body().clear();
    res.prepare_payload();
    auto sp = std::make_shared<Response>(std::move(res));
    stream_.expires_after(server_->options.read_timeout);
    beast_http::async_write(stream_, *sp, [self = shared_from_this(), sp](beast::error_code ec, std::size_t) {
      self->on_write(ec, sp->result_int(), sp->keep_alive());
    });
  }

  void on_write(beast::error_code ec, unsigned status, bool keep_alive) {
    if (server_->observer) {
      server_->observer({route_, context_->request_id, method_, status, std::chrono::steady_clock::now() - started_});
    }
    // A stop that came while this response was being written found the
    // connection busy: it is closed here rather than left waiting idle.
    if (ec || !keep_alive || server_->stopping.load()) return close();
    read();
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }


  // ------------------------------------------------ streaming (Stream)
  //
  // The queue and the stream's state are shared with writers on any thread
  // (stream_mu_); the socket work runs on the strand. One chunk is in
  // flight at a time: whatever was queued meanwhile goes out as the next.

  enum class StreamState { kOpen, kClosing, kDropping, kEnded };

  void stream_prepare(const StreamOptions& options) {
    std::lock_guard lock(stream_mu_);
    stream_options_ = options;
  }

  void stream_begin(Response head) {
    asio::post(stream_.get_executor(), [self = shared_from_this(), h = std::move(head)]() mutable {
      self->begin_stream(std::move(h));
    });
  }

  bool stream_write(std::string data) {
    std::unique_lock lock(stream_mu_);
    if (stream_state_ != StreamState::kOpen) return false;
    if (stream_queue_.size() + stream_inflight_ + data.size() > stream_options_.max_buffered_bytes) {
      stream_state_ = StreamState::kDropping;
      std::string().swap(stream_queue_);
      lock.unlock();
      asio::post(stream_.get_executor(), [self = shared_from_this()] { self->end_stream(StreamEnd::kOverflow); });
      return false;
    }
    const bool idle = stream_queue_.empty();
    stream_queue_ += data;
    lock.unlock();
    if (idle) asio::post(stream_.get_executor(), [self = shared_from_this()] { self->flush_stream(); });
    return true;
  }

  void stream_close() {
    {
      std::lock_guard lock(stream_mu_);
      if (stream_state_ != StreamState::kOpen) return;
      stream_state_ = StreamState::kClosing;
    }
    asio::post(stream_.get_executor(), [self = shared_from_this()] { self->flush_stream(); });
  }

  bool stream_ended() const {
    std::lock_guard lock(stream_mu_);
    return stream_state_ != StreamState::kOpen;
  }

  std::size_t stream_buffered() const {
    std::lock_guard lock(stream_mu_);
    return stream_queue_.size() + stream_inflight_;
  }

  void stream_on_end(std::function<void(StreamEnd)> f) {
    std::unique_lock lock(stream_mu_);
    if (stream_state_ == StreamState::kEnded) {
      const StreamEnd why = stream_end_;
      lock.unlock();
      f(why);
      return;
    }
    stream_on_end_ = std::move(f);
  }

  void begin_stream(Response head) {
    if (responded_) return;  // already answered: a second answer is ignored
    responded_ = true;
    const std::chrono::milliseconds timeout = [&] {
      std::lock_guard lock(stream_mu_);
      return stream_options_.write_timeout;
    }();
    if (method_ == Verb::head) {
      // The head only, like any HEAD answer; the stream ends at once.
      responded_ = false;
      head.body().clear();
      write(std::move(head));
      return end_stream(StreamEnd::kClosed, false);
    }
    streaming_ = true;
    auto h = std::make_shared<beast_http::response<beast_http::empty_body>>(head.result(), 11);
    for (const auto& field : head.base()) h->insert(field.name_string(), field.value());
    h->set(beast_http::field::server, server_->options.server_name);
    h->set(kRequestIdHeader, context_->request_id);
    h->keep_alive(false);
    h->chunked(true);
    auto sr = std::make_shared<beast_http::response_serializer<beast_http::empty_body>>(*h);
    stream_.expires_after(timeout);
    beast_http::async_write_header(stream_, *sr, [self = shared_from_this(), h, sr](beast::error_code ec, std::size_t) {
      if (self->server_->observer) {
        self->server_->observer({self->route_, self->context_->request_id, self->method_, h->result_int(),
                                 std::chrono::steady_clock::now() - self->started_});
      }
      if (ec) return self->end_stream(ec == beast::error::timeout ? StreamEnd::kWriteTimeout : StreamEnd::kPeerGone);
      self->stream_head_written_ = true;
      self->watch_peer();
      self->flush_stream();
    });
  }

  // The client sends nothing on a stream; a read that ends means it left.
  void watch_peer() {
    stream_.socket().async_read_some(asio::buffer(discard_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->end_stream(StreamEnd::kPeerGone);
      self->watch_peer();
    });
  }

  void flush_stream() {
    if (!stream_head_written_ || stream_writing_) return;
    std::string out;
    std::chrono::milliseconds timeout{};
    bool finish = false;
    {
      std::lock_guard lock(stream_mu_);
      if (stream_state_ == StreamState::kEnded || stream_state_ == StreamState::kDropping) return;
      out.swap(stream_queue_);
      stream_inflight_ = out.size();
      finish = out.empty() && stream_state_ == StreamState::kClosing;
      timeout = stream_options_.write_timeout;
    }
    if (!finish && out.empty()) return;
    stream_writing_ = true;
    stream_.expires_after(timeout);
    auto done = [self = shared_from_this(), finish](beast::error_code ec, std::size_t) {
      self->stream_writing_ = false;
      {
        std::lock_guard lock(self->stream_mu_);
        self->stream_inflight_ = 0;
      }
      if (ec) return self->end_stream(ec == beast::error::timeout ? StreamEnd::kWriteTimeout : StreamEnd::kPeerGone);
      if (finish) return self->end_stream(StreamEnd::kClosed);
      self->flush_stream();
    };
    if (finish) {
      asio::async_write(stream_, beast_http::make_chunk_last(), std::move(done));
    } else {
      stream_out_ = std::move(out);
      asio::async_write(stream_, beast_http::make_chunk(asio::buffer(stream_out_)), std::move(done));
    }
  }

  void end_stream(StreamEnd why, bool close_socket = true) {
    std::function<void(StreamEnd)> f;
    {
      std::lock_guard lock(stream_mu_);
      if (stream_state_ == StreamState::kEnded) return;
      stream_state_ = StreamState::kEnded;
      stream_end_ = why;
      std::string().swap(stream_queue_);
      // A write still in flight is aborted by the close below and never
      // sent: nothing is buffered from here on, whenever its handler runs.
      stream_inflight_ = 0;
      f = std::move(stream_on_end_);
    }
    if (close_socket) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream_.close();
    }
    if (f) f(why);
  }

  friend class Responder;
  friend class Stream;
  beast::tcp_stream stream_;
  std::shared_ptr<ServerState> server_;
  beast::flat_buffer buffer_;
  std::optional<beast_http::request_parser<beast_http::string_body>> parser_;
  Request request_;
  Verb method_ = Verb::unknown;
  std::string route_ = "unmatched";
  std::string peer_;
  std::shared_ptr<const RequestContext> context_ = std::make_shared<RequestContext>();
  std::chrono::steady_clock::time_point started_{};
  std::uint64_t requests_ = 0;
  bool reading_ = false;
  bool folded_ = false;  // the request being read has an obs-folded header line
  bool keep_alive_ = false;
  bool responded_ = true;

  mutable std::mutex stream_mu_;
  StreamOptions stream_options_;
  StreamState stream_state_ = StreamState::kOpen;
  StreamEnd stream_end_ = StreamEnd::kClosed;
  std::string stream_queue_;       // written, not yet handed to the socket
  std::size_t stream_inflight_ = 0;  // handed to the socket, not yet written
  std::function<void(StreamEnd)> stream_on_end_;
  // Strand only:
  bool streaming_ = false;
  bool stream_head_written_ = false;
  bool stream_writing_ = false;
  std::string stream_out_;
  std::array<char, 256> discard_{};
};

void Responder::send(Response response) const { session_->send(std::move(response)); }

std::shared_ptr<Stream> Responder::stream(Response head, StreamOptions options) const {
  session_->stream_prepare(options);
  session_->stream_begin(std::move(head));
  return std::make_shared<Stream>(session_);
}

const char* to_string(StreamEnd end) {
  switch (end) {
    case StreamEnd::kClosed: return "closed";
    case StreamEnd::kPeerGone: return "peer_gone";
    case StreamEnd::kOverflow: return "overflow";
    case StreamEnd::kWriteTimeout: return "write_timeout";
  }
  return "unknown";
}

bool Stream::write(std::string data) { return session_->stream_write(std::move(data)); }
void Stream::close() { session_->stream_close(); }
bool Stream::ended() const { return session_->stream_ended(); }
std::size_t Stream::buffered_bytes() const { return session_->stream_buffered(); }
void Stream::on_end(std::function<void(StreamEnd)> f) { session_->stream_on_end(std::move(f)); }


std::string_view start_session(tcp::socket socket, const std::string& address,
                               const std::shared_ptr<ServerState>& state) {
  std::shared_ptr<Session> session;
  std::string_view refused;
  {
    std::lock_guard lock(state->mu);
    std::size_t& mine = state->per_address[address];
    const std::size_t per_address = state->options.max_connections_per_address;
    if (state->sessions.size() >= state->options.max_connections) {
      refused = "connections";
    } else if (per_address != 0 && mine >= per_address) {
      refused = "address";
    } else {
      ++mine;
      session = std::make_shared<Session>(std::move(socket), address, state);
      state->sessions.emplace(session.get(), session);
    }
    if (mine == 0) state->per_address.erase(address);
  }
  if (!session) {
    boost::system::error_code ignored;
    socket.close(ignored);
    return refused;
  }
  session->start();
  return {};
}

void close_idle_sessions(ServerState& state) {
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(state.mu);
    for (auto& [ptr, weak] : state.sessions) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  // Outside the lock: the last reference may drop here and ~Session locks mu.
  for (auto& s : live) s->close_if_idle();
}

}  // namespace ioc::http
