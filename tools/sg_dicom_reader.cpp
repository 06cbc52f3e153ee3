// sg_dicom_reader: reads DICOM files for sg_prep in a process of its own
// (stages/dicom_process.hpp): GDCM may abort on a malformed file, and then
// only this process dies. Not meant to be run by hand. For each file, one
// reply on stdout: 'O' and the header or pixels, or 'E' and why not.
//   sg_dicom_reader header PATH NAME MAX_BYTES [PATH NAME MAX_BYTES ...]
//   sg_dicom_reader pixels PATH NAME COLUMNSxROWS [...]
#include <unistd.h>

#include <cstdio>
#include <string>

#include "common/errors.hpp"
#include "stages/dicom_process.hpp"
#include "stages/dicom_series.hpp"

namespace {

void reply(const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(STDOUT_FILENO, bytes.data() + done, bytes.size() - done);
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

std::string read_one(const std::string& mode, const std::string& path, const std::string& name,
                     const std::string& extra) {
  try {
    if (mode == "header") return sg::encode_dicom_slice(sg::read_dicom_slice(path, name, std::stoull(extra)));
    sg::DicomSlice slice;
    slice.path = path;
    slice.name = name;
    const size_t x = extra.find('x');
    slice.columns = std::stoi(extra.substr(0, x));
    slice.rows = std::stoi(extra.substr(x + 1));
    return sg::encode_dicom_pixels(sg::read_dicom_pixels(slice));
  } catch (const sg::InputError& e) {
    return sg::encode_dicom_reply(false, e.reason());
  } catch (const std::exception& e) {
    return sg::encode_dicom_reply(false, e.what());
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if ((mode != "header" && mode != "pixels") || (argc - 2) % 3 != 0) {
    std::fprintf(stderr, "usage: sg_dicom_reader header|pixels (PATH NAME MAX_BYTES|COLUMNSxROWS)... (run by sg_prep)\n");
    return 2;
  }
  for (int i = 2; i + 2 < argc; i += 3) reply(read_one(mode, argv[i], argv[i + 1], argv[i + 2]));
  return 0;
}
