#pragma once
/// FNV-1a, 64-bit: the hash of identities that are stored (checkpoints,
/// snapshot fingerprints, result keys), so its values must never change
/// (pinned by hash_test). Not for untrusted keys of hash tables. Pure.

#include <cstdint>
#include <string_view>

namespace ioc {

inline constexpr std::uint64_t kFnv1aBasis = 14695981039346656037ULL;  // 0xcbf29ce484222325
inline constexpr std::uint64_t kFnv1aPrime = 1099511628211ULL;

/// Continues the hash `h` over `bytes`.
constexpr std::uint64_t fnv1a(std::string_view bytes, std::uint64_t h = kFnv1aBasis) {
  for (const char c : bytes) h = (h ^ static_cast<unsigned char>(c)) * kFnv1aPrime;
  return h;
}

}  // namespace ioc
