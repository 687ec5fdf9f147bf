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

// Writes each file (replacing what was there; never through a symlink), making its folder and the
// folders above it (0755, or 0700 when `durable`) when missing. `durable`: each file is written to
// `<path>.tmp`, flushed to disk, renamed over `path`, and its folder is flushed, so that after a
// crash the file holds either the old or the new content, never a mix.
void writeFiles(const std::vector<FileContent>& files, bool durable);

// Removes each path in order: a path ending in '/' is a folder (rmdir: left alone if something
// else is still in it), anything else a file (unlink). Paths already gone are fine. `durable`:
// the folders that held them are flushed to disk afterwards.
void removePaths(const std::vector<std::string>& paths, bool durable);

}  // namespace cnm
