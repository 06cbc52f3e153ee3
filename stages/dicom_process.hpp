#pragma once
// GDCM in child processes. Debian's GDCM is built with assertions and its
// decoders trust their input: a malformed file can abort, or divide by zero
// in, whatever process reads it (fuzz_dicom found seven ways in minutes,
// past every check of ours). sg_prep therefore never calls GDCM itself:
// files are read by `sg_dicom_reader` (tools/), spawned beside the running
// program, a batch of files per child; when a child dies, the files it did
// not answer are read again one per child, and the one that kills its child
// is a skipped input with that reason.
#include <cstdint>
#include <string>
#include <vector>

#include "stages/dicom_series.hpp"

namespace sg {

// One file's outcome: `slice` read, or `refusal` (why not).
struct DicomSliceResult {
  DicomSlice slice;
  std::string refusal;
};

// read_dicom_slice for each (path, name), in child processes; a refusal
// says "GDCM crashed reading it (...)" when the file killed its child.
std::vector<DicomSliceResult> read_dicom_slices_isolated(const std::vector<std::pair<std::string, std::string>>& files,
                                                         uint64_t max_bytes);
// One file the same way; InputError(name, refusal) when it cannot be read.
DicomSlice read_dicom_slice_isolated(const std::string& path, const std::string& name, uint64_t max_bytes);

// Every slice's pixels (read_dicom_series_pixels) in child processes;
// InputError naming the first file that cannot be read.
std::vector<std::vector<float>> read_dicom_pixels_isolated(const std::vector<DicomSlice>& slices);

// The reader's side: one reply per file, 'O' + payload or 'E' + reason.
std::string encode_dicom_reply(bool ok, const std::string& payload);
std::string encode_dicom_slice(const DicomSlice& slice);
std::string encode_dicom_pixels(const std::vector<float>& pixels);

// The reader program: $SG_DICOM_READER, else sg_dicom_reader beside the
// running executable.
std::string dicom_reader_program();

}  // namespace sg
