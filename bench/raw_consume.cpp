// ioc-bench-raw-consume BOOTSTRAP TOPIC RECORDS: the floor of any consumer of
// a topic, for bench/aggregator_e2e.py. Plain librdkafka, no group join
// (every partition assigned from the beginning), messages taken in batches
// and dropped; prints the records read, the seconds from the assignment to
// the last record, and the CPU seconds the process used (all threads).
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <sys/resource.h>

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s BOOTSTRAP TOPIC RECORDS\n", argv[0]);
    return 2;
  }
  const long long want = std::atoll(argv[3]);
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], err, sizeof err);
  rd_kafka_conf_set(conf, "group.id", "ioc-bench-raw-consume", err, sizeof err);
  rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
  // The same fetch setting as the services' consumers (libs/kafka).
  rd_kafka_conf_set(conf, "fetch.wait.max.ms", "100", err, sizeof err);
  rd_kafka_conf_set(conf, "queued.min.messages", "1000000", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (rk == nullptr) {
    std::fprintf(stderr, "%s\n", err);
    return 1;
  }
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk, argv[2], nullptr);
  if (rd_kafka_metadata(rk, 0, t, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR || md->topic_cnt != 1) {
    std::fprintf(stderr, "no metadata for %s\n", argv[2]);
    return 1;
  }
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
  for (int p = 0; p < md->topics[0].partition_cnt; ++p) {
    rd_kafka_topic_partition_list_add(parts, argv[2], p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(t);
  const auto assigned = std::chrono::steady_clock::now();
  rd_kafka_assign(rk, parts);
  rd_kafka_topic_partition_list_destroy(parts);
  rd_kafka_queue_t* q = rd_kafka_queue_get_consumer(rk);
  std::vector<rd_kafka_message_t*> batch(10000);
  long long got = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  while (got < want && std::chrono::steady_clock::now() < deadline) {
    const ssize_t n = rd_kafka_consume_batch_queue(q, 1000, batch.data(), batch.size());
    for (ssize_t i = 0; i < n; ++i) {
      got += batch[i]->err == RD_KAFKA_RESP_ERR_NO_ERROR;
      rd_kafka_message_destroy(batch[i]);
    }
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - assigned).count();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                     static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  std::printf("%lld %.6f %.6f\n", got, s, cpu);
  rd_kafka_queue_destroy(q);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return got >= want ? 0 : 1;
}
