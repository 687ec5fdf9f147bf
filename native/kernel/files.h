// Writing and removing small files and their folders, so that a sandbox's setup and teardown
// (namespace and files) are each one trip to a worker thread. Every path is relative to a base
// folder that the caller trusts (it may hold symlinks); nothing beneath the base is ever reached
// through a symlink: each component is opened with O_NOFOLLOW from the one above it (ELOOP).
#pragma once

#include <string>
#include <vector>

namespace cnm {

struct FileContent {
  std::string path;  // relative to the base: no empty, '.' or '..' components
  std::string content;
  unsigned mode = 0644;
};

// How writeFiles writes: in place; atomically (`<path>.tmp` renamed over `path`, so that a process
// that dies midway leaves the old or the new content, never a mix); or durably (atomically, with
// the file flushed to disk before the rename and its folder after, so that a power loss cannot
// lose or tear it either).
enum class WriteMode { InPlace, Atomic, Durable };

// Writes each file beneath `base` (replacing what was there; only ever a regular file, never
// through a symlink), making `base` and the folders beneath it (0755 in place, else 0700) when
// missing.
void writeFiles(const std::string& base, const std::vector<FileContent>& files, WriteMode mode);

// Removes each path beneath `base` in order: a path ending in '/' is a folder (rmdir: left alone
// if something else is still in it), anything else a file (unlink; a symlink is removed, not
// followed). Paths already gone are fine. `durable`: the folders that held them are flushed to
// disk afterwards.
void removePaths(const std::string& base, const std::vector<std::string>& paths, bool durable);

}  // namespace cnm
