#include "files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "error.h"
#include "fd.h"

namespace cnm {

namespace {

// mkdir -p of the folder that holds `path`.
void makeParents(const std::string& path) {
  for (size_t slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1)) {
    std::string folder = path.substr(0, slash);
    if (::mkdir(folder.c_str(), 0755) < 0 && errno != EEXIST) throwErrno("mkdir", folder);
  }
}

}  // namespace

void writeFiles(const std::vector<FileContent>& files) {
  for (const FileContent& file : files) {
    makeParents(file.path);
    Fd fd(::open(file.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (!fd.valid()) throwErrno("open", file.path);
    size_t done = 0;
    while (done < file.content.size()) {
      ssize_t n = ::write(fd.get(), file.content.data() + done, file.content.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throwErrno("write", file.path);
      done += static_cast<size_t>(n);
    }
  }
}

void removePaths(const std::vector<std::string>& paths) {
  for (const std::string& path : paths) {
    bool folder = !path.empty() && path.back() == '/';
    int rc = folder ? ::rmdir(path.c_str()) : ::unlink(path.c_str());
    if (rc == 0 || errno == ENOENT || (folder && errno == ENOTEMPTY)) continue;
    throwErrno(folder ? "rmdir" : "unlink", path);
  }
}

}  // namespace cnm
