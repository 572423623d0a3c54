#pragma once

// Tells when files were replaced or rewritten, by what stat(2) says of them: device, inode, size,
// and modification and change times. A rename into place (cert-manager, Kubernetes' secret
// volumes, RocketMQ) changes the inode; an editor or a copy rewriting in place changes the size
// or the times. Nothing is read, so a look costs a stat per file.

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace timing_sidecar {

struct FileStamp {
  bool exists = false;  // false: missing or unreadable; its other fields are then 0
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  int64_t modified_ns = 0;
  int64_t changed_ns = 0;

  bool operator==(const FileStamp& other) const;
  bool operator!=(const FileStamp& other) const { return !(*this == other); }
};

// Follows symbolic links, as reading the file would.
FileStamp stamp_file(const std::string& path);

class FileWatch {
 public:
  // Watches `paths` from how they are now (a path watched already: from how it was at the last
  // look), so that changed() is false until one of them changes.
  void watch(std::vector<std::string> paths);

  // True when one of the files was created, removed, replaced or rewritten since watch() or the
  // last changed() that said so. It looks before the caller reads, so that a write after the
  // look is seen by the next one rather than lost.
  bool changed();

  const std::vector<std::string>& paths() const { return paths_; }

 private:
  std::vector<std::string> paths_;
  std::vector<FileStamp> stamps_;
};

}  // namespace timing_sidecar
