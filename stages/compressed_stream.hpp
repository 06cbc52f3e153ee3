#pragma once
// Compressed voxel data checked to its end before a reader trusts it: zlib
// (and the readers inside ITK) hand back what inflated so far when a stream
// stops early, and some never look at the CRC or length trailer.
#include <cstdint>
#include <string>

namespace sg {

enum class Wrapper {
  Gzip,        // .gz files, NRRD "encoding: gzip": CRC-32 and length trailer; members may follow one another
  ZlibOrGzip,  // MetaImage CompressedData: a zlib stream (Adler-32 trailer), or gzip
};

// The bytes the stream starting at `offset` of `path` inflates to, checked
// to its end. InputError (naming `display_name`) when it stops early (a
// truncated file), fails its checksum or length check, or is no such
// stream; beyond `limit` bytes it is refused as absurd.
uint64_t verify_compressed_file(const std::string& path, uint64_t offset, Wrapper wrapper,
                                const std::string& display_name, uint64_t limit);

}  // namespace sg
