#pragma once
/// FNV-1a, 64-bit: the hash of identities that are stored (checkpoints,
/// snapshot fingerprints, result keys, alert fingerprints), so its values
/// must never change (pinned by hash_test). Not for untrusted keys of hash
/// tables. Pure.
///
/// Two offset bases are in use. kFnv1aBasis is the standard one. The
/// aggregator's group keys, record identities and checkpoint partitions
/// were first stored with kFnv1aShortBasis, the standard basis missing its
/// last digit: those values live in checkpoints and on the state topic, so
/// they keep it. Anything new uses kFnv1aBasis.

#include <cstdint>
#include <string_view>

namespace ioc {

inline constexpr std::uint64_t kFnv1aBasis = 14695981039346656037ULL;  // 0xcbf29ce484222325
inline constexpr std::uint64_t kFnv1aShortBasis = 1469598103934665603ULL;
inline constexpr std::uint64_t kFnv1aPrime = 1099511628211ULL;

/// Continues the hash `h` over `bytes`.
constexpr std::uint64_t fnv1a(std::string_view bytes, std::uint64_t h = kFnv1aBasis) {
  for (const char c : bytes) h = (h ^ static_cast<unsigned char>(c)) * kFnv1aPrime;
  return h;
}

/// Continues the hash `h` with one whole word (not its bytes) in a single
/// step, as the aggregator's stored keys do with view indexes and sizes.
constexpr std::uint64_t fnv1a_word(std::uint64_t word, std::uint64_t h) { return (h ^ word) * kFnv1aPrime; }

}  // namespace ioc
