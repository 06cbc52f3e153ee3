#pragma once
// SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104): the keyed hash that
// turns a patient id into a pseudonym nobody without the key can link back
// (sg_prep --pseudonymise). Unlike common/hashing.hpp's digests, meant to
// resist a deliberate attempt.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace sg {

std::array<uint8_t, 32> sha256(std::string_view data);
std::array<uint8_t, 32> hmac_sha256(std::string_view key, std::string_view message);

// Lower-case hex of bytes.
std::string hex_bytes(const uint8_t* bytes, size_t count);

// The pseudonym of `subject` under `key`: "p" and the first 16 hex digits
// of HMAC-SHA256(key, subject) (64 bits: no two of a million subjects meet
// but with odds of 1 in 30 million).
std::string pseudonym(std::string_view key, std::string_view subject);

}  // namespace sg
