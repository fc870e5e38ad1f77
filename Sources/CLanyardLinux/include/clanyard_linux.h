#ifndef CLANYARD_LINUX_H
#define CLANYARD_LINUX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>

/// Opens /dev/net/tun and attaches it to interface `name` (in/out: the kernel may pick the name).
/// `tap` selects IFF_TAP (Ethernet frames) instead of IFF_TUN (IP packets); IFF_NO_PI always.
/// Returns the descriptor (non-blocking, close-on-exec), or -errno.
int clanyard_tun_open(char *name, size_t name_cap, int tap);

/// Makes the interface persistent or not (TUNSETPERSIST). Returns 0 or -errno.
int clanyard_tun_set_persist(int fd, int persist);

/// One datagram slot for batched receive/send.
typedef struct {
    void *buffer;
    size_t capacity;            /* receive: room in buffer */
    size_t length;              /* receive: bytes received; send: bytes to send */
    struct sockaddr_storage address; /* receive: sender; send: destination */
    socklen_t address_length;
} clanyard_datagram;

/// recvmmsg over `count` slots, non-blocking. Returns datagrams received, 0 if none waiting, or -errno.
int clanyard_recv_batch(int fd, clanyard_datagram *slots, unsigned int count);

/// sendmmsg of `count` slots. Returns datagrams sent (may be fewer), or -errno.
int clanyard_send_batch(int fd, clanyard_datagram *slots, unsigned int count);

/// Blocks SIGINT, SIGTERM and SIGHUP for the calling thread and returns a signalfd for them, or -errno.
int clanyard_signalfd_open(void);

/// Reads one pending signal number from a signalfd, 0 if none, or -errno.
int clanyard_signalfd_read(int fd);

#endif
