// Kernel parameters under /proc/sys, read and written in the calling thread's namespace.
#pragma once

#include <string>

namespace cnm {

// The /proc/sys path of a key: "net.ipv4.ip_forward" or "net/ipv6/conf/eth0.10/disable_ipv6"
// (the slash form allows dots in interface names). Throws EINVAL for keys that could escape
// /proc/sys.
std::string sysctlPath(const std::string& key);

// /proc/sys/net is resolved for the namespace of the thread that opens it: call these on a
// thread that is in the wanted namespace.
std::string sysctlRead(const std::string& key);
void sysctlWrite(const std::string& key, const std::string& value);

}  // namespace cnm
