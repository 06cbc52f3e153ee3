#include "pipeline/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "pipeline/errors.hpp"

namespace sg {

namespace fs = std::filesystem;

namespace {

void fsync_path(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

void create_output_folder(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) throw OutputError(path, "cannot create the folder: " + ec.message());
}

void write_file_atomically(const std::string& path, std::string_view bytes, const std::string& what) {
  const fs::path final_path(path);
  const std::string folder = final_path.parent_path().empty() ? "." : final_path.parent_path().string();
  create_output_folder(folder);
  std::error_code ec;
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
      fs::remove(temp, ec);
      throw OutputError(temp, "cannot write " + what);
    }
  }
  fsync_path(temp, O_RDONLY);
  fs::rename(temp, final_path, ec);
  if (ec) throw OutputError(path, "cannot rename " + what + " into place: " + ec.message());
  fsync_path(folder, O_RDONLY | O_DIRECTORY);
}

}  // namespace sg
