#include "peers.hpp"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include "ioc/core/config_error.hpp"

namespace ioc::aggregator {
namespace {

TEST(PeersTest, ParsesBaseUrlsOnce) {
  EXPECT_EQ(parse_peer("http://10.0.0.2:9101", "f", "k"), (Peer{"http://10.0.0.2:9101", "10.0.0.2", 9101}));
  EXPECT_EQ(parse_peer("http://agg-1/", "f", "k"), (Peer{"http://agg-1/", "agg-1", 80}));
  EXPECT_EQ(parse_peer("agg-2:9101", "f", "k"), (Peer{"agg-2:9101", "agg-2", 9101}));
}

TEST(PeersTest, ABadUrlIsAConfigError) {
  for (const char* bad : {"http://host:port", "http://host:0", "http://host:70000", "https://host:1",
                          "http://:9101", "http://host:9101/api", ""}) {
    EXPECT_THROW(parse_peer(bad, "ioc.yaml", "aggregator.peers"), ConfigError) << bad;
  }
  try {
    parse_peer("http://host:x", "ioc.yaml", "aggregator.peers");
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key(), "aggregator.peers");
    EXPECT_NE(std::string(e.what()).find("'http://host:x'"), std::string::npos) << e.what();
  }
}

TEST(PeersTest, MergesAViewAnswer) {
  boost::json::object out{{"windows", boost::json::array{1}}, {"partitions", boost::json::array{0}}};
  ASSERT_TRUE(merge_peer_answer(R"({"windows":[2,3],"partitions":[1]})", out));
  EXPECT_EQ(boost::json::serialize(out), R"({"windows":[1,2,3],"partitions":[0,1]})");
}

// Used to throw out of the route handler.
TEST(PeersTest, AMalformedAnswerIsRefusedNotThrown) {
  boost::json::object out{{"windows", boost::json::array{1}}, {"partitions", boost::json::array{0}}};
  const std::string before = boost::json::serialize(out);
  for (const char* bad : {"not json", "[]", "{}", R"({"windows":{},"partitions":[]})",
                          R"({"windows":[1],"partitions":"p"})", R"({"windows":[1]})"}) {
    EXPECT_FALSE(merge_peer_answer(bad, out)) << bad;
    EXPECT_EQ(boost::json::serialize(out), before) << bad;
  }
}

}  // namespace
}  // namespace ioc::aggregator
