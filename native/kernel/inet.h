// Parsing and formatting of IP addresses, prefixes and MAC addresses.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>

namespace cnm {

struct IpAddress {
  int family = AF_UNSPEC;  // AF_INET or AF_INET6
  std::array<uint8_t, 16> bytes{};
  size_t size() const { return family == AF_INET ? 4 : 16; }
};

struct Prefix {
  IpAddress address;
  uint8_t length = 0;
};

bool parseIp(const std::string& text, IpAddress& out);
// "10.0.0.2/24", "fd00::1/64"; a bare address gets the full length.
bool parsePrefix(const std::string& text, Prefix& out);
// An address of `len` bytes as text; "" unless the family is AF_INET or AF_INET6 and `len` holds it.
std::string formatIp(int family, const void* bytes, size_t len);
bool parseMac(const std::string& text, std::array<uint8_t, 6>& out);
std::string formatMac(const uint8_t* bytes, size_t len);

}  // namespace cnm
