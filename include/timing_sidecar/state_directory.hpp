#pragma once

// The files of --state.dir (durability.hpp describes what each holds) and the lock that keeps a
// second sidecar out of it.

#include <cstdint>
#include <map>
#include <string>

namespace timing_sidecar {

class StateDirectory {
 public:
  explicit StateDirectory(std::string dir) : dir_(std::move(dir)) {}
  ~StateDirectory();
  StateDirectory(const StateDirectory&) = delete;
  StateDirectory& operator=(const StateDirectory&) = delete;

  // Creates the directory if needed and locks it for this process's life. Throws
  // std::runtime_error when it cannot, or when another process holds it.
  void lock();

  const std::string& path() const { return dir_; }
  std::string journal_path(uint64_t generation) const;
  std::string snapshot_path() const { return dir_ + "/snapshot"; }
  std::string snapshot_temp_path() const { return dir_ + "/snapshot.tmp"; }

  // Journal files by generation.
  std::map<uint64_t, std::string> journals() const;
  // A journal that cannot be removed is left over: it is skipped and removed again next time.
  void remove_journals_before(uint64_t generation) const;

 private:
  const std::string dir_;
  int lock_fd_ = -1;
};

}  // namespace timing_sidecar
