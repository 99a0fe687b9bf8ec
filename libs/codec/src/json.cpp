#include "ioc/codec/json.hpp"

namespace ioc::codec {

boost::json::object labels_json(const std::vector<Label>& labels) {
  boost::json::object o;
  for (const Label& l : labels) o[l.name] = l.value;
  return o;
}

void add_alert_fields(const AlertEvent& e, boost::json::object& o) {
  o["fingerprint"] = e.fingerprint;
  o["id"] = e.id;
  o["rule"] = e.rule;
  o["state"] = to_string(e.state);
  o["view"] = e.view;
  o["group"] = labels_json(e.group);
  o["value"] = e.value;
  o["threshold"] = e.threshold;
  o["comparator"] = e.comparator;
  o["summary"] = e.summary;
  o["description"] = e.description;
  o["scenario"] = e.scenario;
  o["category"] = e.category;
  o["sub_category"] = e.sub_category;
}

}  // namespace ioc::codec
