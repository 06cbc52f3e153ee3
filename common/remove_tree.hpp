#pragma once
// Deleting a folder and everything under it.
#include <string>
#include <system_error>

namespace sg {

// Removes `path` (a file, or a folder with its contents; symbolic links
// themselves, never what they point to). A missing path is no error. Returns
// the first failure, or an empty error_code.
//
// Not std::filesystem::remove_all: Python's torch package exports its own
// copies of libstdc++'s std::filesystem from libtorch, and a program linked
// against it can have its remove_all calls bound to a copy that jumps to
// address 0 (pytorch issue #133437). This walks the tree with POSIX nftw.
std::error_code remove_tree(const std::string& path) noexcept;

}  // namespace sg
