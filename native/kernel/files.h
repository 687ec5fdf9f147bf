// Writing and removing small files and their folders, so that a sandbox's setup and teardown
// (namespace and files) are each one trip to a worker thread.
#pragma once

#include <string>
#include <vector>

namespace cnm {

struct FileContent {
  std::string path;
  std::string content;
  unsigned mode = 0644;
};

// How writeFiles writes: in place; atomically (`<path>.tmp` renamed over `path`, so that a process
// that dies midway leaves the old or the new content, never a mix); or durably (atomically, with
// the file flushed to disk before the rename and its folder after, so that a power loss cannot
// lose or tear it either).
enum class WriteMode { InPlace, Atomic, Durable };

// Writes each file (replacing what was there; never through a symlink), making its folder and the
// folders above it (0755 in place, else 0700) when missing.
void writeFiles(const std::vector<FileContent>& files, WriteMode mode);

// Removes each path in order: a path ending in '/' is a folder (rmdir: left alone if something
// else is still in it), anything else a file (unlink). Paths already gone are fine. `durable`:
// the folders that held them are flushed to disk afterwards.
void removePaths(const std::vector<std::string>& paths, bool durable);

}  // namespace cnm
