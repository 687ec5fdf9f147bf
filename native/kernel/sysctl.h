// Kernel parameters under /proc/sys, read and written in the calling thread's namespace.
#pragma once

#include <string>

#include "fd.h"

namespace cnm {

// The /proc/sys path of a key: "net.ipv4.ip_forward" or "net/ipv6/conf/eth0.10/disable_ipv6"
// (the slash form allows dots in interface names). Throws EINVAL for keys that could escape
// /proc/sys.
std::string sysctlPath(const std::string& key);

// /proc/sys/net is resolved for the namespace of the thread that opens it: call these on a
// thread that is in the wanted namespace.
std::string sysctlRead(const std::string& key);
void sysctlWrite(const std::string& key, const std::string& value);

// A sysctl file opened for writing. The file stays the namespace's it was opened in: writes
// through it change that namespace's value, from any thread (and fail once the namespace is gone).
Fd sysctlOpen(const std::string& key);
void sysctlWrite(const Fd& file, const std::string& value, const std::string& key);

}  // namespace cnm
