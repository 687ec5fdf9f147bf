#include "netns.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <exception>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "error.h"

namespace cnm {

Fd openNetns(const std::string& path, int flags) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | flags));
  if (!fd.valid()) throwErrno("open", path);
  struct statfs fs {};
  if (::fstatfs(fd.get(), &fs) < 0) throwErrno("fstatfs", path);
  if (static_cast<unsigned long>(fs.f_type) != NSFS_MAGIC || ::ioctl(fd.get(), NS_GET_NSTYPE) != CLONE_NEWNET) {
    throw KernelError(EINVAL, "open", path + " (not a network namespace)");
  }
  return fd;
}

NetnsInfo netnsInfo(const std::string& path) {
  NetnsInfo info;
  // O_NONBLOCK: a FIFO at the path must not block the worker thread.
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd.valid()) throwErrno("open", path);
  struct statfs fs {};
  if (::fstatfs(fd.get(), &fs) < 0) throwErrno("fstatfs", path);
  if (static_cast<unsigned long>(fs.f_type) != NSFS_MAGIC || ::ioctl(fd.get(), NS_GET_NSTYPE) != CLONE_NEWNET) {
    return info;
  }
  struct stat target {
  }, host{};
  if (::fstat(fd.get(), &target) < 0) throwErrno("fstat", path);
  if (::stat("/proc/self/ns/net", &host) < 0) throwErrno("stat", "/proc/self/ns/net");
  info.isNetns = true;
  info.inode = target.st_ino;
  info.dev = target.st_dev;
  info.isHost = target.st_ino == host.st_ino && target.st_dev == host.st_dev;
  return info;
}

void runInNetns(int nsfd, const std::function<void()>& work) {
  std::exception_ptr failure;
  std::thread helper([&] {
    try {
      if (::setns(nsfd, CLONE_NEWNET) < 0) throwErrno("setns", "network namespace");
      work();
    } catch (...) {
      failure = std::current_exception();
    }
  });
  helper.join();
  if (failure) std::rethrow_exception(failure);
}

NlSocket openSocketIn(const std::string& path, int protocol) {
  Fd ns = openNetns(path);
  std::optional<NlSocket> socket;
  runInNetns(ns.get(), [&] { socket.emplace(NlSocket::open(protocol)); });
  return std::move(*socket);
}

// Makes `dir` a shared mount point once per process, as iproute2 does, so that namespace mounts
// made under it propagate to other mount namespaces.
static void ensureSharedDir(const std::string& dir) {
  static std::mutex mutex;
  static std::set<std::string> done;
  std::lock_guard<std::mutex> lock(mutex);
  if (done.count(dir)) return;
  if (::mkdir(dir.c_str(), 0755) < 0 && errno != EEXIST) throwErrno("mkdir", dir);
  Fd lockFd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!lockFd.valid()) throwErrno("open", dir);
  // Another process (ip netns, another cnm-ts) may be doing the same: serialise on the directory.
  if (::flock(lockFd.get(), LOCK_EX) < 0) throwErrno("flock", dir);
  if (::mount("", dir.c_str(), "none", MS_SHARED | MS_REC, nullptr) < 0) {
    if (errno != EINVAL) throwErrno("mount", dir);
    // Not a mount point yet: bind it onto itself, then make it shared.
    if (::mount(dir.c_str(), dir.c_str(), "none", MS_BIND | MS_REC, nullptr) < 0) throwErrno("mount", dir);
    if (::mount("", dir.c_str(), "none", MS_SHARED | MS_REC, nullptr) < 0) throwErrno("mount", dir);
  }
  done.insert(dir);
}

std::string netnsCreate(const std::string& dir, const std::string& name, const std::function<void()>& inNew) {
  ensureSharedDir(dir);
  std::string path = dir + "/" + name;
  Fd file(::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0));
  if (!file.valid()) throwErrno("open", path);
  file.reset();
  std::exception_ptr failure;
  std::thread helper([&] {
    try {
      if (::unshare(CLONE_NEWNET) < 0) throwErrno("unshare", path);
      // /proc/thread-self, not /proc/self: the latter is the main thread's (the host's) namespace.
      if (::mount("/proc/thread-self/ns/net", path.c_str(), "none", MS_BIND, nullptr) < 0) throwErrno("mount", path);
      if (inNew) inNew();
    } catch (...) {
      failure = std::current_exception();
    }
  });
  helper.join();
  if (failure) {
    ::umount2(path.c_str(), MNT_DETACH);
    ::unlink(path.c_str());
    std::rethrow_exception(failure);
  }
  return path;
}

void netnsDelete(const std::string& path) {
  // Refuses anything that is not a network namespace file, and a symlink to one (ELOOP): only the
  // mount at `path` itself is removed, never one a symlink points at.
  Fd ns = openNetns(path, O_NOFOLLOW);
  struct stat target {
  }, host{};
  if (::fstat(ns.get(), &target) < 0) throwErrno("fstat", path);
  if (::stat("/proc/self/ns/net", &host) < 0) throwErrno("stat", "/proc/self/ns/net");
  if (target.st_dev == host.st_dev && target.st_ino == host.st_ino) {
    throw KernelError(EBUSY, "umount2", path + " (the host's own network namespace is never removed)");
  }
  if (::umount2(path.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) < 0) throwErrno("umount2", path);
  if (::unlink(path.c_str()) < 0) throwErrno("unlink", path);
}

}  // namespace cnm
