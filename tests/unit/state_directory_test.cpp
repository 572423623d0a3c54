#include "timing_sidecar/state_directory.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "integration/process.hpp"

using namespace timing_sidecar;
using test_support::TempDir;

namespace {

void touch(const std::string& path) {
  std::ofstream(path) << "x";
}

}  // namespace

TEST_CASE("state directory: journals are found by generation, other files ignored",
          "[durability]") {
  TempDir dir("state-directory-test");
  StateDirectory state(dir.path());
  touch(state.journal_path(12));
  touch(state.journal_path(3));
  touch(state.snapshot_path());
  touch(dir.file("journal-.log"));
  touch(dir.file("journal-7x.log"));
  touch(dir.file("journal-00000000000000000009.log.bak"));

  const std::map<uint64_t, std::string> journals = state.journals();
  REQUIRE(journals.size() == 2);
  CHECK(journals.begin()->first == 3);
  CHECK(journals.begin()->second == state.journal_path(3));
  CHECK(journals.rbegin()->first == 12);
  // Zero-padded, so that a listing sorts them in generation order too.
  CHECK(state.journal_path(3) == dir.file("journal-00000000000000000003.log"));

  state.remove_journals_before(12);
  CHECK_FALSE(std::filesystem::exists(state.journal_path(3)));
  CHECK(std::filesystem::exists(state.journal_path(12)));
  CHECK(std::filesystem::exists(state.snapshot_path()));
}

TEST_CASE("state directory: the lock is created with the directory and held until destruction",
          "[durability]") {
  TempDir dir("state-directory-test");
  const std::string path = dir.file("nested/state");
  {
    StateDirectory first(path);
    first.lock();
    CHECK(std::filesystem::is_directory(path));
    StateDirectory second(path);
    CHECK_THROWS_WITH(second.lock(), Catch::Contains("in use by another process"));
  }
  StateDirectory after(path);
  CHECK_NOTHROW(after.lock());
}
