#include "timing_sidecar/file_watch.hpp"

#include <sys/stat.h>

#include <algorithm>

namespace timing_sidecar {

namespace {

int64_t nanoseconds(const timespec& time) {
  return static_cast<int64_t>(time.tv_sec) * 1'000'000'000 + time.tv_nsec;
}

std::vector<FileStamp> stamp_all(const std::vector<std::string>& paths) {
  std::vector<FileStamp> stamps;
  stamps.reserve(paths.size());
  for (const std::string& path : paths) stamps.push_back(stamp_file(path));
  return stamps;
}

}  // namespace

bool FileStamp::operator==(const FileStamp& other) const {
  return exists == other.exists && device == other.device && inode == other.inode &&
         size == other.size && modified_ns == other.modified_ns && changed_ns == other.changed_ns;
}

FileStamp stamp_file(const std::string& path) {
  struct stat status {};
  if (stat(path.c_str(), &status) != 0) return FileStamp{};
  return FileStamp{true,
                   status.st_dev,
                   status.st_ino,
                   status.st_size,
                   nanoseconds(status.st_mtim),
                   nanoseconds(status.st_ctim)};
}

void FileWatch::watch(std::vector<std::string> paths) {
  std::vector<FileStamp> stamps;
  stamps.reserve(paths.size());
  for (const std::string& path : paths) {
    // A path watched already keeps the stamp taken before it was read.
    const auto known = std::find(paths_.begin(), paths_.end(), path);
    stamps.push_back(known != paths_.end() ? stamps_[known - paths_.begin()] : stamp_file(path));
  }
  paths_ = std::move(paths);
  stamps_ = std::move(stamps);
}

bool FileWatch::changed() {
  std::vector<FileStamp> now = stamp_all(paths_);
  if (now == stamps_) return false;
  stamps_ = std::move(now);
  return true;
}

}  // namespace timing_sidecar
