#include "cloadgen_epoll.h"
