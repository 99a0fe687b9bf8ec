#pragma once
/// Converts domain records to and from their protobuf wire form (proto/ioc/v1).
/// The only library besides ioc::proto that sees generated *.pb.h code.
///
/// decode_* never throws: bytes that are not a valid message, or lack a
/// required field (ids, district, event time), come back as an Error naming
/// the message and field, ready for the dead-letter topic. Encoders and
/// decoders reuse one protobuf message per thread: no per-call allocation
/// beyond the output. Thread-safe.

#include <string>
#include <string_view>

#include "ioc/core/model.hpp"
#include "ioc/core/result.hpp"

namespace ioc::codec {

void encode(const Report& in, std::string& out);
void encode(const ServiceTransaction& in, std::string& out);
void encode(const Telemetry& in, std::string& out);
void encode(const AirQualityReading& in, std::string& out);
void encode(const WindowResult& in, std::string& out);
void encode(const ReportStatus& in, std::string& out);
void encode(const AlertEvent& in, std::string& out);

[[nodiscard]] Status decode(std::string_view bytes, Report& out);
[[nodiscard]] Status decode(std::string_view bytes, ServiceTransaction& out);
[[nodiscard]] Status decode(std::string_view bytes, Telemetry& out);
[[nodiscard]] Status decode(std::string_view bytes, AirQualityReading& out);
[[nodiscard]] Status decode(std::string_view bytes, WindowResult& out);
[[nodiscard]] Status decode(std::string_view bytes, ReportStatus& out);
[[nodiscard]] Status decode(std::string_view bytes, AlertEvent& out);

/// Convenience for non-hot paths.
template <typename T>
std::string encode(const T& in) {
  std::string out;
  encode(in, out);
  return out;
}

}  // namespace ioc::codec
