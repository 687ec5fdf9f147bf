// Links: create, delete, change, read. Each call takes the socket of the namespace it acts in.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "netlink.h"

namespace cnm {

struct VethPeerSpec {
  std::string name;
  std::string netns;  // path of the namespace the peer is created in; empty: beside the link
  std::optional<uint32_t> mtu;
  std::string mac;
  bool ipv6 = false;  // IPv6 on in its namespace (see LinkSpec::ipv6)
};

struct LinkSpec {
  std::string kind;  // "bridge", "veth", "macvlan", "vxlan"
  std::string name;
  std::optional<uint32_t> mtu;
  std::string mac;
  bool up = false;
  std::string master;                 // enslave to this bridge on creation
  std::string netns;                  // create the link directly in this namespace (path); empty: the socket's
  std::optional<VethPeerSpec> peer;   // veth
  std::string parent;                 // macvlan, vxlan: the lower device
  std::string macvlanMode;            // "private", "vepa", "bridge", "passthru"
  std::optional<uint32_t> vni;        // vxlan
  std::optional<uint16_t> dstPort;    // vxlan, host order
  std::string group;                  // vxlan multicast group
  std::string remote;                 // vxlan unicast remote
  std::string local;                  // vxlan source address
  std::optional<bool> learning;       // vxlan
  std::optional<uint32_t> linkGroup;  // IFLA_GROUP, set in the create request (an alias cannot be)
  // IPv6 on for the link in its namespace, whose new interfaces have it off (default.disable_ipv6=1):
  // done by the batch (batch.cc), not by the create request.
  bool ipv6 = false;
};

struct LinkChange {
  std::optional<bool> up;
  std::optional<uint32_t> mtu;
  std::string mac;
  std::string newName;
  std::optional<std::string> master;  // "" removes the master (nomaster)
  std::string netns;                  // move into this namespace (path)
  std::string addrGenMode;            // IPv6 link-local generation: "none", "eui64", "stable_secret", "random"
  std::optional<std::string> alias;   // IFLA_IFALIAS; "" removes it
  std::optional<uint32_t> group;      // IFLA_GROUP
  std::optional<bool> hairpin;        // bridge port: IFLA_BRPORT_MODE (hairpin), the link must have its master already
};

struct LinkStats {
  uint64_t rxPackets = 0, txPackets = 0, rxBytes = 0, txBytes = 0;
  uint64_t rxErrors = 0, txErrors = 0, rxDropped = 0, txDropped = 0;
};

struct LinkInfo {
  uint32_t index = 0;
  std::string name;
  std::string kind;  // empty for devices without one (lo, physical NICs)
  uint32_t flags = 0;
  uint32_t mtu = 0;
  std::string mac;
  uint32_t masterIndex = 0;
  std::string master;
  uint32_t parentIndex = 0;  // IFLA_LINK: a veth's peer, a macvlan's lower device
  std::string operstate;
  std::string alias;   // IFLA_IFALIAS
  uint32_t group = 0;  // IFLA_GROUP
  LinkStats stats;
};

// The interface index of `name`; throws ENODEV naming the link if there is none.
uint32_t linkIndex(NlSocket& sock, const std::string& name);

// Whether a link with this index exists in the socket's namespace.
bool linkExists(NlSocket& sock, uint32_t index);

void linkAdd(NlSocket& sock, const LinkSpec& spec);
void linkDelete(NlSocket& sock, const std::string& name);
// Deletes the links in one request, so that they share one RCU grace period (the kernel's cost of
// a delete): they get a link group of their own (`group`, else a random one), which is deleted
// (`ip link del group G`) if it holds them and nothing else. Returns the names already gone.
std::vector<std::string> linkDeleteGroup(NlSocket& sock, const std::vector<std::string>& names,
                                         std::optional<uint32_t> group = std::nullopt);
void linkSet(NlSocket& sock, const std::string& name, const LinkChange& change);
LinkInfo linkGet(NlSocket& sock, const std::string& name);
std::vector<LinkInfo> linkList(NlSocket& sock);
// One RTM_NEWLINK message (master left as an index). Throws EBADMSG if it is cut short.
LinkInfo parseLink(const nlmsghdr* h);

}  // namespace cnm
