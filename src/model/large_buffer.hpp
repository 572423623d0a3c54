// Zero-filled memory for the scheduler's big arrays, on transparent huge pages where the kernel
// grants them: random access over hundreds of megabytes of 4 KiB pages adds a TLB miss and a page
// walk to nearly every cache miss (a third slower in our measurements on this VM).
#pragma once

#include <cstddef>
#include <utility>

namespace timing_sidecar {

class LargeBuffer {
 public:
  // Below a huge page: cache-line aligned heap memory. From a huge page up: an anonymous mapping
  // rounded up to and aligned on huge pages, advised to use them.
  static constexpr size_t kHugePageBytes = size_t{2} << 20;
  static constexpr size_t kCacheLineBytes = 64;

  LargeBuffer() = default;
  explicit LargeBuffer(size_t bytes);  // throws std::bad_alloc
  LargeBuffer(LargeBuffer&& other) noexcept { swap(other); }
  LargeBuffer& operator=(LargeBuffer&& other) noexcept {
    LargeBuffer(std::move(other)).swap(*this);
    return *this;
  }
  ~LargeBuffer();

  template <typename T>
  T* as() const {
    return static_cast<T*>(data_);
  }
  size_t bytes() const { return bytes_; }
  bool mapped() const { return mapped_; }

  // Huge pages (true) or none (false) for the pages touched from now on, whatever the system's
  // default; advisory, without it the pages are just smaller.
  void advise_huge_pages(bool huge) const;

 private:
  void swap(LargeBuffer& other) noexcept;

  void* data_ = nullptr;
  size_t bytes_ = 0;
  bool mapped_ = false;
};

}  // namespace timing_sidecar
