#pragma once
// Our own walk over a DICOM file's structure before GDCM reads it: Debian's
// GDCM is built with assertions, and a malformed file (an element running
// past the end, a broken meta group) aborts whatever process reads it
// (found by fuzz_dicom). GDCM runs in a child process anyway
// (dicom_process.hpp); this names what is wrong with a file, with its
// offset, where a dead child could only say that it died.
#include <string>
#include <string_view>

namespace sg {

// The Part 10 file `bytes` (preamble, "DICM", the meta group, the dataset
// in its transfer syntax). Throws InputError(name, reason) at the first
// element that does not fit; returns the transfer syntax UID.
std::string check_dicom_structure(std::string_view bytes, const std::string& name);

}  // namespace sg
