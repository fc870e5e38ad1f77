import CLanyardLinux

/// What this binary was built as: the version and the git commit (set by
/// scripts/build-release.sh in CLanyardLinux/lanyard_version.h; "dev" and "unknown" otherwise).
public enum BuildInfo {
    public static let version = String(cString: clanyard_version())
    public static let commit = String(cString: clanyard_commit())
}
