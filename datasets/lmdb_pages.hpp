#pragma once
// A check of an LMDB file's B-tree pages, read with pread, before liblmdb
// maps it. liblmdb trusts its pages: a flipped byte in a page header or a
// node offset makes mdb_get read outside the page (a SIGSEGV), and a
// cut-short file makes it touch pages past the end (a SIGBUS). This walks
// the main database and every named database from the newest meta page and
// checks what a read follows: page numbers within the file, each page's own
// number and kind, its key-offset table, every node's extent within its
// page, overflow runs within the file, named databases' records, one depth
// for all leaves, no page reached twice. It reads the tree's branch and
// leaf pages (values on overflow pages are not read), so it costs a small
// fraction of the file. Written for liblmdb 0.9's format on 64-bit
// little-endian machines (what Debian's liblmdb writes, and py-lmdb).
#include <cstdint>
#include <string>

namespace sg {

struct LmdbPageSummary {
  uint64_t page_size = 0;
  uint64_t last_page = 0;     // the newest meta's last page in use
  uint64_t tree_pages = 0;    // branch and leaf pages walked
  uint64_t records = 0;       // leaf records, over every database
};

// InputError(data_file, "corrupt LMDB: ...") naming the page and what is
// wrong, or "truncated: ..." when the file is shorter than its pages.
LmdbPageSummary check_lmdb_pages(const std::string& data_file);

}  // namespace sg
