#include "inet.h"

#include <arpa/inet.h>

#include <cstdio>
#include <cstdlib>

namespace cnm {

bool parseIp(const std::string& text, IpAddress& out) {
  if (inet_pton(AF_INET, text.c_str(), out.bytes.data()) == 1) {
    out.family = AF_INET;
    return true;
  }
  if (inet_pton(AF_INET6, text.c_str(), out.bytes.data()) == 1) {
    out.family = AF_INET6;
    return true;
  }
  return false;
}

bool parsePrefix(const std::string& text, Prefix& out) {
  size_t slash = text.find('/');
  if (!parseIp(text.substr(0, slash), out.address)) return false;
  unsigned max = out.address.family == AF_INET ? 32 : 128;
  if (slash == std::string::npos) {
    out.length = max;
    return true;
  }
  std::string len = text.substr(slash + 1);
  if (len.empty() || len.size() > 3 || len.find_first_not_of("0123456789") != std::string::npos) return false;
  unsigned n = std::strtoul(len.c_str(), nullptr, 10);
  if (n > max) return false;
  out.length = n;
  return true;
}

std::string formatIp(int family, const void* bytes, size_t len) {
  size_t need = family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
  char buf[INET6_ADDRSTRLEN];
  if (need == 0 || len < need) return "";
  return inet_ntop(family, bytes, buf, sizeof buf) ? buf : "";
}

bool parseMac(const std::string& text, std::array<uint8_t, 6>& out) {
  unsigned b[6];
  char tail;
  if (std::sscanf(text.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6) {
    return false;
  }
  for (int i = 0; i < 6; i++) out[i] = static_cast<uint8_t>(b[i]);
  return true;
}

std::string formatMac(const uint8_t* bytes, size_t len) {
  std::string out;
  char part[4];
  for (size_t i = 0; i < len; i++) {
    std::snprintf(part, sizeof part, i ? ":%02x" : "%02x", bytes[i]);
    out += part;
  }
  return out;
}

}  // namespace cnm
