#include "error.h"

#include <dlfcn.h>

#include <cerrno>
#include <cstring>

namespace cnm {

void throwErrno(const std::string& syscall, const std::string& object) { throw KernelError(errno, syscall, object); }

std::vector<ErrnoName> errnoNames() {
  std::vector<ErrnoName> names;
  // Looked up at run time, not linked: the prebuilt binaries target glibc 2.28, and these two
  // functions came in glibc 2.32 (musl has neither, and the table stays empty there).
  using NameOf = const char* (*)(int);
  auto nameOf = reinterpret_cast<NameOf>(dlsym(RTLD_DEFAULT, "strerrorname_np"));
  auto descriptionOf = reinterpret_cast<NameOf>(dlsym(RTLD_DEFAULT, "strerrordesc_np"));
  if (!nameOf || !descriptionOf) return names;  // lib/native falls back to Node's names
  // The kernel's errnos end below 4096 (MAX_ERRNO); glibc names those it knows.
  for (int err = 1; err < 4096; err++) {
    const char* name = nameOf(err);
    const char* description = descriptionOf(err);
    if (name && description) names.push_back({err, name, description});
  }
  return names;
}

}  // namespace cnm
