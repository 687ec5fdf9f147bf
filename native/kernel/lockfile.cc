#include "lockfile.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>

#include "error.h"
#include "fd.h"

namespace cnm {

LockResult lockFile(const std::string& path, const std::string& owner) {
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) throwErrno("open", path);
  LockResult result;
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) < 0) {
    if (errno != EWOULDBLOCK) throwErrno("flock", path);
    char buf[64];
    ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
    if (n > 0) result.holder.assign(buf, n);
    return result;
  }
  if (::ftruncate(fd.get(), 0) < 0) throwErrno("ftruncate", path);
  if (::pwrite(fd.get(), owner.data(), owner.size(), 0) != static_cast<ssize_t>(owner.size())) throwErrno("write", path);
  result.fd = fd.release();
  return result;
}

void unlockFile(int fd) {
  if (::close(fd) < 0) throwErrno("close", "lock file");
}

}  // namespace cnm
