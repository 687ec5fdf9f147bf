// Writing and removing small files and their folders, so that a sandbox's setup and teardown
// (namespace and files) are each one trip to a worker thread.
#pragma once

#include <string>
#include <vector>

namespace cnm {

struct FileContent {
  std::string path;
  std::string content;
};

// Writes each file (mode 0644, replacing what was there; never through a symlink), making its
// folder and the folders above it (0755) when missing.
void writeFiles(const std::vector<FileContent>& files);

// Removes each path in order: a path ending in '/' is a folder (rmdir: left alone if something
// else is still in it), anything else a file (unlink). Paths already gone are fine.
void removePaths(const std::vector<std::string>& paths);

}  // namespace cnm
