// sg_dicom_reader: reads one DICOM file for sg_prep, in a process of its
// own (stages/dicom_process.hpp): GDCM may abort on a malformed file, and
// then only this process dies. Not meant to be run by hand.
//   sg_dicom_reader header PATH NAME MAX_BYTES   -> 'O' + the slice's header, or 'E' + why not
//   sg_dicom_reader pixels PATH NAME COLUMNSxROWS -> 'O' + its pixels as floats, or 'E' + why not
#include <cstdio>
#include <string>
#include <unistd.h>

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

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: sg_dicom_reader header|pixels PATH NAME MAX_BYTES|COLUMNSxROWS (run by sg_prep)\n");
    return 2;
  }
  const std::string mode = argv[1], path = argv[2], name = argv[3], extra = argv[4];
  try {
    if (mode == "header") {
      reply(sg::encode_dicom_slice(sg::read_dicom_slice(path, name, std::stoull(extra))));
    } else if (mode == "pixels") {
      sg::DicomSlice slice;
      slice.path = path;
      slice.name = name;
      const size_t x = extra.find('x');
      slice.columns = std::stoi(extra.substr(0, x));
      slice.rows = std::stoi(extra.substr(x + 1));
      reply(sg::encode_dicom_pixels(sg::read_dicom_pixels(slice)));
    } else {
      std::fprintf(stderr, "sg_dicom_reader: unknown mode %s\n", mode.c_str());
      return 2;
    }
  } catch (const sg::InputError& e) {
    reply("E" + e.reason());
  } catch (const std::exception& e) {
    reply(std::string("E") + e.what());
  }
  return 0;
}
