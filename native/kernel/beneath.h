// Reaching files beneath a base folder that the caller trusts (it may hold symlinks) without ever
// going through a symlink below it: a folder is opened with openat2(RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS), or, where that fails, one component at a time with O_NOFOLLOW from the
// one above it (openat). Shared by the writes (files.cc) and the reads (files-read.cc).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "fd.h"

namespace cnm {

// The components of a path relative to the base (a trailing '/' is dropped). EINVAL for an empty,
// '.' or '..' component.
std::vector<std::string> componentsOf(const std::string& base, const std::string& relative);

// The first `count` components joined with '/'.
std::string joined(const std::vector<std::string>& parts, size_t count);

// Opens the folder made of the first `count` components beneath `baseFd`, in one openat2 or one
// component at a time with O_NOFOLLOW (a symlink on the way fails with ELOOP). With `createMode`
// >= 0 missing folders are made, the folders that received one are added to `touched`, and
// `made` says whether the folder opened is new; without, a missing one returns an invalid Fd
// with errno ENOENT.
Fd openFolder(int baseFd, const std::string& base, const std::vector<std::string>& parts, size_t count, int createMode,
              std::set<std::string>* touched = nullptr, bool* made = nullptr);

// Opens the base folder, after making it (mkdir -p) when `createMode` >= 0. The base is the
// caller's path: symlinks in it are the caller's choice. EINVAL for a relative one.
Fd openBase(const std::string& base, int createMode);

}  // namespace cnm
