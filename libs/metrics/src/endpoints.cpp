#include "ioc/metrics/endpoints.hpp"

#include <dirent.h>
#include <prometheus/collectable.h>
#include <prometheus/gauge.h>
#include <prometheus/text_serializer.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>

#include "ioc/core/log.hpp"
#include <boost/json/value.hpp>
#include <chrono>
#include <fstream>
#include <sstream>

namespace ioc::metrics {

void add_endpoints(http::Router& router, const std::shared_ptr<const Exposition>& exposition, ReadinessCheck ready) {
  router.add(http::Verb::get, "/metrics", "metrics",
             [exposition](const http::Request&, const http::Params&, const http::Responder& r) {
               r.send(http::make_response(http::Status::ok, exposition->serialize(),
                                          "text/plain; version=0.0.4; charset=utf-8"));
             });
  router.add(http::Verb::get, "/healthz", "healthz", [](const http::Request&, const http::Params&, const http::Responder& r) {
    r.send(http::make_response(http::Status::ok, R"({"status":"ok"})"));
  });
  router.add(http::Verb::get, "/readyz", "readyz",
             [ready = std::move(ready)](const http::Request&, const http::Params&, const http::Responder& r) {
               const Readiness rd = ready ? ready() : Readiness{};
               boost::json::object o;
               o["status"] = rd.ready ? "ready" : "not_ready";
               if (!rd.ready) o["reason"] = rd.reason;
               for (const auto& kv : rd.details) o[kv.key()] = kv.value();
               r.send(http::make_response(rd.ready ? http::Status::ok : http::Status::service_unavailable,
                                          boost::json::serialize(o)));
             });
}

namespace {

// Request latencies from sub-millisecond (health checks) to the intake's
// worst case (waiting for a broker acknowledgement).
const prometheus::Histogram::BucketBoundaries kLatencyBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                                  0.1,    0.25,  0.5,    1,     2.5,  5,    10};

}  // namespace

HttpMetrics::HttpMetrics(prometheus::Registry& registry)
    : requests_(prometheus::BuildCounter()
                    .Name("ioc_http_requests_total")
                    .Help("HTTP requests served, by route, method and status code")
                    .Register(registry)),
      duration_(prometheus::BuildHistogram()
                    .Name("ioc_http_request_duration_seconds")
                    .Help("Time from a complete request to the response written, by route and method")
                    .Register(registry)),
      refused_(prometheus::BuildCounter()
                   .Name("ioc_http_connections_refused_total")
                   .Help("Connections closed at once, by reason: connections (http.max_connections), address "
                         "(http.max_connections_per_address)")
                   .Register(registry)) {}

void HttpMetrics::refused(const http::Refused& r) { refused_.Add({{"reason", std::string(r.reason)}}).Increment(); }

void HttpMetrics::observe(const http::Completed& c) {
  const std::string method(http::beast_http::to_string(c.method));
  const std::string route(c.route);
  requests_.Add({{"route", route}, {"method", method}, {"code", std::to_string(c.status)}}).Increment();
  duration_.Add({{"route", route}, {"method", method}}, kLatencyBuckets)
      .Observe(std::chrono::duration<double>(c.duration).count());
  if (log::enabled(log::Level::kDebug)) {
    log::debug("http request", {{"request_id", c.request_id},
                                {"route", c.route},
                                {"method", method},
                                {"status", c.status},
                                {"duration_us", std::chrono::duration_cast<std::chrono::microseconds>(c.duration).count()}});
  }
}

class ProcessCollector : public prometheus::Collectable {
 public:
  ProcessCollector(std::string service, std::string version)
      : service_(std::move(service)),
        version_(std::move(version)),
        // A measurement of the process itself (process_start_time_seconds), not logic.
        start_seconds_(std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count()) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> out;
    auto gauge = [&out](std::string name, std::string help, prometheus::MetricType type, double v,
                        std::vector<prometheus::ClientMetric::Label> labels = {}) {
      prometheus::MetricFamily f;
      f.name = std::move(name);
      f.help = std::move(help);
      f.type = type;
      prometheus::ClientMetric m;
      m.label = std::move(labels);
      if (type == prometheus::MetricType::Counter) {
        m.counter.value = v;
      } else {
        m.gauge.value = v;
      }
      f.metric.push_back(std::move(m));
      out.push_back(std::move(f));
    };
    const long ticks = sysconf(_SC_CLK_TCK);
    const long page = sysconf(_SC_PAGESIZE);
    std::ifstream stat("/proc/self/stat");
    std::string line;
    std::getline(stat, line);
    // Fields after the parenthesised command name; utime/stime are fields 14/15.
    const auto rp = line.rfind(')');
    if (rp != std::string::npos && ticks > 0) {
      std::istringstream in(line.substr(rp + 2));
      std::string field;
      double utime = 0;
      double stime = 0;
      for (int i = 3; i <= 15 && in >> field; ++i) {
        if (i == 14) utime = std::stod(field);
        if (i == 15) stime = std::stod(field);
      }
      gauge("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
            prometheus::MetricType::Counter, (utime + stime) / static_cast<double>(ticks));
    }
    std::ifstream statm("/proc/self/statm");
    long size_pages = 0;
    long resident_pages = 0;
    if (statm >> size_pages >> resident_pages) {
      gauge("process_resident_memory_bytes", "Resident memory size in bytes.", prometheus::MetricType::Gauge,
            static_cast<double>(resident_pages * page));
      gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", prometheus::MetricType::Gauge,
            static_cast<double>(size_pages * page));
    }
    if (DIR* d = opendir("/proc/self/fd")) {
      int n = 0;
      while (readdir(d) != nullptr) ++n;
      closedir(d);
      gauge("process_open_fds", "Number of open file descriptors.", prometheus::MetricType::Gauge, n - 2);
    }
    gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
          prometheus::MetricType::Gauge, start_seconds_);
    gauge("ioc_build_info", "Build information; the value is always 1.", prometheus::MetricType::Gauge, 1,
          {{"service", service_}, {"version", version_}});
    return out;
  }

 private:
  std::string service_;
  std::string version_;
  double start_seconds_;
};


Exposition::Exposition(std::string service, std::string version)
    : registry_(std::make_shared<prometheus::Registry>()),
      process_(std::make_unique<ProcessCollector>(std::move(service), std::move(version))) {}

Exposition::~Exposition() = default;

std::string Exposition::serialize() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  std::vector<prometheus::MetricFamily> process = process_->Collect();
  families.insert(families.end(), std::make_move_iterator(process.begin()), std::make_move_iterator(process.end()));
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace ioc::metrics
