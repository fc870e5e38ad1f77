#define _GNU_SOURCE
#include "clanyard_linux.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/uio.h>
#include <netinet/udp.h>
#include <netinet/in.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#include <unistd.h>

static int tun_attach(char *name, int tap, int vnet) {
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return -errno;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = (short)((tap ? IFF_TAP : IFF_TUN) | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0));
    if (name && name[0]) strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    if (vnet) {
        int size = CLANYARD_VNET_HDR_LEN;
        unsigned int flags = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
        if (ioctl(fd, TUNSETVNETHDRSZ, &size) < 0 || ioctl(fd, TUNSETOFFLOAD, flags) < 0) {
            close(fd);
            return -EOPNOTSUPP;
        }
    }
    strncpy(name, ifr.ifr_name, IFNAMSIZ - 1);
    return fd;
}

int clanyard_tun_open(char *name, size_t name_cap, int tap, int *offload) {
    char wanted[IFNAMSIZ];
    memset(wanted, 0, sizeof(wanted));
    if (name) strncpy(wanted, name, IFNAMSIZ - 1);
    int fd = -EOPNOTSUPP;
    if (offload && *offload) fd = tun_attach(wanted, tap, 1);
    if (fd == -EOPNOTSUPP || fd == -EINVAL) {
        if (offload) *offload = 0;
        if (name) strncpy(wanted, name, IFNAMSIZ - 1);
        fd = tun_attach(wanted, tap, 0);
    }
    if (fd < 0) return fd;
    if (name && name_cap > 0) {
        strncpy(name, wanted, name_cap - 1);
        name[name_cap - 1] = 0;
    }
    return fd;
}

long clanyard_tun_write_vnet(int fd, const void *header, const void *packet, size_t length) {
    static const unsigned char zeros[CLANYARD_VNET_HDR_LEN] = {0};
    struct iovec iov[2] = {{(void *)(header ? header : zeros), CLANYARD_VNET_HDR_LEN}, {(void *)packet, length}};
    ssize_t n = writev(fd, iov, 2);
    if (n < 0) return -errno;
    return n >= CLANYARD_VNET_HDR_LEN ? n - CLANYARD_VNET_HDR_LEN : 0;
}

int clanyard_udp_enable_gro(int fd) {
    int on = 1;
    return setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof(on)) < 0 ? -errno : 0;
}

int clanyard_udp_enable_pktinfo(int fd, int family) {
    int on = 1;
    if (family == AF_INET6) return setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on)) < 0 ? -errno : 0;
    return setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on)) < 0 ? -errno : 0;
}

int clanyard_tun_set_persist(int fd, int persist) {
    return ioctl(fd, TUNSETPERSIST, persist) < 0 ? -errno : 0;
}

#define CLANYARD_MAX_BATCH 128

#define CLANYARD_CMSG_SPACE (CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct in6_pktinfo)))

int clanyard_recv_batch(int fd, clanyard_datagram *slots, unsigned int count) {
    struct mmsghdr msgs[CLANYARD_MAX_BATCH];
    struct iovec iovs[CLANYARD_MAX_BATCH];
    union { char bytes[CLANYARD_CMSG_SPACE]; struct cmsghdr align; } control[CLANYARD_MAX_BATCH];
    if (count > CLANYARD_MAX_BATCH) count = CLANYARD_MAX_BATCH;
    memset(msgs, 0, sizeof(struct mmsghdr) * count);
    for (unsigned int i = 0; i < count; i++) {
        iovs[i].iov_base = slots[i].buffer;
        iovs[i].iov_len = slots[i].capacity;
        msgs[i].msg_hdr.msg_iov = &iovs[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &slots[i].address;
        msgs[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
        msgs[i].msg_hdr.msg_control = control[i].bytes;
        msgs[i].msg_hdr.msg_controllen = CLANYARD_CMSG_SPACE;
    }
    int n = recvmmsg(fd, msgs, count, MSG_DONTWAIT, NULL);
    if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        /* A datagram larger than the slot is truncated: report it as oversized with capacity+1. */
        slots[i].length = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ? slots[i].capacity + 1 : msgs[i].msg_len;
        slots[i].address_length = msgs[i].msg_hdr.msg_namelen;
        slots[i].segment = slots[i].length;
        slots[i].source_family = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
            if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
                int size;
                memcpy(&size, CMSG_DATA(c), sizeof(size));
                if (size > 0) slots[i].segment = (size_t)size;
            } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
                struct in6_pktinfo info;
                memcpy(&info, CMSG_DATA(c), sizeof(info));
                memcpy(slots[i].source, &info.ipi6_addr, 16);
                slots[i].source_family = AF_INET6;
            } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
                struct in_pktinfo info;
                memcpy(&info, CMSG_DATA(c), sizeof(info));
                memset(slots[i].source, 0, sizeof(slots[i].source));
                memcpy(slots[i].source, &info.ipi_addr, 4);
                slots[i].source_family = AF_INET;
            }
        }
    }
    return n;
}

int clanyard_send_batch(int fd, clanyard_datagram *slots, unsigned int count) {
    struct mmsghdr msgs[CLANYARD_MAX_BATCH];
    struct iovec iovs[CLANYARD_MAX_BATCH];
    union { char bytes[CMSG_SPACE(sizeof(uint16_t)) + CMSG_SPACE(sizeof(struct in6_pktinfo))]; struct cmsghdr align; } control[CLANYARD_MAX_BATCH];
    if (count > CLANYARD_MAX_BATCH) count = CLANYARD_MAX_BATCH;
    memset(msgs, 0, sizeof(struct mmsghdr) * count);
    for (unsigned int i = 0; i < count; i++) {
        iovs[i].iov_base = slots[i].buffer;
        iovs[i].iov_len = slots[i].length;
        msgs[i].msg_hdr.msg_iov = &iovs[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &slots[i].address;
        msgs[i].msg_hdr.msg_namelen = slots[i].address_length;
        int segmented = slots[i].segment > 0 && slots[i].length > slots[i].segment;
        if (!segmented && slots[i].source_family == 0) continue;
        memset(control[i].bytes, 0, sizeof(control[i].bytes));
        msgs[i].msg_hdr.msg_control = control[i].bytes;
        msgs[i].msg_hdr.msg_controllen = sizeof(control[i].bytes);
        size_t used = 0;
        struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr);
        if (segmented) {
            c->cmsg_level = SOL_UDP;
            c->cmsg_type = UDP_SEGMENT;
            c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
            uint16_t size = (uint16_t)slots[i].segment;
            memcpy(CMSG_DATA(c), &size, sizeof(size));
            used += CMSG_SPACE(sizeof(uint16_t));
            c = (struct cmsghdr *)(control[i].bytes + used);
        }
        /* Reply from the address the peer sent to (a multi-homed host would otherwise answer
           from whichever address the route picks, which NAT and firewalls drop). */
        if (slots[i].source_family == AF_INET6) {
            struct in6_pktinfo info;
            memset(&info, 0, sizeof(info));
            memcpy(&info.ipi6_addr, slots[i].source, 16);
            c->cmsg_level = IPPROTO_IPV6;
            c->cmsg_type = IPV6_PKTINFO;
            c->cmsg_len = CMSG_LEN(sizeof(info));
            memcpy(CMSG_DATA(c), &info, sizeof(info));
            used += CMSG_SPACE(sizeof(info));
        } else if (slots[i].source_family == AF_INET) {
            struct in_pktinfo info;
            memset(&info, 0, sizeof(info));
            memcpy(&info.ipi_spec_dst, slots[i].source, 4);
            c->cmsg_level = IPPROTO_IP;
            c->cmsg_type = IP_PKTINFO;
            c->cmsg_len = CMSG_LEN(sizeof(info));
            memcpy(CMSG_DATA(c), &info, sizeof(info));
            used += CMSG_SPACE(sizeof(info));
        }
        msgs[i].msg_hdr.msg_controllen = used;
    }
    int n = sendmmsg(fd, msgs, count, MSG_DONTWAIT);
    return n < 0 ? -errno : n;
}

int clanyard_signalfd_open(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0) return -EINVAL;
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int clanyard_signalfd_read(int fd) {
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof(info));
    if (n < 0) return (errno == EAGAIN) ? 0 : -errno;
    if (n != sizeof(info)) return 0;
    return (int)info.ssi_signo;
}
