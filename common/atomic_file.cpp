#include "common/atomic_file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

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

constexpr char kTemporaryMarker[] = ".tmp-";

// The writer's process id when `name` is a temporary of write_file_atomically
// ("NAME.tmp-PID"), else 0.
long temporary_owner(const std::string& name) {
  const size_t at = name.rfind(kTemporaryMarker);
  if (at == std::string::npos || at == 0) return 0;
  const char* digits = name.c_str() + at + sizeof(kTemporaryMarker) - 1;
  if (*digits < '0' || *digits > '9') return 0;
  char* end = nullptr;
  const long pid = std::strtol(digits, &end, 10);
  return *end == '\0' ? pid : 0;
}

}  // namespace

std::string temporary_path_for(const std::string& path) {
  return path + kTemporaryMarker + std::to_string(::getpid());
}

void remove_abandoned_temporaries(const std::string& folder) {
  DIR* dir = ::opendir(folder.c_str());
  if (!dir) return;
  std::vector<std::string> abandoned;
  while (const dirent* entry = ::readdir(dir)) {
    const long pid = temporary_owner(entry->d_name);
    if (pid <= 0 || pid == ::getpid()) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM) continue;  // its writer still runs
    abandoned.push_back(folder + "/" + entry->d_name);
  }
  ::closedir(dir);
  for (const std::string& path : abandoned) ::unlink(path.c_str());
}

void create_output_folder(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) throw OutputError(path, "cannot create the folder: " + ec.message());
}

void write_file_atomically(const std::string& path, std::string_view bytes, const std::string& what) {
  const fs::path final_path(path);
  const std::string folder = final_path.parent_path().empty() ? "." : final_path.parent_path().string();
  create_output_folder(folder);
  remove_abandoned_temporaries(folder);
  // The writer's pid in the name: a run killed mid-write (SIGKILL, power)
  // leaves a temporary that the next write into the folder recognises as
  // abandoned, while a concurrent writer's is left alone.
  const std::string temp = temporary_path_for(path);
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
