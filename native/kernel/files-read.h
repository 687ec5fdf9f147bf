// Reading folders and small files beneath a base folder that the caller trusts, never through a
// symlink below it (beneath.h): the state store's records and the folders a restore sweeps. In the
// addon rather than in JS so that no runtime needs /proc/self/fd for openat (Deno allows that path
// only under --allow-all).
#pragma once

#include <string>
#include <vector>

namespace cnm {

// The names in the folder `path` beneath `base` ("": the base itself), without "." and "..", in
// no particular order; none if the folder or the base is missing. A symlink on the way: ELOOP; a
// file: ENOTDIR.
std::vector<std::string> listFolder(const std::string& base, const std::string& path);

// One file of readFiles: its content, or why it could not be read (`err` != 0).
struct FileRead {
  std::string content;
  int err = 0;
  std::string reason;
};

// Reads each regular file at `paths` beneath `base`. A file that is missing, a symlink, a FIFO, a
// folder or a device, or that cannot be read, gets its own error and the others are still read.
// Throws only when the base cannot be opened for another reason than being missing.
std::vector<FileRead> readFiles(const std::string& base, const std::vector<std::string>& paths);

}  // namespace cnm
