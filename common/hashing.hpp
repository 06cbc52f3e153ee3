#pragma once
// Non-cryptographic hashes: digests of inputs and states, seeds derived
// from seeds, the split rule's per-subject draw.
#include <cstddef>
#include <cstdint>
#include <string>

namespace sg {

constexpr uint64_t kFnv1a64Basis = 1469598103934665603ull;

// FNV-1a, 64-bit, continuing from `hash`. Its top bits barely depend on the
// last bytes: finish with mix64 wherever those bits are used as a number.
uint64_t fnv1a64(const void* data, size_t size, uint64_t hash = kFnv1a64Basis);

// FNV-1a over a file's bytes, read a megabyte at a time. Throws InputError
// naming the file when it cannot be opened.
uint64_t fnv1a64_file(const std::string& path);

// A 64-bit value as 16 lower-case hex digits (digests, cache keys).
std::string hex64(uint64_t value);

// splitmix64's output function (Steele, Lea, Flood 2014): an avalanche over
// all 64 bits.
uint64_t mix64(uint64_t x);

// One step of splitmix64 from state x: mix64 of x plus the golden gamma.
uint64_t splitmix64(uint64_t x);

}  // namespace sg
