#pragma once
/// Server: an HTTP/1.1 server on Boost.Beast with routing, size limits,
/// timeouts and graceful shutdown. Handlers may answer later from any thread
/// (e.g. after a Kafka broker acknowledged a record) through a Responder.
///
/// A handler may also answer with a long-lived Stream (Server-Sent Events):
/// the head goes out at once and the body follows piece by piece, as the
/// service writes them, until either side ends it.
///
/// Limits: request bodies over max_body_bytes get 413, headers over
/// max_header_bytes get 431, a client that stalls longer than read_timeout is
/// disconnected, unknown paths get 404, wrong methods 405 with Allow. All
/// error bodies are JSON.
///
/// Thread-safety: construct, add routes and start() before running the
/// io_context; stop() may be called from any thread. Each connection runs
/// on its own strand, so the io_context may run on several threads.

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ioc/http/types.hpp"

namespace ioc::http {

class Session;
struct ServerState;

/// What the server knows of one request besides its bytes.
struct RequestContext {
  /// The client's X-Request-Id when it is a sane token (1-64 of
  /// [A-Za-z0-9._:-]), otherwise one made by the server. Every response
  /// carries it as X-Request-Id; handlers put it in their log lines.
  std::string request_id;
  /// The peer's IP address (no port).
  std::string peer;
};

/// Why a Stream ended.
enum class StreamEnd {
  kClosed,          // the service called close() (or the server is stopping); the body was finished
  kPeerGone,        // the client closed the connection or it broke
  kOverflow,        // the client read too slowly: more than max_buffered_bytes waited
  kWriteTimeout,    // one write made no progress for write_timeout
};
const char* to_string(StreamEnd end);

struct StreamOptions {
  /// Bytes queued for the client (not yet written to the socket) beyond
  /// which it is dropped: a slow client never holds the service's memory
  /// or its writers.
  std::size_t max_buffered_bytes = 1 << 20;
  /// A write to the socket that makes no progress for this long ends the stream.
  std::chrono::milliseconds write_timeout{10'000};
};

/// A response body written over time (chunked transfer encoding), e.g. an
/// event stream. Created by Responder::stream(). The connection is not
/// reused afterwards.
///
/// Thread-safe: write() and close() may be called from any thread and never
/// block; pieces go out in the order written. The server's stop() finishes
/// open streams like close().
class Stream {
 public:
  explicit Stream(std::shared_ptr<Session> session) : session_(std::move(session)) {}
  /// Queues `data` as the next piece of the body. Returns false when the
  /// stream has ended, or when `data` would take the queue past
  /// max_buffered_bytes: then the stream ends with kOverflow (the
  /// connection is dropped, the queue freed).
  bool write(std::string data);
  /// Ends the stream once what is queued has been written.
  void close();
  /// True once the stream ended (or is ending) for any reason.
  bool ended() const;
  /// Bytes queued and not yet written to the socket.
  std::size_t buffered_bytes() const;
  /// `f` runs once when the stream ends, on the connection's strand (or at
  /// once, on the caller's thread, when it already ended). Set it once.
  void on_end(std::function<void(StreamEnd)> f);

 private:
  std::shared_ptr<Session> session_;
};

/// Completes one request. Copyable; send() (or stream()) may be called from
/// any thread, once. If neither is called (a bug), the connection is closed
/// when the last copy is destroyed.
class Responder {
 public:
  Responder(std::shared_ptr<Session> session, std::shared_ptr<const RequestContext> context)
      : session_(std::move(session)), context_(std::move(context)) {}
  void send(Response response) const;
  /// Answers with `head` (status and headers; its body is ignored) and a
  /// body that follows through the returned Stream. A HEAD request gets the
  /// head only, and its stream ends (kClosed) as soon as that is written.
  std::shared_ptr<Stream> stream(Response head, StreamOptions options = {}) const;
  const std::string& request_id() const { return context_->request_id; }
  const std::string& peer() const { return context_->peer; }

 private:
  std::shared_ptr<Session> session_;
  std::shared_ptr<const RequestContext> context_;
};

using Handler = std::function<void(const Request& request, const Params& params, Responder responder)>;

/// What happened to one request, for metrics and access logs.
struct Completed {
  std::string_view route;   // route name, or "unmatched"
  std::string_view request_id;
  Verb method;
  unsigned status;
  std::chrono::nanoseconds duration;
};

class Router {
 public:
  /// `pattern` is an absolute path; a segment "{name}" captures one segment.
  /// `route` names the route in metrics (keep it low-cardinality).
  void add(Verb method, std::string pattern, std::string route, Handler handler);

  struct Match {
    const Handler* handler = nullptr;
    const std::string* route = nullptr;
    Params params;
    std::string allow;  // set when the path matched but the method did not
  };
  Match match(Verb method, std::string_view path) const;

  /// Looks at each request once its header is read, before its body: a
  /// response refuses the request unread (the connection then closes), so
  /// limits cost a client nothing it could make large. `peer` is the client
  /// address. Runs on the connection's strand; keep it cheap.
  using Gate = std::function<std::optional<Response>(const Request& header, const std::string& peer)>;
  void set_gate(Gate gate) { gate_ = std::move(gate); }
  const Gate& gate() const { return gate_; }

 private:
  Gate gate_;
  struct Route {
    Verb method;
    std::vector<std::string> segments;
    std::string name;
    Handler handler;
  };
  std::vector<Route> routes_;
};

struct ServerOptions {
  std::string host = "0.0.0.0";
  std::uint16_t port = 0;  // 0: any free port
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_header_bytes = 16 << 10;
  std::chrono::milliseconds read_timeout{30'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::size_t max_connections = 4096;
  /// Open connections one client address may hold (0: no limit): one
  /// address cannot take every slot. Behind a proxy every client shares
  /// its address; raise it there.
  std::size_t max_connections_per_address = 256;
  std::string server_name = "ioc";
};

/// A connection the server closed at once, and why: "connections" (the
/// server's limit) or "address" (the address's limit).
struct Refused {
  std::string_view reason;
  std::string_view address;
};

class Server {
 public:
  Server(boost::asio::io_context& io, ServerOptions options, Router router);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Called after each response is written (on the connection's strand).
  /// Set before start().
  void set_observer(std::function<void(const Completed&)> observer);
  /// Called for each connection refused at accept (on the acceptor's
  /// strand). Set before start().
  void set_refusal_observer(std::function<void(const Refused&)> observer);

  /// Binds and starts accepting. Throws boost::system::system_error when the
  /// address is taken.
  void start();
  /// The bound port (after start()).
  std::uint16_t port() const { return port_; }
  /// Stops accepting, lets in-flight requests finish, closes idle
  /// connections. Thread-safe; idempotent.
  void stop();

  std::size_t open_connections() const;

 private:
  // Shared with every connection and pending handler, so whatever outlives
  // the Server (a late Responder, handlers still queued in the io_context)
  // stays valid.
  std::shared_ptr<ServerState> state_;
  std::uint16_t port_ = 0;
};

}  // namespace ioc::http
