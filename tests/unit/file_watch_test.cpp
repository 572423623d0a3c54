#include "timing_sidecar/file_watch.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

using namespace timing_sidecar;

namespace {

// One folder per process: CTest runs the test cases in parallel, each a process of its own.
struct TempDir {
  TempDir()
      : path(std::filesystem::temp_directory_path() /
             ("timing_sidecar_file_watch_" + std::to_string(getpid()))) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
  std::filesystem::path path;
};

void write(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::trunc) << content;
}

}  // namespace

TEST_CASE("file watch: quiet until a file is rewritten, replaced, removed or created",
          "[file_watch]") {
  TempDir dir;
  const std::string a = dir.file("a");
  const std::string b = dir.file("b");
  write(a, "one");
  FileWatch watch;
  watch.watch({a, b});  // b does not exist yet
  CHECK_FALSE(watch.changed());

  write(a, "two!");  // rewritten in place: same inode, another size
  CHECK(watch.changed());
  CHECK_FALSE(watch.changed());  // said once

  write(dir.file("a.new"), "two!");  // same size, renamed into place: another inode
  std::filesystem::rename(dir.file("a.new"), a);
  CHECK(watch.changed());
  CHECK_FALSE(watch.changed());

  write(b, "created");
  CHECK(watch.changed());
  std::filesystem::remove(b);
  CHECK(watch.changed());
  CHECK_FALSE(watch.changed());
}

TEST_CASE("file watch: a path watched again keeps the stamp of the last look", "[file_watch]") {
  TempDir dir;
  const std::string config = dir.file("config");
  const std::string named = dir.file("named");
  write(config, "v1");
  write(named, "x");
  FileWatch watch;
  watch.watch({config});
  write(config, "v2 longer");  // written between the look and the next watch()
  watch.watch({config, named});
  CHECK(watch.changed());  // not lost
  CHECK(watch.paths() == std::vector<std::string>{config, named});
}

TEST_CASE("file watch: stamps tell files apart and follow symbolic links", "[file_watch]") {
  TempDir dir;
  write(dir.file("target"), "data");
  std::filesystem::create_symlink(dir.file("target"), dir.file("link"));
  CHECK(stamp_file(dir.file("link")) == stamp_file(dir.file("target")));
  CHECK(stamp_file(dir.file("link")).exists);
  CHECK_FALSE(stamp_file(dir.file("missing")).exists);
  write(dir.file("other"), "data");
  CHECK(stamp_file(dir.file("other")) != stamp_file(dir.file("target")));
}
