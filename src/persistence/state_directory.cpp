#include "timing_sidecar/state_directory.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string_view>
#include <system_error>

namespace timing_sidecar {

namespace {

constexpr std::string_view kJournalPrefix = "journal-";
constexpr std::string_view kJournalSuffix = ".log";

}  // namespace

StateDirectory::~StateDirectory() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

void StateDirectory::lock() {
  std::error_code error;
  std::filesystem::create_directories(dir_, error);
  if (error) throw std::runtime_error("cannot create " + dir_ + ": " + error.message());
  const std::string path = dir_ + "/lock";
  lock_fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    throw std::runtime_error("--state.dir " + dir_ + " is in use by another process");
  }
}

std::string StateDirectory::journal_path(uint64_t generation) const {
  char name[64];
  std::snprintf(name, sizeof(name), "%s%020llu%s", kJournalPrefix.data(),
                static_cast<unsigned long long>(generation), kJournalSuffix.data());
  return dir_ + "/" + name;
}

std::map<uint64_t, std::string> StateDirectory::journals() const {
  std::map<uint64_t, std::string> journals;
  for (const auto& file : std::filesystem::directory_iterator(dir_)) {
    const std::string name = file.path().filename().string();
    if (name.size() <= kJournalPrefix.size() + kJournalSuffix.size() ||
        name.compare(0, kJournalPrefix.size(), kJournalPrefix) != 0 ||
        name.compare(name.size() - kJournalSuffix.size(), kJournalSuffix.size(), kJournalSuffix) !=
            0) {
      continue;
    }
    const std::string digits = name.substr(
        kJournalPrefix.size(), name.size() - kJournalPrefix.size() - kJournalSuffix.size());
    if (digits.find_first_not_of("0123456789") != std::string::npos) continue;
    journals.emplace(std::stoull(digits), file.path().string());
  }
  return journals;
}

void StateDirectory::remove_journals_before(uint64_t generation) const {
  for (const auto& [journal_generation, path] : journals()) {
    if (journal_generation >= generation) break;
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
  }
}

}  // namespace timing_sidecar
