#include "large_buffer.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <utility>

using namespace timing_sidecar;

namespace {

bool all_zero(const LargeBuffer& buffer) {
  const auto* bytes = buffer.as<const uint8_t>();
  for (size_t i = 0; i < buffer.bytes(); ++i) {
    if (bytes[i] != 0) return false;
  }
  return true;
}

uintptr_t address(const LargeBuffer& buffer) {
  return reinterpret_cast<uintptr_t>(buffer.as<void>());
}

}  // namespace

TEST_CASE("large buffer: below a huge page, zeroed heap memory on a cache line") {
  const LargeBuffer buffer(100);
  CHECK(buffer.bytes() == 128);
  CHECK_FALSE(buffer.mapped());
  CHECK(address(buffer) % LargeBuffer::kCacheLineBytes == 0);
  CHECK(all_zero(buffer));
  buffer.advise_huge_pages(true);  // no mapping: nothing to advise, and no harm
}

TEST_CASE("large buffer: from a huge page up, zeroed whole huge pages on a huge-page boundary") {
  const LargeBuffer buffer(LargeBuffer::kHugePageBytes + 1);
  CHECK(buffer.bytes() == 2 * LargeBuffer::kHugePageBytes);
  CHECK(buffer.mapped());
  CHECK(address(buffer) % LargeBuffer::kHugePageBytes == 0);
  CHECK(all_zero(buffer));
  buffer.advise_huge_pages(false);
  buffer.as<uint8_t>()[buffer.bytes() - 1] = 7;  // the last byte is ours to write
  CHECK(buffer.as<uint8_t>()[buffer.bytes() - 1] == 7);
}

TEST_CASE("large buffer: moving hands the memory over and leaves the source empty") {
  LargeBuffer source(LargeBuffer::kHugePageBytes);
  source.as<uint32_t>()[0] = 42;
  void* const memory = source.as<void>();
  LargeBuffer moved(std::move(source));
  CHECK(moved.as<void>() == memory);
  CHECK(moved.as<uint32_t>()[0] == 42);
  CHECK(moved.mapped());
  CHECK(source.as<void>() == nullptr);  // NOLINT(bugprone-use-after-move): moved-from state
  CHECK(source.bytes() == 0);

  LargeBuffer assigned(64);
  assigned = std::move(moved);
  CHECK(assigned.as<void>() == memory);
  CHECK(assigned.bytes() == LargeBuffer::kHugePageBytes);
}
