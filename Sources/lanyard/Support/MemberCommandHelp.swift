/// Help text for the commands that edit a member list (add-port, remove-port, add-client,
/// remove-client). They read the daemon's own options through `@ParentCommand`, which
/// ArgumentParser accepts after the subcommand's name but leaves out of its help: this lists them.
enum MemberCommandHelp {
    /// The daemon options such a command takes, as a help paragraph.
    static func daemonOptions(role: String, file: String) -> String {
        """
        Also takes the \(role)'s own options, to find the file and the running \(role):
          --config <config>       The \(role)'s configuration file (TOML); its `\(file)` key names the file.
          --\(file) <\(file)>     The \(file) file (when --config does not name it).
          --name <name>           The running \(role) to update (default: the one a unit runs for the file, or the only one running).
        """
    }
}
