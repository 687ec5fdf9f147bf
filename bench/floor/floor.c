// The kernel floor for the benchmark (DESIGN.md, Performance: "what a minimal C program that sends
// the same netlink messages takes"). One thread does the addon's setupContainer work with nothing
// else around it: a helper thread per namespace (unshare, bind mount, the two IPv6 sysctls, a
// netlink socket opened inside), then one netlink request per step, interface indexes known in
// advance (lo is 1, the peer is created as ifindex 2) so there are no lookups. Prints one line per
// container, "setup <index> <microseconds> <netns> <veth> <host up> <address> <lo up> <eth0 up>
// <route>" (the total, then each step), "teardown <index> <microseconds>" per namespace dropped and
// "linkwait 0 <microseconds>" for the wait until the host ends are gone.
//
//   floor setup <count> <netns prefix> <host ifname prefix> <bridge> <second octet>
//   floor teardown <count> <netns prefix> <host ifname prefix>
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what, int err) {
  fprintf(stderr, "floor: %s: %s\n", what, strerror(err));
  exit(1);
}

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

struct msg {
  _Alignas(struct nlmsghdr) char raw[1024];
};

#define HDR(m) ((struct nlmsghdr *)(m)->raw)

static void put(struct nlmsghdr *h, int type, const void *data, int len) {
  struct rtattr *a = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));
  a->rta_type = type;
  a->rta_len = RTA_LENGTH(len);
  if (len) memcpy(RTA_DATA(a), data, len);
  h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(a->rta_len);
}

static struct rtattr *nest(struct nlmsghdr *h, int type) {
  struct rtattr *a = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));
  put(h, type, NULL, 0);
  return a;
}

static void end_nest(struct nlmsghdr *h, struct rtattr *a) { a->rta_len = (char *)h + h->nlmsg_len - (char *)a; }

static void *payload(struct msg *m, size_t len) {
  memset(m, 0, sizeof *m);
  HDR(m)->nlmsg_len = NLMSG_LENGTH(len);
  return NLMSG_DATA(HDR(m));
}

static int nl_open(void) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) die("socket", errno);
  struct sockaddr_nl local = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr *)&local, sizeof local) < 0) die("bind", errno);
  return fd;
}

static uint32_t seq;

// Sends one request and waits for its ACK.
static void nl_talk(int fd, struct nlmsghdr *h, uint16_t type, uint16_t flags, const char *what) {
  h->nlmsg_type = type;
  h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  h->nlmsg_seq = ++seq;
  if (send(fd, h, h->nlmsg_len, 0) < 0) die(what, errno);
  char buf[8192];
  for (;;) {
    int n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      die(what, errno);
    }
    for (struct nlmsghdr *r = (struct nlmsghdr *)buf; NLMSG_OK(r, n); r = NLMSG_NEXT(r, n)) {
      if (r->nlmsg_seq != seq || r->nlmsg_type != NLMSG_ERROR) continue;
      int err = ((struct nlmsgerr *)NLMSG_DATA(r))->error;
      if (err) die(what, -err);
      return;
    }
  }
}

static void write_file(const char *path, const char *value) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, value, strlen(value)) < 0) die(path, errno);
  close(fd);
}

struct ns_job {
  const char *path;
  int sock;
};

// The helper thread: a new network namespace, named by a bind mount, IPv6 off for interfaces made later, a socket inside.
static void *make_netns(void *arg) {
  struct ns_job *job = arg;
  if (unshare(CLONE_NEWNET) < 0) die("unshare", errno);
  if (mount("/proc/thread-self/ns/net", job->path, "none", MS_BIND, NULL) < 0) die("mount", errno);
  write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
  job->sock = nl_open();
  return NULL;
}

static void link_up(int fd, int index, int addrgenmode_none, const char *what) {
  struct msg m;
  struct ifinfomsg *ifi = payload(&m, sizeof *ifi);
  ifi->ifi_index = index;
  ifi->ifi_flags = IFF_UP;
  ifi->ifi_change = IFF_UP;
  if (addrgenmode_none) {
    // Applied after "up" within the message, but before any carrier: the peer is still down.
    struct rtattr *spec = nest(HDR(&m), IFLA_AF_SPEC), *inet6 = nest(HDR(&m), AF_INET6);
    uint8_t mode = IN6_ADDR_GEN_MODE_NONE;
    put(HDR(&m), IFLA_INET6_ADDR_GEN_MODE, &mode, 1);
    end_nest(HDR(&m), inet6);
    end_nest(HDR(&m), spec);
  }
  nl_talk(fd, HDR(&m), RTM_NEWLINK, 0, what);
}

static void setup(int count, const char *prefix, const char *host_prefix, const char *bridge, int octet) {
  int host = nl_open();
  int master = if_nametoindex(bridge);
  if (!master) die(bridge, errno);
  for (int i = 0; i < count; i++) {
    double start = now_us(), mark[8];
    int step = 0;
    mark[step++] = start;
    char path[256], host_name[IFNAMSIZ];
    snprintf(path, sizeof path, "/run/netns/%s-%d", prefix, i);
    snprintf(host_name, sizeof host_name, "%s%d", host_prefix, i);

    int file = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
    if (file < 0) die(path, errno);
    close(file);
    struct ns_job job = {.path = path, .sock = -1};
    pthread_t helper;
    if (pthread_create(&helper, NULL, make_netns, &job)) die("pthread_create", EAGAIN);
    pthread_join(helper, NULL);
    mark[step++] = now_us();

    // veth: host end on the bridge, peer eth0 created as ifindex 2 inside the namespace
    int nsfd = open(path, O_RDONLY | O_CLOEXEC);
    if (nsfd < 0) die(path, errno);
    struct msg m;
    payload(&m, sizeof(struct ifinfomsg));
    put(HDR(&m), IFLA_IFNAME, host_name, strlen(host_name) + 1);
    put(HDR(&m), IFLA_MASTER, &master, 4);
    struct rtattr *info = nest(HDR(&m), IFLA_LINKINFO);
    put(HDR(&m), IFLA_INFO_KIND, "veth", 4);
    struct rtattr *data = nest(HDR(&m), IFLA_INFO_DATA), *peer = nest(HDR(&m), VETH_INFO_PEER);
    struct ifinfomsg peer_ifi = {.ifi_index = 2};
    memcpy(m.raw + HDR(&m)->nlmsg_len, &peer_ifi, sizeof peer_ifi);
    HDR(&m)->nlmsg_len += NLMSG_ALIGN(sizeof peer_ifi);
    put(HDR(&m), IFLA_IFNAME, "eth0", 5);
    put(HDR(&m), IFLA_NET_NS_FD, &nsfd, 4);
    end_nest(HDR(&m), peer);
    end_nest(HDR(&m), data);
    end_nest(HDR(&m), info);
    nl_talk(host, HDR(&m), RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, "veth");
    close(nsfd);
    mark[step++] = now_us();

    int host_index = if_nametoindex(host_name);
    if (!host_index) die(host_name, errno);
    link_up(host, host_index, 1, "host end up");
    mark[step++] = now_us();

    int h = i + 2;
    uint8_t addr[4] = {10, (uint8_t)octet, (uint8_t)(h >> 8), (uint8_t)(h & 255)};
    uint8_t brd[4] = {10, (uint8_t)octet, 255, 255};
    struct ifaddrmsg *ifa = payload(&m, sizeof *ifa);
    ifa->ifa_family = AF_INET;
    ifa->ifa_prefixlen = 16;
    ifa->ifa_index = 2;
    put(HDR(&m), IFA_LOCAL, addr, 4);
    put(HDR(&m), IFA_ADDRESS, addr, 4);
    put(HDR(&m), IFA_BROADCAST, brd, 4);
    nl_talk(job.sock, HDR(&m), RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, "address");
    mark[step++] = now_us();

    link_up(job.sock, 1, 0, "lo up");
    mark[step++] = now_us();
    link_up(job.sock, 2, 0, "eth0 up");
    mark[step++] = now_us();

    struct rtmsg *rt = payload(&m, sizeof *rt);
    rt->rtm_family = AF_INET;
    rt->rtm_table = RT_TABLE_MAIN;
    rt->rtm_protocol = RTPROT_BOOT;
    rt->rtm_scope = RT_SCOPE_UNIVERSE;
    rt->rtm_type = RTN_UNICAST;
    uint8_t gateway[4] = {10, (uint8_t)octet, 0, 1};
    int oif = 2;
    put(HDR(&m), RTA_GATEWAY, gateway, 4);
    put(HDR(&m), RTA_OIF, &oif, 4);
    nl_talk(job.sock, HDR(&m), RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, "route");
    close(job.sock);
    mark[step++] = now_us();
    printf("setup %d %.1f", i, mark[7] - start);
    for (int k = 1; k < 8; k++) printf(" %.1f", mark[k] - mark[k - 1]);
    printf("\n");
  }
}

// Drops every namespace, then waits until the kernel has destroyed every host end (what "a delete
// is done when it resolves" costs at the floor): subscribed to link events before the first drop,
// so no RTM_DELLINK is missed; a host end already gone when the drops are done is not waited for.
static void teardown(int count, const char *prefix, const char *host_prefix) {
  unsigned *index = calloc(count, sizeof *index);
  for (int i = 0; i < count; i++) {
    char name[IF_NAMESIZE];
    snprintf(name, sizeof name, "%s%d", host_prefix, i);
    index[i] = if_nametoindex(name);
    if (!index[i]) die(name, errno);
  }
  int events = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (events < 0) die("socket", errno);
  struct sockaddr_nl local = {.nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK};
  if (bind(events, (struct sockaddr *)&local, sizeof local) < 0) die("bind", errno);
  int rcvbuf = 8 << 20;
  setsockopt(events, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);
  for (int i = 0; i < count; i++) {
    double start = now_us();
    char path[256];
    snprintf(path, sizeof path, "/run/netns/%s-%d", prefix, i);
    if (umount2(path, MNT_DETACH) < 0) die(path, errno);
    if (unlink(path) < 0) die(path, errno);
    printf("teardown %d %.1f\n", i, now_us() - start);
  }
  double start = now_us();
  int left = 0;
  char name[IF_NAMESIZE];
  for (int i = 0; i < count; i++) {
    if (if_indextoname(index[i], name)) left++;
    else index[i] = 0;
  }
  static char buf[1 << 16];
  while (left > 0) {
    int n = recv(events, buf, sizeof buf, 0);
    if (n < 0) die("recv (link events)", errno);
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type != RTM_DELLINK) continue;
      unsigned gone = ((struct ifinfomsg *)NLMSG_DATA(h))->ifi_index;
      for (int i = 0; i < count; i++) {
        if (index[i] == gone) {
          index[i] = 0;
          left--;
        }
      }
    }
  }
  printf("linkwait 0 %.1f\n", now_us() - start);
  close(events);
  free(index);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOFBF, 1 << 16);
  if (argc == 7 && !strcmp(argv[1], "setup")) {
    setup(atoi(argv[2]), argv[3], argv[4], argv[5], atoi(argv[6]));
  } else if (argc == 5 && !strcmp(argv[1], "teardown")) {
    teardown(atoi(argv[2]), argv[3], argv[4]);
  } else {
    fprintf(stderr, "usage: floor setup COUNT NETNS_PREFIX HOST_PREFIX BRIDGE OCTET | floor teardown COUNT NETNS_PREFIX HOST_PREFIX\n");
    return 2;
  }
  return 0;
}
