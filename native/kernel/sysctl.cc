#include "sysctl.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "error.h"

namespace cnm {

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
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
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
  Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) throwErrno("open", path);
  return fd;
}

void sysctlWrite(const Fd& file, const std::string& value, const std::string& key) {
  if (::pwrite(file.get(), value.data(), value.size(), 0) != static_cast<ssize_t>(value.size())) throwErrno("write", sysctlPath(key));
}

}  // namespace cnm
