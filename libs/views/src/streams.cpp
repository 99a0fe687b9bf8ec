#include "ioc/views/streams.hpp"

namespace ioc::views {

namespace {

template <typename S>
constexpr auto infos() {
  std::array<FieldInfo, S::kFields.size()> out{};
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = S::kFields[i].info;
  return out;
}
template <typename S>
constexpr auto kInfos = infos<S>();

}  // namespace

std::string_view to_string(Stream stream) {
  return visit(stream, [](auto s) { return std::string_view(decltype(s)::kName); });
}

const char* topic_of(Stream stream) {
  return visit(stream, [](auto s) { return decltype(s)::kTopic; });
}

std::span<const FieldInfo> fields_of(Stream stream) {
  return visit(stream, [](auto s) { return std::span<const FieldInfo>(kInfos<decltype(s)>); });
}

std::string_view field_name(Stream stream, FieldId field) {
  const auto f = fields_of(stream);
  return field < f.size() ? f[field].name : std::string_view("?");
}

}  // namespace ioc::views
