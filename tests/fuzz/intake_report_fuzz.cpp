// libFuzzer target: arbitrary bytes as a POST /api/v1/reports body must give
// a Report or a Rejection with a well-formed JSON body, never a crash.
#include <boost/json/parse.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "report_request.hpp"

namespace {

const ioc::Registry& registry() {
  static const ioc::Registry r({{"380", "Thành phố Thanh Hóa", "thanh-hoa-city"}, {"381", "Thị xã Bỉm Sơn", "bim-son"}},
                               {{"flood", "Ngập lụt", "naturalDisaster", "flood"}, {"other", "Khác", "", ""}});
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const auto now = ioc::from_epoch_ms(1719822600000);
  auto r = ioc::intake::parse_report(body, registry(), now, ioc::intake::ReportLimits{});
  if (auto* rej = std::get_if<ioc::intake::Rejection>(&r)) {
    if (rej->status != 400 && rej->status != 422) std::abort();
    boost::system::error_code ec;
    (void)boost::json::parse(ioc::intake::to_json(*rej), ec);
    if (ec) std::abort();  // the error body itself must be valid JSON
  } else {
    const auto& rep = std::get<ioc::Report>(r);
    if (!registry().district_index(rep.district) || !registry().category_index(rep.category)) std::abort();
  }
  return 0;
}
