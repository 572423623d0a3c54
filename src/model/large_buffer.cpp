#include "large_buffer.hpp"

#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace timing_sidecar {

namespace {

size_t round_up(size_t value, size_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

}  // namespace

LargeBuffer::LargeBuffer(size_t bytes) {
  if (bytes < kHugePageBytes) {
    bytes_ = round_up(bytes, kCacheLineBytes);
    data_ = std::aligned_alloc(kCacheLineBytes, bytes_);
    if (data_ == nullptr) throw std::bad_alloc();
    std::memset(data_, 0, bytes_);
    return;
  }
  // Over-map by one huge page so that the kept part can start on a huge-page boundary.
  const size_t length = round_up(bytes, kHugePageBytes);
  const size_t mapped = length + kHugePageBytes;
  void* region = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (region == MAP_FAILED) throw std::bad_alloc();
  const uintptr_t start = reinterpret_cast<uintptr_t>(region);
  const uintptr_t aligned = round_up(start, kHugePageBytes);
  if (aligned > start) munmap(region, aligned - start);
  munmap(reinterpret_cast<void*>(aligned + length), start + mapped - (aligned + length));
  data_ = reinterpret_cast<void*>(aligned);
  bytes_ = length;
  mapped_ = true;
  madvise(data_, length, MADV_HUGEPAGE);  // advisory: without it the pages are just smaller
}

LargeBuffer::~LargeBuffer() {
  if (mapped_) {
    munmap(data_, bytes_);
  } else {
    std::free(data_);
  }
}

void LargeBuffer::advise_huge_pages(bool huge) const {
  if (mapped_) madvise(data_, bytes_, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
}

void LargeBuffer::swap(LargeBuffer& other) noexcept {
  std::swap(data_, other.data_);
  std::swap(bytes_, other.bytes_);
  std::swap(mapped_, other.mapped_);
}

}  // namespace timing_sidecar
