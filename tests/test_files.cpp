// Files written whole or not at all, folders listed, and folders removed with
// all they hold.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/atomic_file.hpp"
#include "common/errors.hpp"
#include "common/list_files.hpp"
#include "common/remove_tree.hpp"
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

std::vector<std::string> listed(const fs::path& folder, Depth depth) {
  std::vector<std::string> files;
  EXPECT_FALSE(list_files(folder.string(), depth, files));
  return files;
}

TEST(ListFiles, TopLevelOrTheWholeTreeSortedByPath) {
  test::TempDir dir;
  const fs::path root = dir.path() / "grids";
  fs::create_directories(root / "b" / "deeper");
  fs::create_directories(root / "empty");
  touch(root / "z.png");
  touch(root / "a.PNG");
  touch(root / "b" / "c.jpg");
  touch(root / "b" / "deeper" / ".hidden");
  const std::string r = root.string();
  EXPECT_EQ(listed(root, Depth::top_level), (std::vector<std::string>{r + "/a.PNG", r + "/z.png"}));
  EXPECT_EQ(listed(root, Depth::recursive), (std::vector<std::string>{r + "/a.PNG", r + "/b/c.jpg",
                                                                      r + "/b/deeper/.hidden", r + "/z.png"}));
  // A trailing slash does not double up.
  EXPECT_EQ(listed(r + "/", Depth::top_level), (std::vector<std::string>{r + "/a.PNG", r + "/z.png"}));
  // Extensions compare in lower case; files already in the list stay.
  std::vector<std::string> files = {"kept"};
  EXPECT_FALSE(list_files(r, Depth::recursive, files, {".jpg", ".hidden"}));
  EXPECT_EQ(files, (std::vector<std::string>{"kept", r + "/b/c.jpg"}));
  files.clear();
  EXPECT_FALSE(list_files(r, Depth::recursive, files, {".png"}));
  EXPECT_EQ(files, (std::vector<std::string>{r + "/a.PNG", r + "/z.png"}));
}

TEST(ListFiles, LinkedFilesCountLinkedFoldersAreNotEntered) {
  test::TempDir dir;
  const fs::path outside = dir.path() / "outside", root = dir.path() / "images";
  fs::create_directories(outside);
  touch(outside / "elsewhere.png");
  fs::create_directories(root);
  touch(root / "own.png");
  fs::create_symlink(outside / "elsewhere.png", root / "linked.png");
  fs::create_directory_symlink(outside, root / "linked-folder");
  fs::create_directory_symlink(root, root / "loop");
  fs::create_symlink(dir.path() / "nothing-here.png", root / "dangling.png");
  const std::string r = root.string();
  EXPECT_EQ(listed(root, Depth::recursive), (std::vector<std::string>{r + "/linked.png", r + "/own.png"}));
}

TEST(ListFiles, ReportsAMissingOrUnreadableFolderAndSkipsAnUnreadableSubfolder) {
  test::TempDir dir;
  std::vector<std::string> files;
  EXPECT_EQ(list_files((dir.path() / "never-was").string(), Depth::recursive, files),
            std::errc::no_such_file_or_directory);
  touch(dir.path() / "a-file");
  EXPECT_EQ(list_files((dir.path() / "a-file").string(), Depth::top_level, files), std::errc::not_a_directory);
  EXPECT_TRUE(files.empty());
  if (::geteuid() == 0) GTEST_SKIP() << "root reads any folder: the permission cases need a user";
  const fs::path root = dir.path() / "root", locked = root / "locked";
  fs::create_directories(locked);
  touch(locked / "hidden.png");
  touch(root / "seen.png");
  fs::permissions(locked, fs::perms::none);
  const auto skipped = list_files(root.string(), Depth::recursive, files);
  fs::permissions(root, fs::perms::none);
  const auto refused = list_files(root.string(), Depth::recursive, files);
  fs::permissions(root, fs::perms::owner_all);
  fs::permissions(locked, fs::perms::owner_all);
  EXPECT_FALSE(skipped);
  EXPECT_EQ(files, (std::vector<std::string>{(root / "seen.png").string()}));
  EXPECT_EQ(refused, std::errc::permission_denied);
}

TEST(ListFiles, LowercaseExtensionOfTheLastComponent) {
  EXPECT_EQ(lowercase_extension("/runs/samples/000100.PNG"), ".png");
  EXPECT_EQ(lowercase_extension("scan.nii.gz"), ".gz");
  EXPECT_EQ(lowercase_extension("/data.v2/README"), "");
  EXPECT_EQ(lowercase_extension("/data/.hidden"), "");
  EXPECT_EQ(lowercase_extension("plain"), "");
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

TEST(AtomicFile, AFullDiskKeepsTheOldFileAndSaysWhy) {
  test::TempDir dir;
  const std::string path = dir / "000100.ckpt";
  write_file_atomically(path, "the good one");
  // The temporary name leads to /dev/full: every write fails with ENOSPC.
  fs::create_symlink("/dev/full", temporary_path_for(path));
  try {
    write_file_atomically(path, std::string(1 << 20, 'x'), "checkpoint");
    FAIL() << "wrote to a full disk";
  } catch (const OutputError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot write checkpoint (write): No space left on device"), std::string::npos)
        << e.what();
  }
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "the good one");
  EXPECT_FALSE(fs::exists(fs::symlink_status(temporary_path_for(path))));  // the temporary is gone
}

TEST(AtomicFile, TheNextWriteRemovesWhatAKilledWriterLeftAndSparesARunningOne) {
  test::TempDir dir;
  const pid_t gone = ::fork();
  if (gone == 0) ::_exit(0);
  ASSERT_GT(gone, 0);
  ::waitpid(gone, nullptr, 0);
  const std::string abandoned = dir / ("000010.ckpt.tmp-" + std::to_string(gone));
  const std::string running = dir / ("000015.ckpt.tmp-" + std::to_string(::getppid()));
  const std::string lookalike = dir / "notes.tmp-draft";
  for (const std::string& f : {abandoned, running, lookalike}) touch(f);
  write_file_atomically(dir / "000020.ckpt", "whole", "checkpoint");
  EXPECT_FALSE(fs::exists(abandoned));
  EXPECT_TRUE(fs::exists(running));
  EXPECT_TRUE(fs::exists(lookalike));
  EXPECT_TRUE(fs::exists(dir / "000020.ckpt"));
  EXPECT_EQ(temporary_path_for("a/b.ckpt"), "a/b.ckpt.tmp-" + std::to_string(::getpid()));
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
