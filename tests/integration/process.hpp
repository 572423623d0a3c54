#pragma once

// Running the project's binaries from integration tests. ChildProcess starts a program (fork and
// exec, no shell) and, when it goes out of scope, stops it: SIGTERM, then SIGKILL if it has not
// exited within a bound, then reaps it, so that a failing test leaves no process behind.
// wait_for_port_file() waits, bounded, for the port a server started on port 0 writes down.

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace test_support {

struct ExitStatus {
  int code = -1;        // the exit code when the process exited, else -1
  int signal = 0;       // the signal that ended it, else 0
  bool killed = false;  // it ignored SIGTERM for the whole grace period and got SIGKILL
};

struct ChildOptions {
  // Files to send the child's stdout and stderr to (truncated first); empty: the test's own.
  std::string stdout_path;
  std::string stderr_path;
};

class ChildProcess {
 public:
  // Throws std::runtime_error when the program cannot be started (e.g. wrong path).
  ChildProcess(const std::string& program, const std::vector<std::string>& args,
               const ChildOptions& options = {}) {
    // Everything the child needs is prepared before fork(): in a multithreaded test process the
    // child may only call async-signal-safe functions until exec.
    std::vector<std::string> argv_strings;
    argv_strings.push_back(program);
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& arg : argv_strings) argv.push_back(arg.data());
    argv.push_back(nullptr);

    // Closed by a successful exec; otherwise the child writes its errno here.
    int error_pipe[2];
    if (pipe2(error_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ < 0) {
      close(error_pipe[0]);
      close(error_pipe[1]);
      throw std::runtime_error("fork failed");
    }
    if (pid_ == 0) {
      run_child(argv.data(), options, parent, error_pipe[1]);
    }
    close(error_pipe[1]);
    int child_errno = 0;
    ssize_t got;
    do {
      got = read(error_pipe[0], &child_errno, sizeof(child_errno));
    } while (got < 0 && errno == EINTR);
    close(error_pipe[0]);
    if (got > 0) {
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
      throw std::runtime_error("cannot start " + program + ": " + std::strerror(child_errno));
    }
  }

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  ~ChildProcess() {
    if (pid_ > 0) terminate();
  }

  pid_t pid() const { return pid_; }

  // False once the process has exited (it is reaped then).
  bool running() { return pid_ > 0 && !exit_ && !reap(WNOHANG); }

  void send_signal(int signal_number) {
    if (running()) kill(pid_, signal_number);
  }

  // The exit status, or nullopt if the process is still running after `timeout`.
  std::optional<ExitStatus> wait_for_exit(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (running()) {
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return exit_;
  }

  // SIGTERM, then SIGKILL if the process is still there after `grace`. Idempotent.
  ExitStatus terminate(std::chrono::milliseconds grace = std::chrono::seconds(5)) {
    if (pid_ <= 0) return {};
    if (running()) {
      kill(pid_, SIGTERM);
      if (!wait_for_exit(grace)) {
        kill(pid_, SIGKILL);
        reap(0);
        exit_->killed = true;
      }
    }
    return *exit_;
  }

 private:
  [[noreturn]] static void run_child(char** argv, const ChildOptions& options, pid_t parent,
                                     int error_fd) {
    auto fail = [error_fd] {
      const int child_errno = errno;
      (void)!write(error_fd, &child_errno, sizeof(child_errno));
      _exit(127);
    };
    // Dies with the test process even when the test crashes before its destructors run.
    // (The signal follows the forking thread: tests create children from the thread they run on.)
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail();
    if (getppid() != parent) _exit(127);
    // The test may block signals or ignore SIGPIPE; an ignored disposition survives exec.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    sigaction(SIGPIPE, &default_action, nullptr);

    const int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0) fail();
    redirect(options.stdout_path, STDOUT_FILENO, fail);
    redirect(options.stderr_path, STDERR_FILENO, fail);
    execv(argv[0], argv);
    fail();
    _exit(127);
  }

  template <typename Fail>
  static void redirect(const std::string& path, int target_fd, Fail fail) {
    if (path.empty()) return;
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || dup2(fd, target_fd) < 0) fail();
  }

  // True when the process has exited and was reaped.
  bool reap(int flags) {
    int status = 0;
    pid_t result;
    do {
      result = waitpid(pid_, &status, flags);
    } while (result < 0 && errno == EINTR);
    if (result == 0) return false;
    ExitStatus exit_status;
    if (result > 0 && WIFEXITED(status)) exit_status.code = WEXITSTATUS(status);
    if (result > 0 && WIFSIGNALED(status)) exit_status.signal = WTERMSIG(status);
    exit_ = exit_status;
    return true;
  }

  pid_t pid_ = -1;
  std::optional<ExitStatus> exit_;
};

// The port in `path`, once the file holds a whole line with a port number. nullopt when
// `timeout` passes first or `child` (if given) exits first.
inline std::optional<int> wait_for_port_file(const std::string& path,
                                             std::chrono::milliseconds timeout,
                                             ChildProcess* child = nullptr) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(path);
    std::string line;
    if (in && std::getline(in, line) && !in.eof()) {
      try {
        const int port = std::stoi(line);
        if (port > 0 && port < 65536) return port;
      } catch (const std::exception&) {
      }
    }
    if (child != nullptr && !child->running()) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return std::nullopt;
}

// A fresh directory under the system's temporary directory, removed with its contents.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix) {
    std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A whole file, e.g. a child's log to show when a check fails; empty if it cannot be read.
inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

// Epoch milliseconds, the clock deliverAtMs is written in.
inline int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace test_support
