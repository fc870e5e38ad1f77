#ifndef CLOADGEN_EPOLL_H
#define CLOADGEN_EPOLL_H
/* epoll(7) for the load generator: Swift's Glibc module does not export <sys/epoll.h>. */
#include <sys/epoll.h>
#endif
