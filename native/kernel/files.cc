#include "files.h"

#include <unistd.h>

#include <cerrno>

#include "error.h"

namespace cnm {

void removePaths(const std::vector<std::string>& paths) {
  for (const std::string& path : paths) {
    bool folder = !path.empty() && path.back() == '/';
    int rc = folder ? ::rmdir(path.c_str()) : ::unlink(path.c_str());
    if (rc == 0 || errno == ENOENT || (folder && errno == ENOTEMPTY)) continue;
    throwErrno(folder ? "rmdir" : "unlink", path);
  }
}

}  // namespace cnm
