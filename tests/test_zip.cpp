// write_zip: only in builds with sg_prep (libzip).
#include <zip.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "test_util.hpp"

namespace sg::test {

void write_zip(const std::string& path, const std::vector<std::pair<std::string, std::string>>& members) {
  int error = 0;
  zip_t* archive = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  if (!archive) throw std::runtime_error("cannot create zip " + path);
  for (const auto& [name, bytes] : members) {
    // libzip keeps the buffer until zip_close: give it its own copy.
    void* copy = std::malloc(bytes.size() + 1);
    std::memcpy(copy, bytes.data(), bytes.size());
    zip_source_t* source = zip_source_buffer(archive, copy, bytes.size(), 1);
    if (zip_file_add(archive, name.c_str(), source, ZIP_FL_ENC_UTF_8) < 0) {
      zip_source_free(source);
      throw std::runtime_error("cannot add " + name);
    }
  }
  if (zip_close(archive) != 0) throw std::runtime_error("cannot write zip " + path);
}

}  // namespace sg::test
