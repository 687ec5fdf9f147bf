#include "error.h"

#include <cerrno>
#include <cstring>

namespace cnm {

void throwErrno(const std::string& syscall, const std::string& object) { throw KernelError(errno, syscall, object); }

std::vector<ErrnoName> errnoNames() {
  std::vector<ErrnoName> names;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  // The kernel's errnos end below 4096 (MAX_ERRNO); glibc names those it knows.
  for (int err = 1; err < 4096; err++) {
    const char* name = strerrorname_np(err);
    const char* description = strerrordesc_np(err);
    if (name && description) names.push_back({err, name, description});
  }
#endif
  // Other C libraries: the table stays empty and lib/native falls back to Node's names.
  return names;
}

}  // namespace cnm
