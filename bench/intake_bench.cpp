// Intake request path, against baselines measured in the same run:
//  - HTTP round trip on the same Beast server with a no-op handler (the
//    floor any handler pays), vs the intake's full path with an in-process
//    Kafka broker (validate, encode, produce, wait for the ack);
//  - JSON parse alone (Boost.JSON) vs parse + validation + protobuf encode.
#include <benchmark/benchmark.h>

#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "app.hpp"
#include "ioc/codec/codec.hpp"
#include "ioc/config/registry_loader.hpp"
#include "ioc/core/time_format.hpp"
#include "ioc/http/client.hpp"
#include "ioc/kafka/embedded_broker.hpp"
#include "ioc/metrics/endpoints.hpp"
#include "report_request.hpp"

namespace {

using namespace ioc;

const Registry& registry() {
  static const Registry kRegistry = config::load_registry(IOC_DEFAULT_CONFIG_DIR "/districts.yaml",
                                                          IOC_DEFAULT_CONFIG_DIR "/categories.yaml");
  return kRegistry;
}

std::string body(TimePoint now) {
  return R"({"category":"flood","district":"380","description":"Nước ngập sâu 50cm trên đường Lê Lợi",)"
         R"("location":{"lat":19.8067,"lon":105.7852},"occurred_at":")" +
         format_rfc3339(now - Millis(30'000)) + R"(","reporter_id":"r-17","media_urls":["https://example.org/a.jpg"]})";
}

// A server on port 0 with the given routes, run on its own thread.
class Served {
 public:
  explicit Served(http::Router router) {
    http::ServerOptions o;
    o.host = "127.0.0.1";
    server_ = std::make_unique<http::Server>(io_, o, std::move(router));
    server_->start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Served() {
    server_->stop();
    io_.stop();
    thread_.join();
  }
  std::uint16_t port() const { return server_->port(); }

 private:
  boost::asio::io_context io_;
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
};

// The client loop both HTTP benchmarks measure: the same body, one request
// at a time on one keep-alive connection, each expecting 202.
void post_reports(benchmark::State& state, std::uint16_t port) {
  http::Client client("127.0.0.1", port);
  const std::string b = body(SystemClock::instance().now());
  for (auto _ : state) {
    auto r = client.post("/api/v1/reports", b, "application/json");
    if (!r.ok() || r->result() != http::Status::accepted) {
      const std::string why = !r.ok() ? r.error().message : "HTTP " + std::to_string(r->result_int()) + ": " + r->body();
      state.SkipWithError(("request failed: " + why).c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Baseline_HttpNoop(benchmark::State& state) {
  http::Router router;
  router.add(http::Verb::post, "/api/v1/reports", "reports", [](const http::Request&, const http::Params&,
                                                                 const http::Responder& r) {
    r.send(http::make_response(http::Status::accepted, R"({"status":"accepted"})"));
  });
  Served served(std::move(router));
  post_reports(state, served.port());
}

void BM_Intake_FullPathWithBroker(benchmark::State& state) {
  kafka::EmbeddedBroker broker(1, {{kafka::topics::kReports, 6}});
  intake::Config cfg;
  cfg.common.kafka.bootstrap_servers = broker.bootstrap_servers();
  // One client posts as fast as it can: the per-address and per-key limits
  // would answer 429 after their burst.
  cfg.per_ip = {};
  cfg.per_key = {};
  struct SpoolDir {
    std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("ioc-bench-spool-" + std::to_string(::getpid()));
    ~SpoolDir() { std::filesystem::remove_all(path); }
  } spool_dir;  // outlives the intake below
  cfg.spool.dir = spool_dir.path.string();
  metrics::Exposition exposition("bench", "0");
  intake::Intake in(cfg, registry(), SystemClock::instance(), exposition.registry());
  http::Router router;
  in.add_routes(router);
  Served served(std::move(router));
  while (!in.readiness().ready) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  post_reports(state, served.port());
}

void BM_Baseline_JsonParse(benchmark::State& state) {
  const std::string b = body(SystemClock::instance().now());
  for (auto _ : state) benchmark::DoNotOptimize(boost::json::parse(b));
  state.SetItemsProcessed(state.iterations());
}

void BM_Intake_ValidateAndEncode(benchmark::State& state) {
  const TimePoint now = SystemClock::instance().now();
  const std::string b = body(now);
  std::string out;
  for (auto _ : state) {
    auto r = intake::parse_report(b, registry(), now, intake::ReportLimits{});
    codec::encode(std::get<Report>(r), out);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_Baseline_HttpNoop)->UseRealTime();
BENCHMARK(BM_Intake_FullPathWithBroker)->UseRealTime();
BENCHMARK(BM_Baseline_JsonParse);
BENCHMARK(BM_Intake_ValidateAndEncode);

// Prints each intake figure as a ratio to its baseline of the same run.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      per_op_[r.benchmark_name()] = r.GetAdjustedRealTime();
    }
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    auto ratio = [&](const char* what, const char* a, const char* b) {
      if (per_op_.count(a) == 0 || per_op_.count(b) == 0) return;
      std::printf("%-70s %.2fx per request\n", what, per_op_[a] / per_op_[b]);
    };
    std::printf("\n=== intake summary (ratios against baselines of this run) ===\n");
    ratio("full path (validate, encode, produce, broker ack) / no-op HTTP handler:",
          "BM_Intake_FullPathWithBroker/real_time", "BM_Baseline_HttpNoop/real_time");
    ratio("validate + encode / Boost.JSON parse alone:", "BM_Intake_ValidateAndEncode", "BM_Baseline_JsonParse");
  }

 private:
  std::map<std::string, double> per_op_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
