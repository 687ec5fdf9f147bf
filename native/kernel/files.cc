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
