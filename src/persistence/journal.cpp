#include "timing_sidecar/journal.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace timing_sidecar {

namespace {

// Both are stored as a byte, their value; events.hpp's lists say which values exist.
static_assert(kEventTypes.size() <= 256 && kEventSources.size() <= 256);

std::string system_error(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

void encode_feed_position_fields(const FeedPosition& position, PayloadWriter& writer) {
  writer.i64(position.revision);
  writer.i64(position.revision_offset);
}

FeedPosition decode_feed_position_fields(PayloadReader& reader) {
  FeedPosition position;
  position.revision = reader.i64();
  position.revision_offset = reader.i64();
  return position;
}

std::optional<EventsInput> decode_events(PayloadReader& reader) {
  EventsInput input;
  const uint8_t source = reader.u8();
  if (size_t{source} >= kEventSources.size()) return std::nullopt;
  input.source = static_cast<EventSource>(source);
  input.applied_at_ms = reader.i64();
  const uint8_t has_feed_position = reader.u8();
  if (has_feed_position > 1) return std::nullopt;
  if (has_feed_position == 1) input.feed_position = decode_feed_position_fields(reader);
  // Never reserve by a count read from the file: reading stops at the end of the payload.
  for (uint32_t count = reader.u32(); count > 0 && reader.ok(); --count) {
    Event& event = input.events.emplace_back();
    const uint8_t type = reader.u8();
    if (size_t{type} >= kEventTypes.size()) return std::nullopt;
    event.type = static_cast<EventType>(type);
    event.topic = reader.text();
    event.id = reader.text();
    event.deliver_at_ms = reader.i64();
    event.revision = reader.optional_i64();
    event.message_type = reader.text();
  }
  if (!reader.at_end()) return std::nullopt;
  return input;
}

std::optional<ListInput> decode_list(PayloadReader& reader) {
  ListInput input;
  input.applied_at_ms = reader.i64();
  input.list.stamp.revision = reader.optional_i64();
  input.list.stamp.requested_at_ms = reader.i64();
  const uint8_t adopted_counts = reader.u8();
  if (adopted_counts > 1) return std::nullopt;
  input.adopted_counts = adopted_counts == 1;
  for (uint32_t count = reader.u32(); count > 0 && reader.ok(); --count) {
    ListedTopic& topic = input.list.topics.emplace_back();
    topic.name = reader.text();
    topic.timing = reader.optional_i64();
  }
  for (uint32_t count = reader.u32(); count > 0 && reader.ok(); --count) {
    input.condemned.emplace_back(reader.text());
  }
  if (!reader.at_end()) return std::nullopt;
  return input;
}

}  // namespace

void encode_events(EventSource source, int64_t applied_at_ms,
                   const std::optional<FeedPosition>& feed_position,
                   const std::vector<Event>& events, std::string& payload) {
  PayloadWriter writer(payload);
  writer.u8(static_cast<uint8_t>(source));
  writer.i64(applied_at_ms);
  writer.u8(feed_position ? 1 : 0);
  if (feed_position) encode_feed_position_fields(*feed_position, writer);
  writer.u32(static_cast<uint32_t>(events.size()));
  for (const Event& event : events) {
    writer.u8(static_cast<uint8_t>(event.type));
    writer.text(event.topic);
    writer.text(event.id);
    writer.i64(event.deliver_at_ms);
    writer.optional_i64(event.revision);
    writer.text(event.message_type);
  }
}

void encode_list(int64_t applied_at_ms, const TopicList& list,
                 const std::vector<std::string>& condemned, bool adopted_counts,
                 std::string& payload) {
  PayloadWriter writer(payload);
  writer.i64(applied_at_ms);
  writer.optional_i64(list.stamp.revision);
  writer.i64(list.stamp.requested_at_ms);
  writer.u8(adopted_counts ? 1 : 0);
  writer.u32(static_cast<uint32_t>(list.topics.size()));
  for (const ListedTopic& topic : list.topics) {
    writer.text(topic.name);
    writer.optional_i64(topic.timing);
  }
  writer.u32(static_cast<uint32_t>(condemned.size()));
  for (const std::string& name : condemned) writer.text(name);
}

void encode_feed_position(const FeedPosition& position, std::string& payload) {
  PayloadWriter writer(payload);
  encode_feed_position_fields(position, writer);
}

std::optional<JournalInput> decode_input(RecordType type, std::string_view payload) {
  PayloadReader reader(payload);
  switch (type) {
    case RecordType::kEvents:
      if (auto input = decode_events(reader)) return JournalInput(std::move(*input));
      return std::nullopt;
    case RecordType::kList:
      if (auto input = decode_list(reader)) return JournalInput(std::move(*input));
      return std::nullopt;
    case RecordType::kFeedPosition: {
      const FeedPosition position = decode_feed_position_fields(reader);
      if (!reader.at_end()) return std::nullopt;
      return JournalInput(position);
    }
    default:
      return std::nullopt;
  }
}

RecordWriter::RecordWriter(const std::string& path, FileKind kind, uint64_t generation)
    : path_(path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ < 0) throw JournalError(system_error("cannot create", path));
  const std::string header = file_header(kind, generation);
  const iovec part{const_cast<char*>(header.data()), header.size()};
  try {
    write_fully(&part, 1, 0);
  } catch (const JournalError&) {
    ::close(fd_);
    ::unlink(path.c_str());
    throw;
  }
  size_ = header.size();
}

RecordWriter::~RecordWriter() {
  ::close(fd_);
}

void RecordWriter::write_fully(const iovec* parts, int count, uint64_t offset) {
  std::vector<iovec> rest(parts, parts + count);
  size_t first = 0;
  while (first < rest.size()) {
    const ssize_t written = ::pwritev(fd_, &rest[first], static_cast<int>(rest.size() - first),
                                      static_cast<off_t>(offset));
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) {
      if (written == 0) errno = EIO;
      throw JournalError(system_error("cannot write", path_));
    }
    offset += static_cast<uint64_t>(written);
    for (size_t left = static_cast<size_t>(written); left > 0;) {
      const size_t taken = std::min(left, rest[first].iov_len);
      rest[first].iov_base = static_cast<char*>(rest[first].iov_base) + taken;
      rest[first].iov_len -= taken;
      left -= taken;
      if (rest[first].iov_len == 0) ++first;
    }
  }
}

void RecordWriter::append(RecordType type, std::string_view payload) {
  if (broken_) throw JournalError("cannot write " + path_ + ": an earlier write failed");
  char header[kRecordHeaderBytes];
  record_header(type, payload, header);
  const iovec parts[] = {{header, sizeof(header)},
                         {const_cast<char*>(payload.data()), payload.size()}};
  try {
    write_fully(parts, 2, size_);
  } catch (const JournalError&) {
    // A partial record must not stay: records appended after it would be unreachable.
    if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0) broken_ = true;
    throw;
  }
  size_ += sizeof(header) + payload.size();
}

void RecordWriter::sync() {
  if (::fdatasync(fd_) != 0) throw JournalError(system_error("cannot sync", path_));
}

void sync_directory(const std::string& directory) {
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw JournalError(system_error("cannot open", directory));
  const int result = ::fsync(fd);
  const int saved_errno = errno;
  ::close(fd);
  errno = saved_errno;
  if (result != 0) throw JournalError(system_error("cannot sync", directory));
}

MappedFile::MappedFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw JournalError(system_error("cannot open", path));
  struct stat status {};
  if (::fstat(fd, &status) != 0) {
    const std::string error = system_error("cannot stat", path);
    ::close(fd);
    throw JournalError(error);
  }
  size_ = static_cast<size_t>(status.st_size);
  if (size_ > 0) {
    data_ = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (data_ == MAP_FAILED) {
      data_ = nullptr;
      const std::string error = system_error("cannot map", path);
      ::close(fd);
      throw JournalError(error);
    }
    ::madvise(data_, size_, MADV_SEQUENTIAL);  // advisory: read-ahead for one pass
  }
  ::close(fd);
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(data_, size_);
}

}  // namespace timing_sidecar
