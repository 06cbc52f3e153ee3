#include "datasets/lmdb_pages.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <unordered_set>
#include <vector>

#include "common/errors.hpp"

namespace sg {

namespace {

static_assert(sizeof(void*) == 8, "the page check reads liblmdb's 64-bit layout");

// liblmdb 0.9 (mdb.c): page header, node header, meta page.
constexpr size_t kPageHeader = 16;  // pgno(8) pad(2) flags(2) lower(2) upper(2)
constexpr size_t kNodeHeader = 8;   // lo(2) hi(2) flags(2) ksize(2)
constexpr uint16_t kBranch = 0x01, kLeaf = 0x02, kMeta = 0x08, kLeaf2 = 0x20, kSubPage = 0x40;
constexpr uint16_t kBigData = 0x01, kSubData = 0x02, kDupData = 0x04;
constexpr uint32_t kMagic = 0xBEEFC0DE;
constexpr uint32_t kDataVersion = 1;
constexpr uint64_t kNoPage = ~uint64_t{0};
constexpr size_t kDbRecord = 48;  // MDB_db
constexpr size_t kMetaDbs = kPageHeader + 24, kMetaLastPage = kMetaDbs + 2 * kDbRecord, kMetaTxnId = kMetaLastPage + 8;
constexpr int kMaxDepth = 32;

template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

struct Database {
  uint16_t depth = 0;
  uint64_t root = kNoPage;
};

// A named database's key as a message shows it: a damaged one may hold anything.
std::string shown_name(const uint8_t* key, size_t size) {
  std::string name;
  for (size_t i = 0; i < size && i < 64; ++i) name += (key[i] >= 0x20 && key[i] < 0x7f) ? static_cast<char>(key[i]) : '?';
  return size > 64 ? name + "..." : name;
}

Database database_at(const uint8_t* record) {
  return {load<uint16_t>(record + 6), load<uint64_t>(record + 40)};
}

class PageWalker {
 public:
  PageWalker(int fd, std::string path, uint64_t page_size, uint64_t last_page)
      : fd_(fd), path_(std::move(path)), page_size_(page_size), last_page_(last_page), page_(page_size) {}

  void walk(const Database& db, bool main, const std::string& name) {
    if (db.root == kNoPage) return;
    if (db.depth < 1 || db.depth > kMaxDepth) fail(db.root, name + ": depth " + std::to_string(db.depth));
    walk_page(db.root, 1, db.depth, main, name);
  }

  uint64_t pages() const { return visited_.size(); }
  uint64_t records() const { return records_; }

 private:
  [[noreturn]] void fail(uint64_t page, const std::string& what) const {
    throw InputError(path_, "corrupt LMDB: page " + std::to_string(page) + ": " + what);
  }

  void read(uint64_t page) {
    if (page < 2 || page > last_page_) fail(page, "outside the file's pages 2.." + std::to_string(last_page_));
    if (!visited_.insert(page).second) fail(page, "reached twice");
    size_t done = 0;
    while (done < page_size_) {
      const ssize_t n = ::pread(fd_, page_.data() + done, page_size_ - done, static_cast<off_t>(page * page_size_ + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) fail(page, n == 0 ? "past the end of the file" : std::string("cannot read: ") + std::strerror(errno));
      done += static_cast<size_t>(n);
    }
  }

  void walk_page(uint64_t page, int level, int depth, bool main, const std::string& name) {
    read(page);
    const uint8_t* p = page_.data();
    if (load<uint64_t>(p) != page) fail(page, "holds the number " + std::to_string(load<uint64_t>(p)));
    const uint16_t flags = load<uint16_t>(p + 10);
    const bool leaf = (flags & kLeaf) != 0;
    if ((flags & (kBranch | kLeaf)) == (kBranch | kLeaf) || (flags & (kBranch | kLeaf)) == 0 ||
        (flags & (kLeaf2 | kSubPage | kMeta)) != 0)
      fail(page, "not a branch or leaf page (flags " + std::to_string(flags) + ")");
    if (leaf != (level == depth)) fail(page, name + ": a " + (leaf ? "leaf" : "branch") + " at level " +
                                                 std::to_string(level) + " of " + std::to_string(depth));
    const uint16_t lower = load<uint16_t>(p + 12), upper = load<uint16_t>(p + 14);
    if (lower < kPageHeader || lower > upper || upper > page_size_ || (lower - kPageHeader) % 2 != 0)
      fail(page, "free-space bounds " + std::to_string(lower) + ".." + std::to_string(upper));
    const size_t keys = (lower - kPageHeader) / 2;
    if (keys == 0) fail(page, "no keys");
    // Children are walked after this page's checks, from a copy: the walk
    // reuses the page buffer.
    std::vector<uint64_t> children;
    std::vector<std::pair<Database, std::string>> databases;  // with their shown names
    for (size_t i = 0; i < keys; ++i) {
      auto fail_node = [&](const std::string& what) { fail(page, "node " + std::to_string(i) + what); };
      const uint16_t offset = load<uint16_t>(p + kPageHeader + 2 * i);
      if (offset < upper || offset + kNodeHeader > page_size_) fail_node(" at " + std::to_string(offset));
      const uint8_t* node = p + offset;
      const uint16_t lo = load<uint16_t>(node), hi = load<uint16_t>(node + 2), node_flags = load<uint16_t>(node + 4);
      const size_t key_size = load<uint16_t>(node + 6);
      const size_t key_end = offset + kNodeHeader + key_size;
      if (key_end > page_size_) fail_node("'s key runs past the page");
      if (!leaf) {
        children.push_back(uint64_t{lo} | (uint64_t{hi} << 16) | (uint64_t{node_flags} << 32));
        continue;
      }
      ++records_;
      const uint64_t data_size = uint64_t{lo} | (uint64_t{hi} << 16);
      if (node_flags & kDupData) fail_node(": a duplicate-sorted record");
      if (node_flags & ~(kBigData | kSubData)) fail_node(" has flags " + std::to_string(node_flags));
      if (node_flags & kBigData) {
        if (key_end + 8 > page_size_) fail_node("'s overflow page number runs past the page");
        const uint64_t first = load<uint64_t>(node + kNodeHeader + key_size);
        const uint64_t run = (kPageHeader + data_size + page_size_ - 1) / page_size_;
        if (first < 2 || first > last_page_ || run > last_page_ + 1 - first)
          fail_node("'s " + std::to_string(data_size) + "-byte value on pages " + std::to_string(first) + "+" +
                    std::to_string(run) + ", past the file's " + std::to_string(last_page_));
        continue;
      }
      if (key_end + data_size > page_size_) fail_node("'s value runs past the page");
      if (node_flags & kSubData) {
        if (!main || data_size != kDbRecord) fail_node(": a misplaced named database");
        databases.emplace_back(database_at(node + kNodeHeader + key_size), shown_name(node + kNodeHeader, key_size));
      }
    }
    for (uint64_t child : children) walk_page(child, level + 1, depth, main, name);
    for (const auto& [db, db_name] : databases) walk(db, false, "database '" + db_name + "'");
  }

  int fd_;
  std::string path_;
  uint64_t page_size_, last_page_;
  std::vector<uint8_t> page_;
  std::unordered_set<uint64_t> visited_;
  uint64_t records_ = 0;
};

}  // namespace

LmdbPageSummary check_lmdb_pages(const std::string& data_file) {
  const int fd = ::open(data_file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw InputError(data_file, std::string("cannot open: ") + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) throw InputError(data_file, std::string("cannot size it: ") + std::strerror(errno));
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);

  // The meta pages: page 0 at offset 0 gives the page size (kept in the
  // free database's md_pad); liblmdb reads the newer of pages 0 and 1.
  uint8_t head[kMetaTxnId + 8];
  auto read_meta = [&](uint64_t offset, uint8_t* out) {
    return ::pread(fd, out, sizeof head, static_cast<off_t>(offset)) == static_cast<ssize_t>(sizeof head);
  };
  if (!read_meta(0, head) || load<uint32_t>(head + kPageHeader) != kMagic)
    throw InputError(data_file, "not an LMDB file (no meta page)");
  if (load<uint32_t>(head + kPageHeader + 4) != kDataVersion)
    throw InputError(data_file, "an LMDB of data format " + std::to_string(load<uint32_t>(head + kPageHeader + 4)) +
                                    ", not liblmdb 0.9's " + std::to_string(kDataVersion));
  const uint64_t page_size = load<uint32_t>(head + kMetaDbs);
  if (page_size < 512 || page_size > 65536 || (page_size & (page_size - 1)) != 0)
    throw InputError(data_file, "corrupt LMDB: page size " + std::to_string(page_size));
  uint8_t other[sizeof head];
  const uint8_t* meta = head;
  if (read_meta(page_size, other) && load<uint32_t>(other + kPageHeader) == kMagic &&
      load<uint64_t>(other + kMetaTxnId) > load<uint64_t>(head + kMetaTxnId))
    meta = other;
  // liblmdb writes transaction t's meta to page t & 1, and a reader with a
  // lock file takes the meta at that page of the newest id: a damaged id
  // would send it to the other page, unchecked.
  const uint64_t meta_page = meta == head ? 0 : 1;
  if ((load<uint64_t>(meta + kMetaTxnId) & 1) != meta_page)
    throw InputError(data_file, "corrupt LMDB: meta page " + std::to_string(meta_page) + " holds transaction " +
                                    std::to_string(load<uint64_t>(meta + kMetaTxnId)));

  const uint64_t last_page = load<uint64_t>(meta + kMetaLastPage);
  if (last_page < 1 || last_page > file_size)  // also keeps (last_page + 1) * page_size from overflowing
    throw InputError(data_file, "corrupt LMDB: last page " + std::to_string(last_page));
  const uint64_t need = (last_page + 1) * page_size;
  if (file_size < need)
    throw InputError(data_file, "truncated: " + std::to_string(file_size) + " bytes where its pages need " +
                                    std::to_string(need) + " (an incomplete copy?)");

  PageWalker walker(fd, data_file, page_size, last_page);
  walker.walk(database_at(meta + kMetaDbs + kDbRecord), true, "main database");
  return {page_size, last_page, walker.pages(), walker.records()};
}

}  // namespace sg
