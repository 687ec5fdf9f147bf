#include "files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <set>

#include "error.h"
#include "fd.h"

namespace cnm {

namespace {

// The components of a path relative to the base (a trailing '/' is dropped).
std::vector<std::string> componentsOf(const std::string& base, const std::string& relative) {
  std::string trimmed = !relative.empty() && relative.back() == '/' ? relative.substr(0, relative.size() - 1) : relative;
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t slash = trimmed.find('/', start);
    std::string part = trimmed.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (part.empty() || part == "." || part == "..") {
      throw KernelError(EINVAL, "open", base + "/" + relative + " (not a plain path beneath " + base + ")");
    }
    parts.push_back(part);
    if (slash == std::string::npos) return parts;
    start = slash + 1;
  }
}

std::string joined(const std::vector<std::string>& parts, size_t count) {
  std::string out;
  for (size_t i = 0; i < count; i++) out += (i ? "/" : "") + parts[i];
  return out;
}

// Opens the folder made of the first `count` components beneath `baseFd`, one component at a
// time with O_NOFOLLOW (a symlink gives ELOOP). With `createMode` >= 0 missing folders are made
// and the folders that received one are added to `touched`; without, a missing one returns an
// invalid Fd with errno ENOENT. Folders are opened first and made only when missing: a write
// into folders that exist costs no mkdir.
Fd openFolder(int baseFd, const std::string& base, const std::vector<std::string>& parts, size_t count, int createMode,
              std::set<std::string>* touched = nullptr) {
  Fd at(::fcntl(baseFd, F_DUPFD_CLOEXEC, 3));
  if (!at.valid()) throwErrno("fcntl", base);
  for (size_t i = 0; i < count; i++) {
    const char* part = parts[i].c_str();
    Fd next(::openat(at.get(), part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next.valid() && errno == ENOENT && createMode >= 0) {
      if (::mkdirat(at.get(), part, static_cast<mode_t>(createMode)) == 0) {
        if (touched) touched->insert(joined(parts, i));
      } else if (errno != EEXIST) {
        throwErrno("mkdir", base + "/" + joined(parts, i + 1));
      }
      next = Fd(::openat(at.get(), part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    }
    if (!next.valid()) {
      if (errno == ENOENT && createMode < 0) return Fd();
      // O_DIRECTORY | O_NOFOLLOW on a symlink gives ENOTDIR: say what it is.
      struct stat st {};
      if (errno == ENOTDIR && ::fstatat(at.get(), part, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) errno = ELOOP;
      throwErrno("open", base + "/" + joined(parts, i + 1));
    }
    at = std::move(next);
  }
  return at;
}

// mkdir -p of the base itself.
void makeBase(const std::string& base, mode_t mode) {
  for (size_t slash = base.find('/', 1);; slash = base.find('/', slash + 1)) {
    std::string folder = base.substr(0, slash);
    if (::mkdir(folder.c_str(), mode) < 0 && errno != EEXIST) throwErrno("mkdir", folder);
    if (slash == std::string::npos) return;
  }
}

// Opens the base folder, after making it (mkdir -p) when `createMode` >= 0. The base is the
// caller's path: symlinks in it are the caller's choice.
Fd openBase(const std::string& base, int createMode) {
  if (base.empty() || base.front() != '/') throw KernelError(EINVAL, "open", base + " (the base must be an absolute path)");
  Fd fd(::open(base.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.valid() || errno != ENOENT || createMode < 0) return fd;
  makeBase(base, static_cast<mode_t>(createMode));
  return Fd(::open(base.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

// fsync of each folder beneath the base, so that renames and unlinks in it survive a crash.
void syncFolders(int baseFd, const std::string& base, const std::set<std::string>& folders) {
  for (const std::string& relative : folders) {
    std::vector<std::string> parts = relative.empty() ? std::vector<std::string>{} : componentsOf(base, relative);
    Fd fd = openFolder(baseFd, base, parts, parts.size(), -1);
    if (!fd.valid()) continue;  // removed since: nothing left to flush
    if (::fsync(fd.get()) < 0) throwErrno("fsync", base + "/" + relative);
  }
}

// Writes a regular file in the folder `dirFd`. O_NONBLOCK: a FIFO planted there fails (ENXIO)
// instead of blocking; anything else that is not a regular file is refused after the open.
void writeContent(int dirFd, const std::string& name, const std::string& shown, const FileContent& file, bool sync) {
  Fd fd(::openat(dirFd, name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, file.mode));
  if (!fd.valid()) throwErrno("open", shown);
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0) throwErrno("fstat", shown);
  if (!S_ISREG(st.st_mode)) throw KernelError(EINVAL, "open", shown + " (not a regular file)");
  // The mode of a file that was already there (and the umask) would otherwise win.
  if (::fchmod(fd.get(), file.mode) < 0) throwErrno("fchmod", shown);
  size_t done = 0;
  while (done < file.content.size()) {
    ssize_t n = ::write(fd.get(), file.content.data() + done, file.content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throwErrno("write", shown);
    done += static_cast<size_t>(n);
  }
  if (sync && ::fsync(fd.get()) < 0) throwErrno("fsync", shown);
}

}  // namespace

void writeFiles(const std::string& base, const std::vector<FileContent>& files, WriteMode mode) {
  bool durable = mode == WriteMode::Durable;
  int folderMode = mode == WriteMode::InPlace ? 0755 : 0700;
  Fd baseFd = openBase(base, folderMode);
  if (!baseFd.valid()) throwErrno("open", base);
  std::set<std::string> touched;     // folders whose entries changed: flushed at the end when durable
  std::map<std::string, Fd> opened;  // folders by relative path: files that share one open it once
  for (const FileContent& file : files) {
    std::vector<std::string> parts = componentsOf(base, file.path);
    std::string shown = base + "/" + file.path, name = parts.back(), folder = joined(parts, parts.size() - 1);
    auto found = opened.find(folder);
    if (found == opened.end())
      found = opened.emplace(folder, openFolder(baseFd.get(), base, parts, parts.size() - 1, folderMode, &touched)).first;
    const Fd& dir = found->second;
    if (mode == WriteMode::InPlace) {
      writeContent(dir.get(), name, shown, file, false);
      continue;
    }
    std::string temporary = name + ".tmp";
    try {
      writeContent(dir.get(), temporary, shown + ".tmp", file, durable);
      if (::renameat(dir.get(), temporary.c_str(), dir.get(), name.c_str()) < 0) throwErrno("rename", shown);
    } catch (...) {
      ::unlinkat(dir.get(), temporary.c_str(), 0);
      throw;
    }
    touched.insert(folder);
  }
  if (durable) syncFolders(baseFd.get(), base, touched);
}

void removePaths(const std::string& base, const std::vector<std::string>& paths, bool durable) {
  Fd baseFd = openBase(base, -1);
  if (!baseFd.valid() && errno == ENOENT) return;  // the base is gone, and everything beneath it
  if (!baseFd.valid()) throwErrno("open", base);
  std::set<std::string> touched;
  for (const std::string& path : paths) {
    bool folder = !path.empty() && path.back() == '/';
    std::vector<std::string> parts = componentsOf(base, path);
    Fd dir = openFolder(baseFd.get(), base, parts, parts.size() - 1, -1);
    if (!dir.valid()) continue;  // its folder is gone
    int rc = ::unlinkat(dir.get(), parts.back().c_str(), folder ? AT_REMOVEDIR : 0);
    if (rc == 0 && durable) touched.insert(joined(parts, parts.size() - 1));
    if (rc == 0 || errno == ENOENT || (folder && errno == ENOTEMPTY)) continue;
    throwErrno(folder ? "rmdir" : "unlink", base + "/" + path);
  }
  syncFolders(baseFd.get(), base, touched);
}

}  // namespace cnm
