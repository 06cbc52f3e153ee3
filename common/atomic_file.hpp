#pragma once
// Writing a file whole or not at all.
#include <string>
#include <string_view>

namespace sg {

// Writes `bytes` to `path` through a temporary file in the same folder
// (created when missing): fsync, rename into place, fsync of the folder. A
// full disk or a crash leaves the old file or none, never a truncated one.
// OutputError naming `what` ("checkpoint", "sample grid") when it fails.
// Temporaries abandoned by killed writers in that folder are removed first.
void write_file_atomically(const std::string& path, std::string_view bytes, const std::string& what = "file");

// The temporary this process writes `path` through ("PATH.tmp-PID").
std::string temporary_path_for(const std::string& path);

// Removes the temporaries ("NAME.tmp-PID") in `folder` whose writing process
// is gone: what a run killed while writing left behind.
void remove_abandoned_temporaries(const std::string& folder);

// Creates the folder `path` and its parents when missing; OutputError
// ("cannot create the folder: Not a directory") when it cannot.
void create_output_folder(const std::string& path);

}  // namespace sg
