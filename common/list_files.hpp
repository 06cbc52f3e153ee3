#pragma once
// Listing the files of a folder.
#include <string>
#include <system_error>
#include <vector>

namespace sg {

enum class Depth { top_level, recursive };

// Appends the regular files in `folder` (with Depth::recursive, in its
// subfolders too) to `files`, sorted by path; with `extensions` (lower case,
// with the dot: ".png") only those whose lowercase_extension is one of them.
// A link to a file counts; a
// linked folder is not entered (it may point outside the tree, or back into
// it); an unreadable subfolder is skipped. Returns the first failure to read
// `folder` itself or a folder below it, or an empty error_code.
//
// Not std::filesystem's directory iterators: Python's torch package exports
// copies of them from libtorch (pytorch issue #133437, see remove_tree.hpp),
// and the programs that list folders (sg_train's animation, sg_eval's image
// folders) link against it.
std::error_code list_files(const std::string& folder, Depth depth, std::vector<std::string>& files,
                           const std::vector<std::string>& extensions = {});

// The part of `path` after its last '.' (in its last component), lower-cased,
// with the dot: ".png"; empty when there is none (a leading dot, as in
// ".hidden", starts a name, not an extension).
std::string lowercase_extension(const std::string& path);

}  // namespace sg
