// Wrappers for WardenFirewall; see CLinux.h. Netlink and pidfd headers live here because
// they clash with Glibc's module when included from the umbrella header.
#include "CLinux.h"

#include <errno.h>
#include <stddef.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <arpa/inet.h>

int warden_enter_network_namespace(int fd) { return setns(fd, CLONE_NEWNET); }

int warden_pidfd_open(int pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int warden_nftables_events_open(void) {
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_NETFILTER);
    if (fd < 0) return -1;
    struct sockaddr_nl address;
    memset(&address, 0, sizeof(address));
    address.nl_family = AF_NETLINK;
    address.nl_groups = 1u << (NFNLGRP_NFTABLES - 1);
    // Only NEWGEN (one per committed batch, always in a datagram of its own) is read. The
    // group also carries a notification per set element: a burst of bans would fill the
    // socket, and the overrun counts as a foreign change. Dropped in the kernel instead.
    // BPF loads a halfword in network order; nlmsg_type is in host order.
    struct sock_filter only_newgen[] = {
        BPF_STMT(BPF_LD | BPF_H | BPF_ABS, offsetof(struct nlmsghdr, nlmsg_type)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htons((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN), 0, 1),
        BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
        BPF_STMT(BPF_RET | BPF_K, 0),
    };
    // Best effort: without the filter a burst can overrun the socket, which costs a
    // needless reconcile but loses nothing.
    struct sock_fprog program = { .len = sizeof(only_newgen) / sizeof(only_newgen[0]), .filter = only_newgen };
    (void)setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof(program));
    if (bind(fd, (struct sockaddr *)&address, sizeof(address)) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

/// The NFTA_GEN_PROC_PID attribute of a NEWGEN message, or 0 when absent.
static int32_t generation_pid(const struct nlmsghdr *header) {
    const char *payload = (const char *)NLMSG_DATA(header) + sizeof(struct nfgenmsg);
    const char *end = (const char *)header + header->nlmsg_len;
    while (payload + sizeof(struct nlattr) <= end) {
        const struct nlattr *attribute = (const struct nlattr *)payload;
        if (attribute->nla_len < sizeof(struct nlattr) || payload + attribute->nla_len > end) break;
        if ((attribute->nla_type & NLA_TYPE_MASK) == NFTA_GEN_PROC_PID
            && attribute->nla_len >= sizeof(struct nlattr) + sizeof(uint32_t)) {
            uint32_t value;
            memcpy(&value, payload + NLA_HDRLEN, sizeof(value));
            return (int32_t)ntohl(value);
        }
        payload += NLA_ALIGN(attribute->nla_len);
    }
    return 0;
}

int warden_nftables_events_receive(int fd, int32_t *committers, int capacity) {
    // The socket filter lets only NEWGEN datagrams through; each holds one message.
    char buffer[65536] __attribute__((aligned(NLMSG_ALIGNTO)));
    ssize_t received = recv(fd, buffer, sizeof(buffer), 0);
    if (received < 0) return -1;
    int count = 0;
    int length = (int)received;
    for (struct nlmsghdr *header = (struct nlmsghdr *)buffer; NLMSG_OK(header, length) && count < capacity;
         header = NLMSG_NEXT(header, length)) {
        if (header->nlmsg_type != ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN)) continue;
        committers[count++] = generation_pid(header);
    }
    return count;
}

int32_t warden_thread_id(void) { return (int32_t)syscall(SYS_gettid); }
