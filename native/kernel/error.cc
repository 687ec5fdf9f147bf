#include "error.h"

#include <cerrno>

namespace cnm {

void throwErrno(const std::string& syscall, const std::string& object) {
  throw KernelError(errno, syscall, object);
}

}  // namespace cnm
