// Preloaded (LD_PRELOAD) into a service by the shutdown test: its Kafka
// client's rd_kafka_destroy_flags() never returns, as librdkafka 2.0 does at
// times after broker outages (its issue #4674). The service must still exit
// within process.shutdown_timeout.
#include <unistd.h>

extern "C" void rd_kafka_destroy_flags(void*, int) {
  for (;;) pause();
}
