#include "ioc/kafka/tcp_proxy.hpp"

#include <gtest/gtest.h>

#include <boost/asio/ip/address_v4.hpp>
#include <chrono>
#include <thread>

#include "ioc/kafka/admin.hpp"
#include "ioc/kafka/embedded_broker.hpp"

namespace ioc::kafka {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

TEST(TcpProxyTest, ClientsBootstrapThroughTheStableAddress) {
  EmbeddedBroker broker(1, {{"t.proxy", 2}});
  const std::string bs = broker.bootstrap_servers();
  const auto colon = bs.rfind(':');
  const tcp::endpoint target(asio::ip::make_address(bs.substr(0, colon)),
                             static_cast<std::uint16_t>(std::stoi(bs.substr(colon + 1))));

  asio::io_context io;
  TcpProxy proxy(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0), target);
  std::thread runner([&] { io.run(); });

  {
    Admin admin({"127.0.0.1:" + std::to_string(proxy.port()), "test", {}});
    auto topics = admin.topics(5s);
    ASSERT_TRUE(topics.ok()) << topics.error().message;
    bool found = false;
    for (const auto& t : *topics) found |= t.name == "t.proxy";
    EXPECT_TRUE(found);
  }
  EXPECT_GE(proxy.connections(), 1u);
  asio::post(io, [&] { proxy.stop(); });
  runner.join();
}

TEST(TcpProxyTest, ThrowsWhenPortTaken) {
  asio::io_context io;
  tcp::acceptor holder(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  const tcp::endpoint taken(asio::ip::address_v4::loopback(), holder.local_endpoint().port());
  EXPECT_THROW(TcpProxy(io, taken, taken), boost::system::system_error);
}

}  // namespace
}  // namespace ioc::kafka
