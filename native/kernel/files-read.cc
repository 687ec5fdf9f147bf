#include "files-read.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "beneath.h"
#include "error.h"

namespace cnm {

namespace {

FileRead failed(int err, const std::string& reason) { return FileRead{"", err, reason}; }

// Reads the regular file `name` of the folder `dirFd`. O_NONBLOCK: opening a FIFO cannot block;
// fstat then refuses it, and anything else that is not a regular file.
FileRead readRegular(int dirFd, const std::string& name) {
  Fd fd(::openat(dirFd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid() && errno == ELOOP) return failed(ELOOP, "a symlink, not a regular file: not followed");
  if (!fd.valid()) return failed(errno, "open: " + std::system_category().message(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0) return failed(errno, "fstat: " + std::system_category().message(errno));
  if (!S_ISREG(st.st_mode)) return failed(EINVAL, "not a regular file");
  FileRead read;
  char chunk[8192];
  while (true) {
    ssize_t n = ::read(fd.get(), chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failed(errno, "read: " + std::system_category().message(errno));
    if (n == 0) return read;
    read.content.append(chunk, static_cast<size_t>(n));
  }
}

}  // namespace

std::vector<std::string> listFolder(const std::string& base, const std::string& path) {
  Fd baseFd = openBase(base, -1);
  if (!baseFd.valid() && errno == ENOENT) return {};
  if (!baseFd.valid()) throwErrno("open", base);
  std::vector<std::string> parts = path.empty() ? std::vector<std::string>{} : componentsOf(base, path);
  Fd folder = openFolder(baseFd.get(), base, parts, parts.size(), -1);
  if (!folder.valid()) return {};
  DIR* dir = ::fdopendir(folder.get());
  if (!dir) throwErrno("opendir", base + "/" + path);
  folder.release();  // closedir closes it
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  int err = errno;
  ::closedir(dir);
  if (err != 0) throw KernelError(err, "readdir", base + "/" + path);
  return names;
}

std::vector<FileRead> readFiles(const std::string& base, const std::vector<std::string>& paths) {
  Fd baseFd = openBase(base, -1);
  if (!baseFd.valid() && errno != ENOENT) throwErrno("open", base);
  std::vector<FileRead> reads;
  reads.reserve(paths.size());
  for (const std::string& path : paths) {
    std::vector<std::string> parts = componentsOf(base, path);
    try {
      Fd folder = baseFd.valid() ? openFolder(baseFd.get(), base, parts, parts.size() - 1, -1) : Fd();
      if (!folder.valid()) {
        reads.push_back(failed(ENOENT, "open: " + std::system_category().message(ENOENT)));
        continue;
      }
      reads.push_back(readRegular(folder.get(), parts.back()));
    } catch (const KernelError& e) {  // a folder on the way is a symlink or a file
      reads.push_back(failed(e.err, e.syscall + " " + e.object + ": " + std::system_category().message(e.err)));
    }
  }
  return reads;
}

}  // namespace cnm
