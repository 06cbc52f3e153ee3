#include "common/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/errors.hpp"

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
  const std::string temp = path + ".tmp";
  // Every call checked, fsync and close included: a network or quota file
  // system may report a full disk only there, and the rename must not put
  // a short file in place of a good one.
  auto fail = [&](int fd, const char* doing) {
    const int error = errno;
    if (fd >= 0) ::close(fd);
    ::unlink(temp.c_str());
    throw OutputError(temp, "cannot write " + what + " (" + doing + "): " + std::strerror(error));
  };
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(-1, "open");
  for (size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(fd, "write");
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) fail(fd, "fsync");
  if (::close(fd) != 0) fail(-1, "close");
  std::error_code ec;
  fs::rename(temp, final_path, ec);
  if (ec) {
    const std::string reason = ec.message();
    fs::remove(temp, ec);
    throw OutputError(path, "cannot rename " + what + " into place: " + reason);
  }
  fsync_path(folder, O_RDONLY | O_DIRECTORY);
}

}  // namespace sg
