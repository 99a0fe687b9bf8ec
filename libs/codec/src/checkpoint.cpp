#include "ioc/codec/checkpoint.hpp"

#include "ioc/v1/aggregator_state.pb.h"

namespace ioc::codec {

void encode(const AggregatorCheckpoint& c, std::string& out) {
  v1::AggregatorCheckpoint m;
  m.set_topic(c.topic);
  m.set_partition(c.partition);
  m.set_next_offset(c.next_offset);
  m.set_engine(c.engine.data(), c.engine.size());
  for (const auto& k : c.keys) {
    auto* pk = m.add_keys();
    pk->set_view(k.view);
    pk->set_key(k.key);
    for (const auto& v : k.values) pk->add_values(v);
  }
  for (const auto& s : c.samples) {
    auto* ps = m.add_samples();
    ps->set_ref(s.ref);
    ps->set_time_ms(s.time_ms);
    ps->set_id(s.id);
  }
  m.set_created_ms(c.created_ms);
  std::string views;
  for (const auto& v : c.views) views += (views.empty() ? "" : ",") + v;
  m.set_views(std::move(views));
  m.set_last_record_ms(c.last_record_ms);
  m.set_last_record_id(c.last_record_id);
  m.set_epoch(c.epoch);
  m.mutable_seen_ids()->Add(c.seen_ids.begin(), c.seen_ids.end());
  m.mutable_seen_received_ms()->Add(c.seen_received_ms.begin(), c.seen_received_ms.end());
  out.clear();
  m.AppendToString(&out);
}

Status decode(std::string_view bytes, AggregatorCheckpoint& c) {
  v1::AggregatorCheckpoint m;
  if (!m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return data_loss("checkpoint is not a valid ioc.v1.AggregatorCheckpoint");
  }
  c = AggregatorCheckpoint{};
  c.topic = m.topic();
  c.partition = m.partition();
  c.next_offset = m.next_offset();
  c.engine.assign(m.engine().begin(), m.engine().end());
  for (const auto& k : m.keys()) c.keys.push_back({k.view(), k.key(), {k.values().begin(), k.values().end()}});
  for (const auto& s : m.samples()) c.samples.push_back({s.ref(), s.time_ms(), s.id()});
  c.created_ms = m.created_ms();
  c.last_record_ms = m.last_record_ms();
  c.last_record_id = m.last_record_id();
  c.epoch = m.epoch();
  if (m.seen_ids_size() != 2 * m.seen_received_ms_size()) {
    return data_loss("checkpoint has " + std::to_string(m.seen_ids_size()) + " words of seen ids for " +
                     std::to_string(m.seen_received_ms_size()) + " receive times (two words each)");
  }
  c.seen_ids.assign(m.seen_ids().begin(), m.seen_ids().end());
  c.seen_received_ms.assign(m.seen_received_ms().begin(), m.seen_received_ms().end());
  std::string_view views = m.views();
  while (!views.empty()) {
    const auto comma = views.find(',');
    c.views.emplace_back(views.substr(0, comma));
    views = comma == std::string_view::npos ? std::string_view{} : views.substr(comma + 1);
  }
  return {};
}

}  // namespace ioc::codec
