#include "ioc/kafka/embedded_broker.hpp"

#include <vector>

// rdkafka.h must precede rdkafka_mock.h.
#include <arpa/inet.h>
#include <dlfcn.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "conf.hpp"

namespace {

// The mock cluster binds each broker's listener to 127.0.0.1:0 and offers no
// way to choose the port. While a plan is set on the thread that creates the
// cluster (the mock creates its listeners there, before its own thread
// starts), those binds go to the planned address and consecutive ports.
struct ListenPlan {
  in_addr addr{};
  std::uint16_t next_port = 0;
};
thread_local ListenPlan* t_plan = nullptr;

using BindFn = int (*)(int, const sockaddr*, socklen_t);

}  // namespace

// Interposes the C library's bind() for this process (the executable's
// definition comes first in symbol lookup); it passes every call through
// unchanged unless a plan is active on the calling thread.
extern "C" int bind(int fd, const sockaddr* addr, socklen_t len) {
  static const auto kReal = reinterpret_cast<BindFn>(dlsym(RTLD_NEXT, "bind"));
  ListenPlan* plan = t_plan;
  if (plan == nullptr || addr == nullptr || addr->sa_family != AF_INET || len < sizeof(sockaddr_in)) {
    return kReal(fd, addr, len);
  }
  sockaddr_in in{};
  std::memcpy(&in, addr, sizeof in);
  if (in.sin_port != 0) return kReal(fd, addr, len);
  in.sin_addr = plan->addr;
  const std::uint16_t port = plan->next_port++;
  in.sin_port = htons(port);
  // A restarted broker must get its port back while old connections linger in TIME_WAIT.
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  return kReal(fd, reinterpret_cast<const sockaddr*>(&in), sizeof in);
}

namespace ioc::kafka {
namespace {

// librdkafka 2.0 aborts (an assertion in its cleanup) when a mock listener
// cannot bind, so the planned ports are tried first.
void check_free(const in_addr& addr, std::uint16_t port, const std::string& host) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_addr = addr;
  in.sin_port = htons(port);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  const int rc = ::bind(fd, reinterpret_cast<const sockaddr*>(&in), sizeof in);
  const int err = errno;
  ::close(fd);
  if (rc != 0) {
    throw std::runtime_error("embedded broker: cannot listen on " + host + ":" + std::to_string(port) + ": " +
                             std::strerror(err));
  }
}

}  // namespace

EmbeddedBroker::EmbeddedBroker(int brokers, const std::vector<TopicSpec>& topics, const BrokerListen& listen) {
  if (brokers < 1) throw std::runtime_error("embedded broker: broker count must be >= 1");
  ListenPlan plan;
  if (listen.port != 0) {
    if (inet_pton(AF_INET, listen.host.c_str(), &plan.addr) != 1) {
      throw std::runtime_error("embedded broker: listen host must be an IPv4 address, got '" + listen.host + "'");
    }
    if (static_cast<int>(listen.port) + brokers - 1 > 65535) {
      throw std::runtime_error("embedded broker: not enough ports above " + std::to_string(listen.port));
    }
    plan.next_port = listen.port;
    for (int i = 0; i < brokers; ++i) check_free(plan.addr, static_cast<std::uint16_t>(listen.port + i), listen.host);
  }
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  detail::install_logger(conf);
  char err[512];
  rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("embedded broker: ") + err);
  }
  if (listen.port != 0) t_plan = &plan;
  cluster_ = rd_kafka_mock_cluster_new(rk_, brokers);
  t_plan = nullptr;
  if (cluster_ == nullptr) {
    rd_kafka_destroy(rk_);
    throw std::runtime_error("embedded broker: cannot start the mock cluster");
  }
  for (const TopicSpec& t : topics) {
    const rd_kafka_resp_err_t e =
        rd_kafka_mock_topic_create(cluster_, t.name.c_str(), t.partitions, std::min(brokers, 3));
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_mock_cluster_destroy(cluster_);
      rd_kafka_destroy(rk_);
      throw std::runtime_error("embedded broker: cannot create topic " + t.name + ": " + rd_kafka_err2str(e));
    }
  }
}

EmbeddedBroker::~EmbeddedBroker() {
  rd_kafka_mock_cluster_destroy(cluster_);
  rd_kafka_destroy(rk_);
}

void EmbeddedBroker::refuse_produce_requests(std::size_t n) {
  std::vector<rd_kafka_resp_err_t> errors(n, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
  rd_kafka_mock_push_request_errors_array(cluster_, 0 /* Produce */, errors.size(), errors.data());
}

void EmbeddedBroker::refuse_offset_requests(std::size_t n) {
  std::vector<rd_kafka_resp_err_t> errors(n, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
  rd_kafka_mock_push_request_errors_array(cluster_, 2 /* ListOffsets */, errors.size(), errors.data());
}

std::string EmbeddedBroker::bootstrap_servers() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }

void EmbeddedBroker::set_rtt(int id, std::chrono::milliseconds rtt) {
  const rd_kafka_resp_err_t e = rd_kafka_mock_broker_set_rtt(cluster_, id, static_cast<int>(rtt.count()));
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw std::runtime_error("embedded broker: cannot delay broker " + std::to_string(id) + ": " + rd_kafka_err2str(e));
  }
}

}  // namespace ioc::kafka
