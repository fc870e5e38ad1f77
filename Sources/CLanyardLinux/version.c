// The version and commit `lanyard --version` prints. scripts/build-release.sh writes them into
// lanyard_version.h (git-ignored) next to this file, so a new version recompiles this one file and
// relinks; a build without that header (plain `swift build`) says "dev" and "unknown".
#include "clanyard_linux.h"
#if __has_include("lanyard_version.h")
#include "lanyard_version.h"
#endif
#ifndef LANYARD_VERSION
#define LANYARD_VERSION "dev"
#endif
#ifndef LANYARD_COMMIT
#define LANYARD_COMMIT "unknown"
#endif

const char *clanyard_version(void) { return LANYARD_VERSION; }
const char *clanyard_commit(void) { return LANYARD_COMMIT; }
