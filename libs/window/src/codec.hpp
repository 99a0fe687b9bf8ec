#pragma once
// The snapshot's binary writer/reader: ioc/core/bytes.hpp over a byte vector.

#include <cstdint>
#include <vector>

#include "ioc/core/bytes.hpp"

namespace ioc::window::detail {

using ByteWriter = ioc::ByteWriter<std::vector<std::uint8_t>>;
using ByteReader = ioc::ByteReader;

}  // namespace ioc::window::detail
