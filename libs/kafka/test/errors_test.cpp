#include "errors.hpp"

#include <gtest/gtest.h>

namespace ioc::kafka {
namespace {

TEST(ErrorsTest, ClassifiesTransientErrorsAsRetriable) {
  EXPECT_TRUE(is_retriable(RD_KAFKA_RESP_ERR__TRANSPORT));
  EXPECT_TRUE(is_retriable(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT));
  EXPECT_TRUE(is_retriable(RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION));
  // CreateTopics while the controller moves (a cluster starting up).
  EXPECT_TRUE(is_retriable(RD_KAFKA_RESP_ERR_NOT_CONTROLLER));
  EXPECT_TRUE(is_retriable(RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT));
  EXPECT_FALSE(is_retriable(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE));
  EXPECT_FALSE(is_retriable(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED));
}

TEST(ErrorsTest, MapsToErrorCodesWithContext) {
  const Error e = to_error(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, "produce ioc.reports.v1");
  EXPECT_EQ(e.code, ErrorCode::kUnavailable);
  EXPECT_EQ(e.message.rfind("produce ioc.reports.v1: ", 0), 0u) << e.message;
  EXPECT_EQ(to_error(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, "x").code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(to_error(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, "x").code, ErrorCode::kInternal);
  // A topic the cluster refuses to create as asked: the plan is wrong.
  EXPECT_EQ(to_error(RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR, "x").code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(to_error(RD_KAFKA_RESP_ERR_INVALID_CONFIG, "x").code, ErrorCode::kInvalidArgument);
}

TEST(ErrorsTest, ALateProbeAnswerIsNoVerdict) {
  EXPECT_EQ(probe_reach(RD_KAFKA_RESP_ERR_NO_ERROR), Reach::kReachable);
  // An open connection whose answer is late: a busy broker, not a gone one.
  EXPECT_EQ(probe_reach(RD_KAFKA_RESP_ERR__TIMED_OUT), Reach::kUnknown);
  EXPECT_EQ(probe_reach(RD_KAFKA_RESP_ERR__TRANSPORT), Reach::kUnreachable);
  EXPECT_EQ(probe_reach(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN), Reach::kUnreachable);
}

}  // namespace
}  // namespace ioc::kafka
