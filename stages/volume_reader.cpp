#include "stages/volume_reader.hpp"

#include <itkImageIOBase.h>
#include <itkMetaImageIO.h>
#include <itkMultiThreaderBase.h>
#include <itkNiftiImageIO.h>
#include <itkNrrdImageIO.h>

#include <cstring>
#include <mutex>

#include "common/errors.hpp"
#include "stages/metaimage_header.hpp"
#include "stages/nifti_header.hpp"
#include "stages/nifti_reader.hpp"

namespace sg {

namespace {

void configure_itk_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Our graph already uses every core; ITK's own pool would oversubscribe.
    itk::MultiThreaderBase::SetGlobalDefaultNumberOfThreads(1);
  });
}

// The reader the file's name asks for, not whichever ITK's factory finds
// by sniffing the content: its PNG reader calls libpng without an error
// jump and aborts the process on a damaged PNG named .nhdr (found by
// fuzz_volume). PNG and JPEG never reach ITK.
itk::ImageIOBase::Pointer reader_for(const std::string& lower_name) {
  if (has_nifti_header_suffix(lower_name)) return itk::NiftiImageIO::New().GetPointer();
  if (has_metaimage_suffix(lower_name)) return itk::MetaImageIO::New().GetPointer();
  if (has_nrrd_suffix(lower_name)) return itk::NrrdImageIO::New().GetPointer();
  return nullptr;
}

bool ends_with(const std::string& s, const char* suffix) {
  size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

template <typename T>
void to_float(const char* raw, size_t voxels, size_t components, std::vector<float>& out) {
  const T* p = reinterpret_cast<const T*>(raw);
  out.resize(voxels);
  if (components == 1) {
    for (size_t i = 0; i < voxels; ++i) out[i] = static_cast<float>(p[i]);
  } else {
    // Rec. 601 luma, as PNG and JPEG decoders convert RGB to grey.
    for (size_t i = 0; i < voxels; ++i) {
      const T* v = p + i * components;
      out[i] = 0.299f * static_cast<float>(v[0]) + 0.587f * static_cast<float>(v[1]) + 0.114f * static_cast<float>(v[2]);
    }
  }
}

}  // namespace

bool is_volume_file_name(const std::string& n) {
  return ends_with(n, ".nii") || ends_with(n, ".nii.gz") || ends_with(n, ".hdr") || ends_with(n, ".mha") ||
         ends_with(n, ".mhd") || ends_with(n, ".nrrd") || ends_with(n, ".nhdr");
}

Volume read_volume_with_itk(const std::string& path, const std::string& name, uint64_t max_bytes,
                            std::vector<std::string>& warnings) {
  configure_itk_once();
  std::string lower = path;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (has_nifti_header_suffix(lower)) {
    const VolumeHeader header = check_nifti_header(path, name, max_bytes);
    // ITK 5.2 reads NIfTI-1 only.
    if (header.version == 2) return read_nifti_voxels(header, path, name, warnings);
  }
  if (has_metaimage_suffix(lower)) check_metaimage_data(path, name, max_bytes);
  if (has_nrrd_suffix(lower)) check_nrrd_data(path, name, max_bytes);

  try {
    itk::ImageIOBase::Pointer io = reader_for(lower);
    if (!io || !io->CanReadFile(path.c_str())) throw InputError(name, "no reader recognises this file");
    io->SetFileName(path);
    io->ReadImageInformation();
    unsigned ndim = io->GetNumberOfDimensions();
    if (ndim < 2) throw InputError(name, "a " + std::to_string(ndim) + "-D image has no slices");
    size_t components = io->GetNumberOfComponents();
    if (components != 1 && components != 3 && components != 4)
      throw InputError(name, std::to_string(components) + " components per voxel (expected 1, 3 or 4)");

    long double total = static_cast<long double>(io->GetComponentSize()) * components;
    for (unsigned d = 0; d < ndim; ++d) total *= static_cast<long double>(io->GetDimensions(d));
    if (total > static_cast<long double>(max_bytes))
      throw InputError(name, "dimensions exceed the size limit of " + std::to_string(max_bytes) + " bytes");

    Volume v;
    v.nx = static_cast<int>(io->GetDimensions(0));
    v.ny = static_cast<int>(io->GetDimensions(1));
    v.nz = ndim >= 3 ? static_cast<int>(io->GetDimensions(2)) : 1;
    size_t extra = 1;
    for (unsigned d = 3; d < ndim; ++d) extra *= io->GetDimensions(d);
    if (extra > 1)
      warnings.push_back(std::to_string(ndim) + "-D volume with " + std::to_string(extra) +
                         " volumes: using the first");

    // Whole-image reads only: streamed sub-region reads of .nii.gz crash ITK
    // 5.2 (ITK#3625).
    itk::ImageIORegion region(ndim);
    for (unsigned d = 0; d < ndim; ++d) {
      region.SetIndex(d, 0);
      region.SetSize(d, io->GetDimensions(d));
    }
    io->SetIORegion(region);
    std::vector<char> raw(io->GetImageSizeInBytes());
    io->Read(raw.data());

    size_t voxels = static_cast<size_t>(v.nx) * v.ny * v.nz;  // the first volume
    using C = itk::IOComponentEnum;
    switch (io->GetComponentType()) {
      case C::UCHAR: to_float<uint8_t>(raw.data(), voxels, components, v.voxels); v.type_max = 255; break;
      case C::CHAR: to_float<int8_t>(raw.data(), voxels, components, v.voxels); v.type_min = -128; v.type_max = 127; break;
      case C::USHORT: to_float<uint16_t>(raw.data(), voxels, components, v.voxels); v.type_max = 65535; break;
      case C::SHORT: to_float<int16_t>(raw.data(), voxels, components, v.voxels); v.type_min = -32768; v.type_max = 32767; break;
      case C::UINT: to_float<uint32_t>(raw.data(), voxels, components, v.voxels); break;
      case C::INT: to_float<int32_t>(raw.data(), voxels, components, v.voxels); break;
      case C::ULONG: to_float<unsigned long>(raw.data(), voxels, components, v.voxels); break;
      case C::LONG: to_float<long>(raw.data(), voxels, components, v.voxels); break;
      case C::ULONGLONG: to_float<unsigned long long>(raw.data(), voxels, components, v.voxels); break;
      case C::LONGLONG: to_float<long long>(raw.data(), voxels, components, v.voxels); break;
      case C::FLOAT: to_float<float>(raw.data(), voxels, components, v.voxels); break;
      case C::DOUBLE: to_float<double>(raw.data(), voxels, components, v.voxels); break;
      default: throw InputError(name, "unsupported voxel type " + io->GetComponentTypeAsString(io->GetComponentType()));
    }
    for (float& x : v.voxels)
      if (!std::isfinite(x)) x = 0.f;  // NaN backgrounds in float volumes
    return v;
  } catch (const Error&) {
    throw;
  } catch (const itk::ExceptionObject& e) {
    std::string what = e.GetDescription();
    while (!what.empty() && (what.back() == '\n' || what.back() == ' ')) what.pop_back();
    throw InputError(name, "ITK could not read it: " + what);
  } catch (const std::exception& e) {
    // ITK's readers also let standard exceptions through: MetaIO's slice
    // pattern formatting throws std::length_error on a malformed
    // "ElementDataFile = %..." (found by fuzz_volume).
    throw InputError(name, std::string("ITK could not read it: ") + e.what());
  }
}

}  // namespace sg
