#include "clanyard_crypto.h"
