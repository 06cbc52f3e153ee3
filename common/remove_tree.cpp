#include "common/remove_tree.hpp"

#include <ftw.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>

namespace sg {

namespace {

// Children before their folder (FTW_DEPTH), links as links (FTW_PHYS).
int remove_entry(const char* path, const struct stat*, int, struct FTW*) { return std::remove(path) == 0 ? 0 : errno; }

}  // namespace

std::error_code remove_tree(const std::string& path) noexcept {
  struct stat info;
  if (::lstat(path.c_str(), &info) != 0)
    return errno == ENOENT ? std::error_code() : std::error_code(errno, std::generic_category());
  const int rc = ::nftw(path.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  if (rc == 0) return {};
  // nftw passes the callback's errno on; -1 is its own failure, in errno.
  return std::error_code(rc > 0 ? rc : errno, std::generic_category());
}

}  // namespace sg
