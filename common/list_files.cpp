#include "common/list_files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <memory>

namespace sg {

namespace {

struct CloseDirectory {
  void operator()(DIR* directory) const { ::closedir(directory); }
};

std::error_code errno_code() { return std::error_code(errno, std::generic_category()); }

std::error_code walk(const std::string& folder, Depth depth, bool is_root, std::vector<std::string>& files) {
  std::unique_ptr<DIR, CloseDirectory> directory(::opendir(folder.c_str()));
  if (!directory) return !is_root && errno == EACCES ? std::error_code() : errno_code();
  const int folder_fd = ::dirfd(directory.get());
  const std::string prefix = folder.back() == '/' ? folder : folder + "/";
  for (;;) {
    errno = 0;
    const dirent* entry = ::readdir(directory.get());
    if (!entry) {
      if (errno != 0) return errno_code();
      break;
    }
    const std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    struct stat info;
    // An entry removed between readdir and here is simply gone.
    if (::fstatat(folder_fd, name.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0) continue;
    const std::string path = prefix + name;
    if (S_ISLNK(info.st_mode)) {
      if (::fstatat(folder_fd, name.c_str(), &info, 0) == 0 && S_ISREG(info.st_mode)) files.push_back(path);
    } else if (S_ISREG(info.st_mode)) {
      files.push_back(path);
    } else if (S_ISDIR(info.st_mode) && depth == Depth::recursive) {
      if (const auto error = walk(path, depth, false, files)) return error;
    }
  }
  return {};
}

}  // namespace

std::error_code list_files(const std::string& folder, Depth depth, std::vector<std::string>& files,
                           const std::vector<std::string>& extensions) {
  if (folder.empty()) return std::make_error_code(std::errc::no_such_file_or_directory);
  const auto first = static_cast<std::ptrdiff_t>(files.size());
  const auto error = walk(folder, depth, true, files);
  const auto unwanted = [&](const std::string& file) {
    return std::find(extensions.begin(), extensions.end(), lowercase_extension(file)) == extensions.end();
  };
  if (!extensions.empty()) files.erase(std::remove_if(files.begin() + first, files.end(), unwanted), files.end());
  std::sort(files.begin() + first, files.end());
  return error;
}

std::string lowercase_extension(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  const size_t dot = path.find_last_of('.');
  const size_t name_start = slash == std::string::npos ? 0 : slash + 1;
  // As std::filesystem has it, ".hidden" is a name, not an extension.
  if (dot == std::string::npos || dot <= name_start) return "";
  std::string extension = path.substr(dot);
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extension;
}

}  // namespace sg
