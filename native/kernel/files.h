// Removing small files and their folders, so that a sandbox's teardown (namespace and files) is
// one trip to a worker thread.
#pragma once

#include <string>
#include <vector>

namespace cnm {

// Removes each path in order: a path ending in '/' is a folder (rmdir: left alone if something
// else is still in it), anything else a file (unlink). Paths already gone are fine.
void removePaths(const std::vector<std::string>& paths);

}  // namespace cnm
