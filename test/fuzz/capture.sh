#!/bin/sh
# Captures the fuzz target's seed corpus from the running kernel, once: the files it writes under
# test/fuzz/corpus/ are committed (npm run fuzz only reads them). Run as root from the repository
# root, with clang++, iproute2 and nft installed. Everything happens in a network namespace of its
# own that goes away with the command.
set -eu
mkdir -p build-fuzz test/fuzz/corpus
clang++ -std=c++17 -O1 native/fuzz/capture-replies.cc native/kernel/netlink.cc native/kernel/nfnetlink.cc native/kernel/error.cc \
  -o build-fuzz/capture-replies
unshare --net sh -eu -c '
ip link set lo up
ip link add fz-br type bridge
ip link set fz-br mtu 1400 up
ip link set fz-br alias "cnm-ts:fuzz"
ip link add fz-veth0 type veth peer name fz-veth1
ip link set fz-veth0 master fz-br up
ip link set fz-veth1 up
ip link add link fz-veth1 name fz-mv type macvlan mode bridge
ip link add fz-vx type vxlan id 42 dstport 4789 local 10.99.0.1 nolearning
ip addr add 10.99.0.1/24 dev fz-br
ip addr add fd99::1/64 dev fz-br nodad
ip route add 10.98.0.0/16 via 10.99.0.2 metric 50
ip route add default via 10.99.0.254
ip -6 route add fd98::/48 via fd99::2
nft -f - <<NFT
table inet fz {
  set ports {
    type inet_service
    elements = { 80, 443 }
  }
  set nets {
    type ipv4_addr
    flags interval
    elements = { 10.0.0.0/8, 192.168.1.0/24 }
  }
  map dnat4 {
    type inet_proto . inet_service : ipv4_addr . inet_service
    elements = { tcp . 8080 : 10.99.0.2 . 80 }
  }
  chain fz_user {
    tcp dport @ports counter reject with icmpx port-unreachable
  }
  chain fz_forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname "fz-br" oifname != "fz-br" accept comment "out"
    jump fz_user
  }
  chain fz_pre {
    type nat hook prerouting priority -100;
    dnat ip to meta l4proto . th dport map @dnat4
  }
  chain fz_post {
    type nat hook postrouting priority 100;
    ip saddr 10.99.0.0/24 oifname != "fz-br" masquerade
  }
}
NFT
build-fuzz/capture-replies test/fuzz/corpus
'
ls test/fuzz/corpus | wc -l
