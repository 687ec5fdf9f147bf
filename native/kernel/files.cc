#include "files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <set>

#include "error.h"
#include "fd.h"

namespace cnm {

namespace {

std::string parentOf(const std::string& path) {
  std::string trimmed = path.back() == '/' ? path.substr(0, path.size() - 1) : path;
  size_t slash = trimmed.rfind('/');
  return slash == 0 ? "/" : slash == std::string::npos ? "." : trimmed.substr(0, slash);
}

// mkdir -p of the folder that holds `path`; the folders that hold new ones go into `created`.
void makeParents(const std::string& path, mode_t mode, std::set<std::string>& created) {
  for (size_t slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1)) {
    std::string folder = path.substr(0, slash);
    if (::mkdir(folder.c_str(), mode) == 0) created.insert(parentOf(folder));
    else if (errno != EEXIST) throwErrno("mkdir", folder);
  }
}

// fsync of each folder, so that renames and unlinks in it survive a crash.
void syncFolders(const std::set<std::string>& folders) {
  for (const std::string& folder : folders) {
    Fd fd(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) throwErrno("open", folder);
    if (::fsync(fd.get()) < 0) throwErrno("fsync", folder);
  }
}

void writeContent(const std::string& path, const FileContent& file, bool sync) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, file.mode));
  if (!fd.valid()) throwErrno("open", path);
  // The mode of a file that was already there (and the umask) would otherwise win.
  if (::fchmod(fd.get(), file.mode) < 0) throwErrno("fchmod", path);
  size_t done = 0;
  while (done < file.content.size()) {
    ssize_t n = ::write(fd.get(), file.content.data() + done, file.content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throwErrno("write", path);
    done += static_cast<size_t>(n);
  }
  if (sync && ::fsync(fd.get()) < 0) throwErrno("fsync", path);
}

}  // namespace

void writeFiles(const std::vector<FileContent>& files, WriteMode mode) {
  bool durable = mode == WriteMode::Durable;
  std::set<std::string> touched;  // folders whose entries changed: flushed at the end when durable
  for (const FileContent& file : files) {
    makeParents(file.path, mode == WriteMode::InPlace ? 0755 : 0700, touched);
    if (mode == WriteMode::InPlace) {
      writeContent(file.path, file, false);
      continue;
    }
    std::string temporary = file.path + ".tmp";
    try {
      writeContent(temporary, file, durable);
      if (::rename(temporary.c_str(), file.path.c_str()) < 0) throwErrno("rename", file.path);
    } catch (...) {
      ::unlink(temporary.c_str());
      throw;
    }
    touched.insert(parentOf(file.path));
  }
  if (durable) syncFolders(touched);
}

void removePaths(const std::vector<std::string>& paths, bool durable) {
  std::set<std::string> touched;
  for (const std::string& path : paths) {
    bool folder = !path.empty() && path.back() == '/';
    int rc = folder ? ::rmdir(path.c_str()) : ::unlink(path.c_str());
    if (rc == 0 && durable) touched.insert(parentOf(path));
    if (rc == 0 || errno == ENOENT || (folder && errno == ENOTEMPTY)) continue;
    throwErrno(folder ? "rmdir" : "unlink", path);
  }
  syncFolders(touched);
}

}  // namespace cnm
