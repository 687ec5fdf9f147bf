#include "sysctl.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <mutex>

#include "error.h"

namespace cnm {

namespace {

// Why /proc/sys is reached through private instances of procfs: the first lookup of net/ipv6 in a
// namespace compares its name with the net/ipv6 dentry of every namespace that was ever looked up
// through the same procfs (they share one hash chain; about 0.5 us each here), so on /proc a new
// sandbox's sysctls cost 400 us with 800 namespaces on the machine, and the host's own lookups walk
// the same chain. An instance of its own (a detached mount, seen by no one) holds the dentries of
// the last kOpensPerInstance opens only.
constexpr unsigned kOpensPerInstance = 32;

// A new procfs instance's root, or an invalid Fd where the kernel gives none (before 5.2, or a
// seccomp filter or a user namespace that refuses the mount).
Fd newProcInstance() {
#if defined(SYS_fsopen) && defined(SYS_fsconfig) && defined(SYS_fsmount)
  Fd context(static_cast<int>(::syscall(SYS_fsopen, "proc", FSOPEN_CLOEXEC)));
  if (!context.valid() || ::syscall(SYS_fsconfig, context.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0) return Fd();
  return Fd(static_cast<int>(::syscall(SYS_fsmount, context.get(), FSMOUNT_CLOEXEC, 0)));
#else
  return Fd();
#endif
}

// The procfs instance sysctls are opened through, shared by the batches' threads; null once the
// kernel refused one (then /proc itself, from then on: slower, not wrong).
std::shared_ptr<const Fd> procInstance() {
  struct Instances {
    std::mutex mutex;
    std::shared_ptr<const Fd> current;
    unsigned opens = 0;
    bool refused = false;
  };
  static Instances* instances = new Instances();  // never destroyed: helper threads may outlive exit's destructors
  std::lock_guard<std::mutex> lock(instances->mutex);
  if (instances->refused) return nullptr;
  if (!instances->current || ++instances->opens > kOpensPerInstance) {
    Fd root = newProcInstance();
    instances->refused = !root.valid();
    instances->current = instances->refused ? nullptr : std::make_shared<const Fd>(std::move(root));
    instances->opens = 1;
  }
  return instances->current;
}

// Opens "/proc/sys/..." through a procfs instance of its own (see above), else through /proc. An
// open refused there is tried on /proc too, whose answer counts: a security module may refuse a
// path on a detached mount that it allows under /proc (and a missing key is missing on both).
Fd openSysctl(const std::string& path, int flags) {
  constexpr size_t kProcPrefix = sizeof("/proc/") - 1;
  if (std::shared_ptr<const Fd> proc = procInstance()) {
    Fd fd(::openat(proc->get(), path.c_str() + kProcPrefix, flags | O_CLOEXEC));
    if (fd.valid()) return fd;
  }
  return Fd(::open(path.c_str(), flags | O_CLOEXEC));
}

}  // namespace

std::string sysctlPath(const std::string& key) {
  bool slashes = key.find('/') != std::string::npos;
  std::string rel = key;
  if (!slashes) {
    for (char& c : rel) {
      if (c == '.') c = '/';
    }
  }
  bool bad = rel.empty() || rel.front() == '/' || rel.back() == '/' ||
             rel.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./@") != std::string::npos;
  // No path component may be "." or ".." or empty.
  for (size_t start = 0; !bad && start <= rel.size();) {
    size_t end = rel.find('/', start);
    if (end == std::string::npos) end = rel.size();
    std::string part = rel.substr(start, end - start);
    bad = part.empty() || part == "." || part == "..";
    start = end + 1;
  }
  if (bad) throw KernelError(EINVAL, "open", "sysctl " + key);
  return "/proc/sys/" + rel;
}

std::string sysctlRead(const std::string& key) {
  std::string path = sysctlPath(key);
  Fd fd = openSysctl(path, O_RDONLY);
  if (!fd.valid()) throwErrno("open", path);
  std::string out;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fd.get(), buf, sizeof buf)) > 0) out.append(buf, n);
  if (n < 0) throwErrno("read", path);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

void sysctlWrite(const std::string& key, const std::string& value) { sysctlWrite(sysctlOpen(key), value, key); }

Fd sysctlOpen(const std::string& key) {
  std::string path = sysctlPath(key);
  Fd fd = openSysctl(path, O_WRONLY);
  if (!fd.valid()) throwErrno("open", path);
  return fd;
}

void sysctlWrite(const Fd& file, const std::string& value, const std::string& key) {
  if (::pwrite(file.get(), value.data(), value.size(), 0) != static_cast<ssize_t>(value.size())) throwErrno("write", sysctlPath(key));
}

}  // namespace cnm
