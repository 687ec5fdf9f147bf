// An exclusive lock on a file (flock), held by an open descriptor until it is closed; the
// kernel drops it when the process dies, so a crash never leaves a stale lock.
#pragma once

#include <string>

namespace cnm {

struct LockResult {
  int fd = -1;         // the descriptor that holds the lock, or -1 if someone else holds it
  std::string holder;  // what the holder wrote in the file (its pid), when the lock is taken
};

// Opens (creating, 0600) and locks `path` without waiting; on success writes `owner` into it.
LockResult lockFile(const std::string& path, const std::string& owner);

// Releases a lock taken by lockFile.
void unlockFile(int fd);

}  // namespace cnm
