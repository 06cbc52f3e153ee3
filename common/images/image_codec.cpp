#include "common/images/image_codec.hpp"

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

#include <csetjmp>
#include <cstring>
#include <memory>
#include <vector>

#include "common/errors.hpp"

namespace sg {

ImageFormat sniff_image_format(std::string_view bytes) {
  static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  if (bytes.size() >= 8 && std::memcmp(bytes.data(), png_sig, 8) == 0) return ImageFormat::Png;
  if (bytes.size() >= 3 && static_cast<unsigned char>(bytes[0]) == 0xFF &&
      static_cast<unsigned char>(bytes[1]) == 0xD8 && static_cast<unsigned char>(bytes[2]) == 0xFF)
    return ImageFormat::Jpeg;
  return ImageFormat::Unknown;
}

namespace {

// libpng and libjpeg report errors by longjmp; the functions that call them
// keep only trivially destructible state between setjmp and the calls, and
// turn the jump into an error message that C++ code then throws.
struct PngReadState {
  const unsigned char* data;
  size_t size;
  size_t offset;
  char message[256];
};

void png_read_from_memory(png_structp png, png_bytep out, png_size_t count) {
  auto* state = static_cast<PngReadState*>(png_get_io_ptr(png));
  if (state->offset + count > state->size) png_error(png, "file is truncated");
  std::memcpy(out, state->data + state->offset, count);
  state->offset += count;
}

void png_on_error(png_structp png, png_const_charp msg) {
  auto* state = static_cast<PngReadState*>(png_get_error_ptr(png));
  std::snprintf(state->message, sizeof state->message, "%s", msg);
  png_longjmp(png, 1);
}

void png_on_warning(png_structp, png_const_charp) {}

struct PngInfo {
  png_uint_32 width = 0, height = 0;
  int bit_depth = 0, channels = 0;
};

// Reads the header, applies the transforms that give grey (or `keep_rgb`)
// samples, then the pixels into a buffer the caller sizes through `allocate`.
// Returns false with state->message set on error.
template <typename Allocate>
bool png_decode(PngReadState* state, bool keep_rgb, bool keep_16bit, uint64_t max_pixels,
                PngInfo* info, Allocate allocate) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, state, png_on_error, png_on_warning);
  if (!png) {
    std::snprintf(state->message, sizeof state->message, "out of memory");
    return false;
  }
  png_infop pinfo = png_create_info_struct(png);
  png_bytep* volatile rows = nullptr;
  if (!pinfo || setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, pinfo ? &pinfo : nullptr, nullptr);
    delete[] rows;
    if (!state->message[0]) std::snprintf(state->message, sizeof state->message, "corrupt PNG");
    return false;
  }
  png_set_read_fn(png, state, png_read_from_memory);
  // A bad CRC in any chunk, ancillary ones included (libpng only warns of
  // those by default), is a damaged file.
  png_set_crc_action(png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
  png_set_user_limits(png, 1u << 24, 1u << 24);
  // libpng 1.6.39 allocates a metadata chunk's declared length before
  // reading it, past its own chunk_malloc_max: a 200-byte file declaring a
  // 2 GB sCAL chunk asked for 2 GB (found by fuzz_image in CI). None of
  // these chunks changes a pixel, so libpng skips them as unknown chunks
  // (read and dropped in small pieces).
  static const png_byte kMetadataOnly[] = "sCAL\0pCAL\0tEXt\0zTXt\0iTXt\0sPLT\0eXIf\0tIME\0pHYs\0oFFs";
  png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, kMetadataOnly, 10);
  png_read_info(png, pinfo);
  png_uint_32 width = png_get_image_width(png, pinfo);
  png_uint_32 height = png_get_image_height(png, pinfo);
  if (static_cast<uint64_t>(width) * height > max_pixels) png_error(png, "image dimensions exceed the pixel limit");
  int color = png_get_color_type(png, pinfo);
  int depth = png_get_bit_depth(png, pinfo);
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (png_get_valid(png, pinfo, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
  png_set_strip_alpha(png);
  bool is_color = (color & PNG_COLOR_MASK_COLOR) || color == PNG_COLOR_TYPE_PALETTE;
  if (is_color && !keep_rgb) png_set_rgb_to_gray_fixed(png, 1, -1, -1);
  if (depth == 16 && !keep_16bit) png_set_strip_16(png);
  if (depth == 16 && keep_16bit) png_set_swap(png);  // host order on little-endian machines
  png_set_interlace_handling(png);
  png_read_update_info(png, pinfo);
  info->width = width;
  info->height = height;
  info->bit_depth = png_get_bit_depth(png, pinfo);
  info->channels = png_get_channels(png, pinfo);
  size_t row_bytes = png_get_rowbytes(png, pinfo);
  unsigned char* buffer = allocate(*info, row_bytes);
  rows = new png_bytep[height];
  for (png_uint_32 y = 0; y < height; ++y) rows[y] = buffer + y * row_bytes;
  png_read_image(png, rows);
  // Up to IEND: a file cut after its pixel data is still truncated.
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &pinfo, nullptr);
  delete[] rows;
  return true;
}

}  // namespace

Volume decode_png(std::string_view bytes, const std::string& name, uint64_t max_pixels) {
  if (sniff_image_format(bytes) != ImageFormat::Png) throw InputError(name, "not a PNG file (bad signature)");
  PngReadState state{reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), 0, {0}};
  PngInfo info;
  std::vector<unsigned char> buffer;
  bool ok = png_decode(&state, false, true, max_pixels, &info, [&](const PngInfo& i, size_t row_bytes) {
    buffer.resize(row_bytes * i.height);
    return buffer.data();
  });
  if (!ok) throw InputError(name, std::string("corrupt PNG: ") + state.message);
  Volume v;
  v.nx = static_cast<int>(info.width);
  v.ny = static_cast<int>(info.height);
  v.nz = 1;
  v.voxels.resize(static_cast<size_t>(v.nx) * v.ny);
  if (info.bit_depth == 16) {
    const uint16_t* p = reinterpret_cast<const uint16_t*>(buffer.data());
    for (size_t i = 0; i < v.voxels.size(); ++i) v.voxels[i] = p[i];
    v.type_max = 65535.f;
  } else {
    for (size_t i = 0; i < v.voxels.size(); ++i) v.voxels[i] = buffer[i];
    v.type_max = 255.f;
  }
  v.type_min = 0.f;
  return v;
}

Image8 decode_png8(std::string_view bytes, const std::string& name) {
  if (sniff_image_format(bytes) != ImageFormat::Png) throw InputError(name, "not a PNG record (bad signature)");
  PngReadState state{reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), 0, {0}};
  PngInfo info;
  Image8 image;
  bool ok = png_decode(&state, true, false, uint64_t{1} << 28, &info, [&](const PngInfo& i, size_t row_bytes) {
    image = Image8(static_cast<int>(i.width), static_cast<int>(i.height), i.channels);
    (void)row_bytes;
    return image.pixels.data();
  });
  if (!ok) throw InputError(name, std::string("corrupt PNG record: ") + state.message);
  return image;
}

namespace {

struct JpegErrorState {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void jpeg_on_error(j_common_ptr cinfo) {
  auto* state = reinterpret_cast<JpegErrorState*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, state->message);
  std::longjmp(state->jump, 1);
}

// libjpeg only warns of damaged data — a file that ends early gets a fake
// end marker and grey rows — and carries on: those warnings are errors here
// (padding before a marker, "extraneous bytes", is harmless and passes).
void jpeg_on_message(j_common_ptr cinfo, int level) {
  if (level != -1) return;  // trace messages
  switch (cinfo->err->msg_code) {
    case JWRN_JPEG_EOF: case JWRN_HIT_MARKER: case JWRN_MUST_RESYNC: case JWRN_NOT_SEQUENTIAL:
    case JWRN_BOGUS_PROGRESSION: case JWRN_HUFF_BAD_CODE: case JWRN_ARITH_BAD_CODE:
      jpeg_on_error(cinfo);
      break;
    default:
      break;
  }
}

// Returns false with err->message set on error; `allocate` sizes the output.
template <typename Allocate>
bool jpeg_decode(std::string_view bytes, uint64_t max_pixels, JpegErrorState* err, Allocate allocate) {
  jpeg_decompress_struct cinfo;
  cinfo.err = jpeg_std_error(&err->mgr);
  err->mgr.error_exit = jpeg_on_error;
  err->mgr.emit_message = jpeg_on_message;
  if (setjmp(err->jump)) {
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  jpeg_read_header(&cinfo, TRUE);
  if (static_cast<uint64_t>(cinfo.image_width) * cinfo.image_height > max_pixels) {
    std::snprintf(err->message, sizeof err->message, "image dimensions exceed the pixel limit");
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  cinfo.out_color_space = JCS_GRAYSCALE;
  jpeg_start_decompress(&cinfo);
  unsigned char* out = allocate(cinfo.output_width, cinfo.output_height);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = out + static_cast<size_t>(cinfo.output_scanline) * cinfo.output_width;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return true;
}

}  // namespace

Volume decode_jpeg(std::string_view bytes, const std::string& name, uint64_t max_pixels) {
  if (sniff_image_format(bytes) != ImageFormat::Jpeg) throw InputError(name, "not a JPEG file (bad signature)");
  JpegErrorState err;
  err.message[0] = 0;
  std::vector<unsigned char> buffer;
  int width = 0, height = 0;
  bool ok = jpeg_decode(bytes, max_pixels, &err, [&](unsigned w, unsigned h) {
    width = static_cast<int>(w);
    height = static_cast<int>(h);
    buffer.resize(static_cast<size_t>(w) * h);
    return buffer.data();
  });
  if (!ok) throw InputError(name, std::string("corrupt JPEG: ") + err.message);
  Volume v;
  v.nx = width;
  v.ny = height;
  v.nz = 1;
  v.voxels.assign(buffer.begin(), buffer.end());
  v.type_min = 0.f;
  v.type_max = 255.f;
  return v;
}

namespace {

void png_write_to_string(png_structp png, png_bytep data, png_size_t length) {
  auto* out = static_cast<std::string*>(png_get_io_ptr(png));
  out->append(reinterpret_cast<const char*>(data), length);
}

void png_flush_nothing(png_structp) {}

struct PngWriteError {
  char message[256];
};

void png_on_write_error(png_structp png, png_const_charp msg) {
  auto* state = static_cast<PngWriteError*>(png_get_error_ptr(png));
  std::snprintf(state->message, sizeof state->message, "%s", msg);
  png_longjmp(png, 1);
}

bool png_encode(const Image8& image, int level, std::string* out, PngWriteError* err) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, err, png_on_write_error, png_on_warning);
  if (!png) return false;
  png_infop info = png_create_info_struct(png);
  if (!info || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, info ? &info : nullptr);
    return false;
  }
  png_set_write_fn(png, out, png_write_to_string, png_flush_nothing);
  png_set_compression_level(png, level);
  // The Sub filter alone costs a fraction of the adaptive search and loses
  // little on smooth MRI.
  png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_SUB);
  int color = image.channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY;
  png_set_IHDR(png, info, image.width, image.height, 8, color, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  size_t stride = static_cast<size_t>(image.width) * image.channels;
  for (int y = 0; y < image.height; ++y)
    png_write_row(png, const_cast<png_bytep>(image.pixels.data() + y * stride));
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

}  // namespace

std::string encode_png(const Image8& image, int compression_level) {
  std::string out;
  out.reserve(image.pixels.size() / 2 + 128);
  PngWriteError err{{0}};
  if (!png_encode(image, compression_level, &out, &err))
    throw Error("", std::string("PNG encoding failed: ") + err.message);
  return out;
}

}  // namespace sg
