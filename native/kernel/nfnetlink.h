// nfnetlink (NETLINK_NETFILTER) messages: the nfgenmsg header, message names for errors, and
// batches, the nf_tables transaction: every message of a batch takes effect, or none does.
#pragma once

#include <linux/netfilter/nfnetlink.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "netlink.h"

namespace cnm {

// A message of subsystem `subsys` (NFNL_SUBSYS_NFTABLES, NFNL_SUBSYS_CTNETLINK) for `family`
// (NFPROTO_INET, NFPROTO_IPV4, ...), with its nfgenmsg header filled in.
NlRequest nfRequest(uint8_t subsys, uint8_t msg, uint16_t flags, uint8_t family);

// The name of an nfnetlink message type in errors ("NFT_MSG_NEWRULE"), or "netlink".
const char* nfMessageName(uint16_t type);

// Big-endian attributes: nf_tables and ctnetlink send every integer in network byte order.
void putBe16(NlRequest& req, uint16_t type, uint16_t v);
void putBe32(NlRequest& req, uint16_t type, uint32_t v);
void putBe64(NlRequest& req, uint16_t type, uint64_t v);
uint16_t be16(const NlAttrs& attrs, uint16_t type, uint16_t def = 0);
uint32_t be32(const NlAttrs& attrs, uint16_t type, uint32_t def = 0);
uint64_t be64(const NlAttrs& attrs, uint16_t type, uint64_t def = 0);
// The payload of an attribute as bytes (empty if absent).
std::vector<uint8_t> bytesOf(const NlAttrs& attrs, uint16_t type);

// Sends `msgs` as one nf_tables batch (NFNL_MSG_BATCH_BEGIN, the messages, NFNL_MSG_BATCH_END)
// in one sendmsg, each message with NLM_F_ACK, and reads every answer. On failure throws the
// KernelError of the first refused message, with `command` set to its index and `object` to
// `objects[index]`; the kernel has then undone the whole batch.
void nfTransaction(NlSocket& socket, std::vector<NlRequest>& msgs, const std::vector<std::string>& objects);

// One answer to a batch whose messages are numbered from `first` (the BATCH_BEGIN) on: counts an
// ack in `acked`, or records the first refusal in `failure`. Throws EBADMSG for an error cut short.
void nfBatchAnswer(const nlmsghdr* h, uint32_t first, const std::vector<NlRequest>& msgs, const std::vector<std::string>& objects,
                   size_t& acked, std::optional<KernelError>& failure);

}  // namespace cnm
