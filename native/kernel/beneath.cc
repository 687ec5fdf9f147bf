#include "beneath.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "error.h"

namespace cnm {

namespace {

// mkdir -p of the base itself.
void makeBase(const std::string& base, mode_t mode) {
  for (size_t slash = base.find('/', 1);; slash = base.find('/', slash + 1)) {
    std::string folder = base.substr(0, slash);
    if (::mkdir(folder.c_str(), mode) < 0 && errno != EEXIST) throwErrno("mkdir", folder);
    if (slash == std::string::npos) return;
  }
}

// The folder at `relative` beneath `baseFd` in one openat2(2), under the same rule as the walk
// below: no symlink on the way (RESOLVE_NO_SYMLINKS), nothing above the base (RESOLVE_BENEATH).
// Invalid with errno set when it fails, also on a kernel older than 5.6 (ENOSYS).
Fd openBeneath(int baseFd, const std::string& relative) {
  struct open_how how {};
  how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  return Fd(static_cast<int>(::syscall(SYS_openat2, baseFd, relative.c_str(), &how, sizeof how)));
}

}  // namespace

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

// Opens the folder made of the first `count` components beneath `baseFd`: with one openat2 when
// the folders are there, else one component at a time with O_NOFOLLOW (a symlink gives ELOOP).
// With `createMode` >= 0 missing folders are made, the folders that received one are added to
// `touched`, and `made` tells whether the folder opened is new; without, a missing one returns an
// invalid Fd with errno ENOENT. Folders are opened first and made only when missing: a write
// into folders that exist costs no mkdir.
Fd openFolder(int baseFd, const std::string& base, const std::vector<std::string>& parts, size_t count, int createMode,
              std::set<std::string>* touched, bool* made) {
  if (made) *made = false;
  Fd at;
  size_t start = 0;
  if (count > 0) {
    Fd direct = openBeneath(baseFd, joined(parts, count));
    if (direct.valid() || (errno == ENOENT && createMode < 0)) return direct;
    // The last folder only is missing (a new sandbox's): its parent in one call too.
    if (errno == ENOENT && count > 1) {
      at = openBeneath(baseFd, joined(parts, count - 1));
      if (at.valid()) start = count - 1;
    }
    // Else a symlink or a file on the way, or an older kernel: the walk from the base names the
    // component that failed.
  }
  if (!at.valid()) at = Fd(::fcntl(baseFd, F_DUPFD_CLOEXEC, 3));
  if (!at.valid()) throwErrno("fcntl", base);
  for (size_t i = start; i < count; i++) {
    const char* part = parts[i].c_str();
    Fd next(::openat(at.get(), part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next.valid() && errno == ENOENT && createMode >= 0) {
      if (::mkdirat(at.get(), part, static_cast<mode_t>(createMode)) == 0) {
        if (touched) touched->insert(joined(parts, i));
        if (made) *made = true;  // and so is every folder below it
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

// Opens the base folder, after making it (mkdir -p) when `createMode` >= 0. The base is the
// caller's path: symlinks in it are the caller's choice.
Fd openBase(const std::string& base, int createMode) {
  if (base.empty() || base.front() != '/') throw KernelError(EINVAL, "open", base + " (the base must be an absolute path)");
  Fd fd(::open(base.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.valid() || errno != ENOENT || createMode < 0) return fd;
  makeBase(base, static_cast<mode_t>(createMode));
  return Fd(::open(base.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

}  // namespace cnm
