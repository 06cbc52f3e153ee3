#pragma once
// Our own walk over a DICOM file's structure before GDCM reads it: Debian's
// GDCM is built with assertions, and a malformed file (an element running
// past the end, a broken meta group) aborts the whole process inside it
// (found by fuzz_dicom). Every element, item and fragment is checked to lie
// within its parent and the file; what is not is refused with the offset.
#include <string>
#include <string_view>

namespace sg {

// The Part 10 file `bytes` (preamble, "DICM", the meta group, the dataset
// in its transfer syntax). Throws InputError(name, reason) at the first
// element that does not fit; returns the transfer syntax UID.
std::string check_dicom_structure(std::string_view bytes, const std::string& name);

}  // namespace sg
