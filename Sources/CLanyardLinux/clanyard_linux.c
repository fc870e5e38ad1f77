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
#include <unistd.h>

int clanyard_tun_open(char *name, size_t name_cap, int tap) {
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return -errno;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = (short)((tap ? IFF_TAP : IFF_TUN) | IFF_NO_PI);
    if (name && name[0]) strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    if (name && name_cap > 0) {
        strncpy(name, ifr.ifr_name, name_cap - 1);
        name[name_cap - 1] = 0;
    }
    return fd;
}

int clanyard_tun_set_persist(int fd, int persist) {
    return ioctl(fd, TUNSETPERSIST, persist) < 0 ? -errno : 0;
}

#define CLANYARD_MAX_BATCH 128

int clanyard_recv_batch(int fd, clanyard_datagram *slots, unsigned int count) {
    struct mmsghdr msgs[CLANYARD_MAX_BATCH];
    struct iovec iovs[CLANYARD_MAX_BATCH];
    if (count > CLANYARD_MAX_BATCH) count = CLANYARD_MAX_BATCH;
    memset(msgs, 0, sizeof(struct mmsghdr) * count);
    for (unsigned int i = 0; i < count; i++) {
        iovs[i].iov_base = slots[i].buffer;
        iovs[i].iov_len = slots[i].capacity;
        msgs[i].msg_hdr.msg_iov = &iovs[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &slots[i].address;
        msgs[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
    }
    int n = recvmmsg(fd, msgs, count, MSG_DONTWAIT, NULL);
    if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        /* A datagram larger than the slot is truncated: report it as oversized with capacity+1. */
        slots[i].length = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ? slots[i].capacity + 1 : msgs[i].msg_len;
        slots[i].address_length = msgs[i].msg_hdr.msg_namelen;
    }
    return n;
}

int clanyard_send_batch(int fd, clanyard_datagram *slots, unsigned int count) {
    struct mmsghdr msgs[CLANYARD_MAX_BATCH];
    struct iovec iovs[CLANYARD_MAX_BATCH];
    if (count > CLANYARD_MAX_BATCH) count = CLANYARD_MAX_BATCH;
    memset(msgs, 0, sizeof(struct mmsghdr) * count);
    for (unsigned int i = 0; i < count; i++) {
        iovs[i].iov_base = slots[i].buffer;
        iovs[i].iov_len = slots[i].length;
        msgs[i].msg_hdr.msg_iov = &iovs[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &slots[i].address;
        msgs[i].msg_hdr.msg_namelen = slots[i].address_length;
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
