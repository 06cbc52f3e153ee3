#include "test_util.hpp"

#include <jpeglib.h>
#include <png.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "common/images/image_codec.hpp"
#include "common/remove_tree.hpp"

namespace sg::test {

namespace fs = std::filesystem;

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  path_ = fs::temp_directory_path() /
          ("sg_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  remove_tree(path_.string());
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  remove_tree(path_.string());
}

Image8 synthetic_slice(int width, int height, int seed) {
  Image8 image(width, height);
  const double cx = width * (0.45 + 0.01 * (seed % 7)), cy = height * 0.5;
  const double r = std::min(width, height) * (0.3 + 0.01 * (seed % 5));
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      double d = std::hypot(x - cx, y - cy);
      double v = d < r ? 120 + 100 * std::sin(0.05 * (x + 3 * seed)) * std::cos(0.07 * y) : 0;
      image.at(x, y) = static_cast<uint8_t>(std::clamp(v, 0.0, 255.0));
    }
  return image;
}

Image8 shape_slice(int size, bool square, int seed) {
  Image8 image(size, size);
  const double cx = size * (0.5 + 0.03 * (seed % 5 - 2)), cy = size * (0.5 + 0.03 * (seed % 3 - 1));
  const double r = size * 0.25, half_side = size * 0.36;
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      const double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
      const bool inside = square ? std::abs(dx) < half_side && std::abs(dy) < half_side : std::hypot(dx, dy) < r;
      image.at(x, y) = inside ? 200 : 0;
    }
  return image;
}

std::string png_bytes(const Image8& image) { return encode_png(image, 6); }

namespace {
void append(png_structp png, png_bytep data, png_size_t n) {
  static_cast<std::string*>(png_get_io_ptr(png))->append(reinterpret_cast<char*>(data), n);
}
void no_flush(png_structp) {}
}  // namespace

std::string jpeg_bytes(const Image8& rgb) {
  jpeg_compress_struct cinfo;
  jpeg_error_mgr err;
  cinfo.err = jpeg_std_error(&err);
  jpeg_create_compress(&cinfo);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &buffer, &size);
  cinfo.image_width = static_cast<JDIMENSION>(rgb.width);
  cinfo.image_height = static_cast<JDIMENSION>(rgb.height);
  cinfo.input_components = 3;
  cinfo.in_color_space = JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, 95, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<unsigned char*>(&rgb.pixels[static_cast<size_t>(cinfo.next_scanline) * rgb.width * 3]);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::string out(reinterpret_cast<char*>(buffer), size);
  std::free(buffer);
  return out;
}

std::string png16_bytes(int width, int height, const std::vector<uint16_t>& pixels) {
  std::string out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  png_set_write_fn(png, &out, append, no_flush);
  png_set_IHDR(png, info, width, height, 16, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  std::vector<unsigned char> row(static_cast<size_t>(width) * 2);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      uint16_t v = pixels[static_cast<size_t>(y) * width + x];
      row[2 * x] = static_cast<unsigned char>(v >> 8);  // PNG is big-endian
      row[2 * x + 1] = static_cast<unsigned char>(v & 0xFF);
    }
    png_write_row(png, row.data());
  }
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return out;
}

void write_file(const std::string& path, const std::string& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string nifti1_bytes(const std::vector<int>& dims, const std::vector<int16_t>& voxels) {
  std::string h(352, '\0');
  auto put16 = [&](size_t off, int16_t v) { std::memcpy(&h[off], &v, 2); };
  auto put32 = [&](size_t off, int32_t v) { std::memcpy(&h[off], &v, 4); };
  auto putf = [&](size_t off, float v) { std::memcpy(&h[off], &v, 4); };
  put32(0, 348);
  put16(40, static_cast<int16_t>(dims.size()));
  for (size_t i = 0; i < dims.size(); ++i) put16(42 + 2 * i, static_cast<int16_t>(dims[i]));
  for (size_t i = dims.size(); i < 7; ++i) put16(42 + 2 * i, 1);
  put16(70, 4);    // DT_INT16
  put16(72, 16);   // bitpix
  for (int i = 0; i < 8; ++i) putf(76 + 4 * i, 1.f);  // pixdim
  putf(108, 352.f);  // vox_offset
  putf(112, 1.f);    // scl_slope
  put16(252, 0);     // qform_code
  put16(254, 0);     // sform_code
  std::memcpy(&h[344], "n+1\0", 4);
  std::string data(reinterpret_cast<const char*>(voxels.data()), voxels.size() * 2);
  return h + data;
}

std::string source_path(const std::string& relative) { return std::string(SG_SOURCE_DIR) + "/" + relative; }

std::string program_path(const std::string& name) { return std::string(SG_BIN_DIR) + "/" + name; }

ProgramRun run_program(const std::vector<std::string>& argv, double timeout_s) {
  static std::atomic<int> counter{0};
  const fs::path capture = fs::temp_directory_path() / ("sg_run_" + std::to_string(::getpid()) + "_" +
                                                        std::to_string(counter++));
  const std::string out_path = capture.string() + ".out", err_path = capture.string() + ".err";
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    if (!std::freopen(out_path.c_str(), "w", stdout) || !std::freopen(err_path.c_str(), "w", stderr)) ::_exit(126);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ProgramRun run;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) != pid) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      run.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status) && !run.timed_out) run.signal = WTERMSIG(status);
  run.out = read_file(out_path);
  run.err = read_file(err_path);
  std::remove(out_path.c_str());
  std::remove(err_path.c_str());
  return run;
}

}  // namespace sg::test
