#include "stages/source.hpp"

#include <sys/stat.h>
#include <zip.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/errors.hpp"

namespace sg {
namespace fs = std::filesystem;

namespace {

bool is_zip_path(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".zip";
}

std::string zip_error_text(int code) {
  zip_error_t error;
  zip_error_init_with_code(&error, code);
  std::string text = zip_error_strerror(&error);
  zip_error_fini(&error);
  return text;
}

InputListing list_directory(const fs::path& root) {
  InputListing listing;
  listing.root = root.string();
  std::error_code ec;
  // Symlinks are not followed: a link may point outside the input tree.
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) throw InputError(root.string(), "cannot list directory: " + ec.message());
    if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
    InputEntry entry;
    entry.path = it->path().string();
    entry.name = fs::relative(it->path(), root, ec).generic_string();
    entry.declared_size = it->file_size(ec);
    listing.entries.push_back(std::move(entry));
  }
  if (ec) throw InputError(root.string(), "cannot list directory: " + ec.message());
  return listing;
}

}  // namespace

std::string unsafe_member_name_reason(const std::string& name) {
  if (name.empty()) return "empty member name";
  if (name.find('\\') != std::string::npos) return "member name contains a backslash";
  if (name.front() == '/') return "absolute member path";
  if (name.size() >= 2 && name[1] == ':') return "member path with a drive letter";
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string::npos) end = name.size();
    if (name.compare(start, end - start, "..") == 0) return "member path escapes the archive ('..')";
    start = end + 1;
  }
  return "";
}

struct ArchiveReader::Impl {
  zip_t* archive = nullptr;
  std::string path;
};

ArchiveReader::ArchiveReader(const std::string& archive_path) : impl_(std::make_unique<Impl>()) {
  impl_->path = archive_path;
  int error = 0;
  impl_->archive = zip_open(archive_path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &error);
  if (!impl_->archive) throw InputError(archive_path, "cannot open zip archive: " + zip_error_text(error));
}

ArchiveReader::~ArchiveReader() {
  if (impl_->archive) zip_discard(impl_->archive);
}

std::string ArchiveReader::read_member(const InputEntry& entry, uint64_t max_bytes) {
  if (entry.declared_size > max_bytes)
    throw InputError(entry.name, "declares " + std::to_string(entry.declared_size) + " bytes, over the limit of " +
                                     std::to_string(max_bytes) + " (zip bomb?)");
  zip_file_t* file = zip_fopen_index(impl_->archive, static_cast<zip_uint64_t>(entry.member_index), 0);
  if (!file) throw InputError(entry.name, std::string("cannot open archive member: ") + zip_strerror(impl_->archive));
  std::string bytes;
  bytes.reserve(static_cast<size_t>(std::min<uint64_t>(entry.declared_size, max_bytes)));
  char chunk[1 << 16];
  for (;;) {
    // Chunked reads: libzip 1.7 mishandles single reads over 4 GiB.
    zip_int64_t n = zip_fread(file, chunk, sizeof chunk);
    if (n < 0) {
      std::string reason = zip_error_strerror(zip_file_get_error(file));
      zip_fclose(file);
      throw InputError(entry.name, "corrupt archive member: " + reason);
    }
    if (n == 0) break;  // one read past the end, so that a CRC mismatch surfaces
    bytes.append(chunk, static_cast<size_t>(n));
    if (bytes.size() > max_bytes) {
      zip_fclose(file);
      throw InputError(entry.name, "inflates past the limit of " + std::to_string(max_bytes) + " bytes (zip bomb?)");
    }
  }
  int close_error = zip_fclose(file);
  if (close_error != 0) throw InputError(entry.name, "corrupt archive member: " + zip_error_text(close_error));
  if (bytes.size() != entry.declared_size)
    throw InputError(entry.name, "holds " + std::to_string(bytes.size()) + " bytes but declares " +
                                     std::to_string(entry.declared_size));
  return bytes;
}

namespace {

InputListing list_archive(const fs::path& path) {
  InputListing listing;
  listing.root = path.string();
  listing.is_archive = true;
  int error = 0;
  zip_t* archive = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &error);
  if (!archive) throw InputError(path.string(), "cannot open zip archive: " + zip_error_text(error));
  zip_int64_t count = zip_get_num_entries(archive, 0);
  for (zip_int64_t i = 0; i < count; ++i) {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(archive, static_cast<zip_uint64_t>(i), 0, &st) != 0 || !(st.valid & ZIP_STAT_NAME)) continue;
    InputEntry entry;
    entry.name = st.name;
    entry.member_index = i;
    entry.declared_size = (st.valid & ZIP_STAT_SIZE) ? st.size : 0;
    if (!entry.name.empty() && entry.name.back() == '/') continue;  // a folder entry
    entry.refusal = unsafe_member_name_reason(entry.name);
    zip_uint8_t opsys = 0;
    zip_uint32_t attributes = 0;
    if (entry.refusal.empty() &&
        zip_file_get_external_attributes(archive, static_cast<zip_uint64_t>(i), 0, &opsys, &attributes) == 0 &&
        opsys == ZIP_OPSYS_UNIX && ((attributes >> 16) & S_IFMT) == S_IFLNK)
      entry.refusal = "member is a symbolic link";
    if (entry.refusal.empty() && (st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE)
      entry.refusal = "member is encrypted";
    listing.entries.push_back(std::move(entry));
  }
  zip_discard(archive);
  return listing;
}

}  // namespace

InputListing list_inputs(const std::string& path) {
  std::error_code ec;
  fs::path p(path);
  if (!fs::exists(p, ec)) throw InputError(path, "no such file or directory");
  InputListing listing;
  if (fs::is_directory(p, ec)) {
    listing = list_directory(p);
  } else if (is_zip_path(p)) {
    listing = list_archive(p);
  } else {
    listing.root = p.parent_path().string();
    InputEntry entry;
    entry.path = p.string();
    entry.name = p.filename().string();
    entry.declared_size = fs::file_size(p, ec);
    listing.entries.push_back(std::move(entry));
  }
  std::sort(listing.entries.begin(), listing.entries.end(),
            [](const InputEntry& a, const InputEntry& b) { return a.name < b.name; });
  return listing;
}

std::string read_file_bytes(const std::string& path, const std::string& name, uint64_t max_bytes) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw InputError(name, "cannot open file");
  auto size = static_cast<uint64_t>(in.tellg());
  if (size > max_bytes)
    throw InputError(name, std::to_string(size) + " bytes, over the limit of " + std::to_string(max_bytes));
  std::string bytes(static_cast<size_t>(size), '\0');
  in.seekg(0);
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  if (!in) throw InputError(name, "read failed");
  return bytes;
}

}  // namespace sg
