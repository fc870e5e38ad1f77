#ifndef CLANYARD_LINUX_H
#define CLANYARD_LINUX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/eventfd.h>

/// Opens /dev/net/tun and attaches it to interface `name` (in/out: the kernel may pick the name).
/// `tap` selects IFF_TAP (Ethernet frames) instead of IFF_TUN (IP packets); IFF_NO_PI always.
/// With `*offload` set, asks for IFF_VNET_HDR with checksum and TCP segmentation offload
/// (TSO4/TSO6), so reads may return up to 64 KB TCP segments behind a virtio_net_hdr; on return
/// `*offload` says whether that is in effect (falls back to plain packets if the kernel refuses).
/// Returns the descriptor (non-blocking, close-on-exec), or -errno.
int clanyard_tun_open(char *name, size_t name_cap, int tap, int *offload);

/// Size of the virtio_net_hdr in front of every packet on an offloading TUN/TAP.
#define CLANYARD_VNET_HDR_LEN 10

/// Writes one packet behind a virtio_net_hdr (`header`, 10 bytes; NULL for all zeros: no GSO,
/// checksum complete). Returns bytes written (packet only) or -errno.
long clanyard_tun_write_vnet(int fd, const void *header, const void *packet, size_t length);

/// Turns on UDP generic receive offload (UDP_GRO). Returns 0 or -errno.
int clanyard_udp_enable_gro(int fd);

/// Asks the kernel to report each datagram's local (destination) address (IPV6_RECVPKTINFO on an
/// IPv6 socket, which covers IPv4-mapped datagrams too; IP_PKTINFO on an IPv4 one), so replies
/// can leave from the address the peer sent to. Returns 0 or -errno.
int clanyard_udp_enable_pktinfo(int fd, int family);

/// Makes the interface persistent or not (TUNSETPERSIST). Returns 0 or -errno.
int clanyard_tun_set_persist(int fd, int persist);

/// One datagram slot for batched receive/send.
typedef struct {
    void *buffer;
    size_t capacity;            /* receive: room in buffer */
    size_t length;              /* receive: bytes received; send: bytes to send */
    struct sockaddr_storage address; /* receive: sender; send: destination */
    socklen_t address_length;
    /* receive: size of each coalesced datagram (UDP GRO; equals length when not coalesced);
       send: when non-zero and length > segment, the kernel splits the buffer into datagrams of
       this size (UDP GSO; the last may be shorter). */
    size_t segment;
    /* receive: the local address the datagram was sent to; send: the source address to use
       (IP_PKTINFO / IPV6_PKTINFO). source_family is 0 when unknown or not wanted, AF_INET (the
       address in the first 4 bytes) or AF_INET6 (IPv4 as IPv4-mapped on an IPv6 socket). */
    unsigned char source[16];
    int source_family;
} clanyard_datagram;

/// recvmmsg over `count` slots, non-blocking. Returns datagrams received, 0 if none waiting, or -errno.
int clanyard_recv_batch(int fd, clanyard_datagram *slots, unsigned int count);

/// sendmmsg of `count` slots (with UDP_SEGMENT for slots that carry several datagrams).
/// Returns slots sent (may be fewer), or -errno.
int clanyard_send_batch(int fd, clanyard_datagram *slots, unsigned int count);

/// Blocks SIGINT, SIGTERM and SIGHUP for the calling thread and returns a signalfd for them, or -errno.
int clanyard_signalfd_open(void);

/// Reads one pending signal number from a signalfd, 0 if none, or -errno.
int clanyard_signalfd_read(int fd);

/// The version this binary was built as ("dev" unless scripts/build-release.sh set it).
const char *clanyard_version(void);
/// The git commit this binary was built from ("unknown" unless scripts/build-release.sh set it;
/// "-dirty" appended when the tree had uncommitted changes).
const char *clanyard_commit(void);

#endif
