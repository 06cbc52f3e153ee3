#include "stages/compressed_stream.hpp"

#include <zlib.h>

#include <fstream>
#include <vector>

#include "common/errors.hpp"

namespace sg {

uint64_t verify_compressed_file(const std::string& path, uint64_t offset, Wrapper wrapper, const std::string& name,
                                uint64_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(name, "cannot open file");
  in.seekg(static_cast<std::streamoff>(offset));
  z_stream z{};
  // 16 + 15: a gzip wrapper (header, CRC-32 and length trailer) is required;
  // 32 + 15: zlib's (Adler-32 trailer) or gzip's, whichever the stream has.
  const bool gzip = wrapper == Wrapper::Gzip;
  if (inflateInit2(&z, (gzip ? 16 : 32) + MAX_WBITS) != Z_OK) throw InputError(name, "cannot start zlib");
  std::vector<unsigned char> input(1 << 16), output(1 << 18);
  uint64_t total = 0;
  bool in_stream = true;  // inside a member (the first one starts at byte 0)
  auto fail = [&](const std::string& reason) {
    inflateEnd(&z);
    throw InputError(name, reason);
  };
  while (true) {
    if (z.avail_in == 0) {
      in.read(reinterpret_cast<char*>(input.data()), static_cast<std::streamsize>(input.size()));
      const auto got = in.gcount();
      if (got <= 0) break;
      z.next_in = input.data();
      z.avail_in = static_cast<uInt>(got);
    }
    if (!in_stream) {
      // Members may follow one another (gzip -c a >> b); padding of zeros may end the file.
      if (z.next_in[0] == 0) {
        while (z.avail_in && z.next_in[0] == 0) ++z.next_in, --z.avail_in;
        continue;
      }
      inflateReset(&z);
      in_stream = true;
    }
    z.next_out = output.data();
    z.avail_out = static_cast<uInt>(output.size());
    const int ret = inflate(&z, Z_NO_FLUSH);
    total += output.size() - z.avail_out;
    if (total > limit) fail("compressed data inflates past the size limit of " + std::to_string(limit) + " bytes");
    if (ret == Z_STREAM_END) {
      in_stream = false;
      if (!gzip) break;  // a zlib stream is one member; what follows is not ours to check
    } else if (ret == Z_DATA_ERROR) {
      fail(std::string(gzip ? "corrupt gzip data (" : "corrupt compressed data (") + (z.msg ? z.msg : "bad data") + ")");
    } else if (ret == Z_MEM_ERROR) {
      fail("out of memory while inflating");
    } else if (ret != Z_OK && ret != Z_BUF_ERROR) {
      fail("cannot inflate (zlib error " + std::to_string(ret) + ")");
    }
  }
  inflateEnd(&z);
  if (in_stream)
    throw InputError(name, std::string(gzip ? "gzip" : "compressed") + " stream ends early after " + std::to_string(total) +
                               " bytes (truncated file, e.g. an interrupted download or copy)");
  return total;
}

}  // namespace sg
