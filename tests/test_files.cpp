// Files written whole or not at all, and folders removed with all they hold.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "pipeline/atomic_file.hpp"
#include "pipeline/errors.hpp"
#include "pipeline/remove_tree.hpp"
#include "test_util.hpp"

namespace sg {
namespace {

namespace fs = std::filesystem;

void touch(const fs::path& path, const std::string& text = "x") { std::ofstream(path) << text; }

TEST(RemoveTree, RemovesNestedFoldersAndFiles) {
  test::TempDir dir;
  const fs::path root = dir.path() / "run";
  fs::create_directories(root / "checkpoints" / "deep" / "deeper");
  touch(root / "log.csv");
  touch(root / "checkpoints" / "000010.ckpt");
  touch(root / "checkpoints" / "deep" / "deeper" / ".hidden");
  EXPECT_FALSE(remove_tree(root.string()));
  EXPECT_FALSE(fs::exists(root));
  EXPECT_TRUE(fs::exists(dir.path()));
}

TEST(RemoveTree, RemovesLinksButNotWhatTheyPointTo) {
  test::TempDir dir;
  const fs::path kept = dir.path() / "kept", root = dir.path() / "scratch";
  fs::create_directories(kept);
  touch(kept / "data.lmdb");
  fs::create_directories(root);
  fs::create_directory_symlink(kept, root / "link");
  EXPECT_FALSE(remove_tree(root.string()));
  EXPECT_FALSE(fs::exists(root));
  EXPECT_TRUE(fs::exists(kept / "data.lmdb"));
}

TEST(RemoveTree, APlainFileOrAMissingPathIsFine) {
  test::TempDir dir;
  touch(dir.path() / "one.png");
  EXPECT_FALSE(remove_tree((dir.path() / "one.png").string()));
  EXPECT_FALSE(fs::exists(dir.path() / "one.png"));
  EXPECT_FALSE(remove_tree((dir.path() / "never-was").string()));
}

TEST(RemoveTree, ReportsWhatItCouldNotRemove) {
  test::TempDir dir;
  touch(dir.path() / "a-file");
  EXPECT_EQ(remove_tree((dir.path() / "a-file" / "child").string()), std::errc::not_a_directory);
  if (::geteuid() == 0) GTEST_SKIP() << "root may delete from a read-only folder: the permission case needs a user";
  const fs::path locked = dir.path() / "locked";
  fs::create_directories(locked);
  touch(locked / "inside");
  fs::permissions(locked, fs::perms::owner_read | fs::perms::owner_exec);
  const auto error = remove_tree(locked.string());
  fs::permissions(locked, fs::perms::owner_all);
  EXPECT_TRUE(error);
  EXPECT_TRUE(fs::exists(locked / "inside"));
}

TEST(AtomicFile, ReplacesTheWholeFileOrReportsTheFailure) {
  test::TempDir dir;
  const std::string path = dir / "grid.png";
  write_file_atomically(path, "first");
  write_file_atomically(path, "second, longer");
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "second, longer");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);  // no temporary left
  touch(dir.path() / "a-file");
  EXPECT_THROW(write_file_atomically((dir.path() / "a-file" / "grid.png").string(), "x", "sample grid"), OutputError);
}

TEST(AtomicFile, OutputFolderCreatedOrAClearError) {
  test::TempDir dir;
  create_output_folder(dir / "run/checkpoints");
  EXPECT_TRUE(fs::is_directory(dir.path() / "run" / "checkpoints"));
  create_output_folder(dir / "run/checkpoints");  // already there
  touch(dir.path() / "a-file");
  try {
    create_output_folder(dir / "a-file/grids");
    FAIL() << "no error";
  } catch (const OutputError& e) {
    EXPECT_EQ(e.file(), dir / "a-file/grids");
    EXPECT_EQ(e.reason(), "cannot create the folder: Not a directory");
  }
}

}  // namespace
}  // namespace sg
