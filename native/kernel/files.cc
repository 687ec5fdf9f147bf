#include "files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <set>

#include "beneath.h"
#include "error.h"

namespace cnm {

namespace {

// Folders by their path relative to the base, each opened once for every file or path in it.
using OpenFolders = std::map<std::string, Fd>;

// fsync of each folder beneath the base, so that renames and unlinks in it survive a crash;
// through the descriptor in `opened` when the folder is open already.
void syncFolders(int baseFd, const std::string& base, const std::set<std::string>& folders, const OpenFolders& opened) {
  for (const std::string& relative : folders) {
    auto open = opened.find(relative);
    Fd walked;
    if (open == opened.end()) {
      std::vector<std::string> parts = relative.empty() ? std::vector<std::string>{} : componentsOf(base, relative);
      walked = openFolder(baseFd, base, parts, parts.size(), -1);
      if (!walked.valid()) continue;  // removed since: nothing left to flush
    }
    int fd = open == opened.end() ? walked.get() : open->second.get();
    if (::fsync(fd) < 0) throwErrno("fsync", base + "/" + relative);
  }
}

// Opens a file to write in the folder `dirFd`. O_NONBLOCK: a FIFO planted there fails (ENXIO)
// instead of blocking. A file this call made (O_EXCL, tried first when `fresh`: a temporary file
// or a file in a new folder is normally absent) is a regular one; anything that was there already
// is checked, and refused if it is not a regular file.
Fd openToWrite(int dirFd, const std::string& name, const std::string& shown, unsigned mode, bool fresh) {
  const int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
  if (fresh) {
    Fd made(::openat(dirFd, name.c_str(), flags | O_EXCL, mode));
    if (made.valid() || errno != EEXIST) {
      if (!made.valid()) throwErrno("open", shown);
      return made;
    }
  }
  Fd fd(::openat(dirFd, name.c_str(), flags, mode));
  if (!fd.valid()) throwErrno("open", shown);
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0) throwErrno("fstat", shown);
  if (!S_ISREG(st.st_mode)) throw KernelError(EINVAL, "open", shown + " (not a regular file)");
  return fd;
}

// Writes a regular file in the folder `dirFd` (see openToWrite).
void writeContent(int dirFd, const std::string& name, const std::string& shown, const FileContent& file, bool fresh, bool sync) {
  Fd fd = openToWrite(dirFd, name, shown, file.mode, fresh);
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
  std::set<std::string> touched;  // folders whose entries changed: flushed at the end when durable
  OpenFolders opened;
  std::set<std::string> madeHere;  // folders this call made: a file in one is new
  for (const FileContent& file : files) {
    std::vector<std::string> parts = componentsOf(base, file.path);
    std::string shown = base + "/" + file.path, name = parts.back(), folder = joined(parts, parts.size() - 1);
    auto found = opened.find(folder);
    if (found == opened.end()) {
      bool made = false;
      found = opened.emplace(folder, openFolder(baseFd.get(), base, parts, parts.size() - 1, folderMode, &touched, &made)).first;
      if (made) madeHere.insert(folder);
    }
    const Fd& dir = found->second;
    if (mode == WriteMode::InPlace) {
      writeContent(dir.get(), name, shown, file, madeHere.count(folder) > 0, false);
      continue;
    }
    std::string temporary = name + ".tmp";
    try {
      writeContent(dir.get(), temporary, shown + ".tmp", file, true, durable);
      if (::renameat(dir.get(), temporary.c_str(), dir.get(), name.c_str()) < 0) throwErrno("rename", shown);
    } catch (...) {
      ::unlinkat(dir.get(), temporary.c_str(), 0);
      throw;
    }
    touched.insert(folder);
  }
  if (durable) syncFolders(baseFd.get(), base, touched, opened);
}

void removePaths(const std::string& base, const std::vector<std::string>& paths, bool durable) {
  Fd baseFd = openBase(base, -1);
  if (!baseFd.valid() && errno == ENOENT) return;  // the base is gone, and everything beneath it
  if (!baseFd.valid()) throwErrno("open", base);
  std::set<std::string> touched;
  OpenFolders opened;
  for (const std::string& path : paths) {
    bool folder = !path.empty() && path.back() == '/';
    std::vector<std::string> parts = componentsOf(base, path);
    std::string parent = joined(parts, parts.size() - 1);
    auto found = opened.find(parent);
    if (found == opened.end()) found = opened.emplace(parent, openFolder(baseFd.get(), base, parts, parts.size() - 1, -1)).first;
    const Fd& dir = found->second;
    if (!dir.valid()) continue;  // its folder is gone
    int rc = ::unlinkat(dir.get(), parts.back().c_str(), folder ? AT_REMOVEDIR : 0);
    if (rc == 0 && durable) touched.insert(parent);
    if (rc == 0 || errno == ENOENT || (folder && errno == ENOTEMPTY)) continue;
    throwErrno(folder ? "rmdir" : "unlink", base + "/" + path);
  }
  // A folder removed after a file in it: flushing its descriptor is harmless.
  syncFolders(baseFd.get(), base, touched, opened);
}

}  // namespace cnm
