// Runs a program as a child process with extra environment variables and its
// stdout+stderr captured, so tests can watch its log, signal or SIGKILL it
// at chosen moments and inspect how it ended.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

namespace test_support {

struct Child {
  pid_t pid = -1;
  int out = -1;        // read end of the child's stdout+stderr
  std::string output;  // what was read so far
};

struct ChildExit {
  bool signaled = false;
  int code = -1;    // exit code when !signaled
  int signal = 0;   // terminating signal when signaled
};

// Starts argv[0] (looked up on PATH) with argv and `env` ("NAME=value") added
// to this process's environment.
inline Child spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env = {}) {
  int fds[2];
  if (pipe(fds) != 0) return {};
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    close(fds[0]);
    close(fds[1]);
    for (const std::string& e : env) putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  return {pid, fds[0], ""};
}

// Reads the child's output until it contains `needle` (true), it closes its
// output or `timeout_s` passes (false).
inline bool read_until(Child& c, const std::string& needle, double timeout_s) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (c.output.find(needle) == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{c.out, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    const ssize_t n = read(c.out, buf, sizeof buf);
    if (n <= 0) return c.output.find(needle) != std::string::npos;
    c.output.append(buf, static_cast<size_t>(n));
  }
  return true;
}

// Reads the child's output until it closes it (true) or `timeout_s` passes
// (false: the child is then SIGKILLed, so wait_child() does not block).
inline bool read_to_end(Child& c, double timeout_s) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      kill(c.pid, SIGKILL);
      return false;
    }
    pollfd p{c.out, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    const ssize_t n = read(c.out, buf, sizeof buf);
    if (n <= 0) return true;
    c.output.append(buf, static_cast<size_t>(n));
  }
}

// Reads the rest of the output and reaps the child.
inline ChildExit wait_child(Child& c) {
  char buf[4096];
  for (ssize_t n; (n = read(c.out, buf, sizeof buf)) > 0;) c.output.append(buf, static_cast<size_t>(n));
  close(c.out);
  int status = 0;
  waitpid(c.pid, &status, 0);
  ChildExit e;
  e.signaled = WIFSIGNALED(status);
  e.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  e.signal = e.signaled ? WTERMSIG(status) : 0;
  return e;
}

}  // namespace test_support
