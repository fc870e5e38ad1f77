import Glibc
import Logging
import Testing
@testable import LanyardLinux

/// Lines for systemd's journal: a priority prefix per line, no timestamp, only when stderr is the
/// stream JOURNAL_STREAM names.
struct JournalStreamTests {
    @Test func levelsMapToSyslogPriorities() {
        let expected: [(Logger.Level, Int)] = [(.trace, 7), (.debug, 7), (.info, 6), (.notice, 5), (.warning, 4), (.error, 3), (.critical, 2)]
        for (level, priority) in expected { #expect(JournalStream.priority(level) == priority) }
    }

    @Test func anErrorLineCarriesItsPriorityAndNoTimestamp() {
        let line = JournalStream.line(level: .error, label: "lanyard.switch", source: "lanyard",
                                      message: "reload failed, nothing changed: bad file", metadata: ["port": "7", "a": "b"])
        #expect(line == "<3>lanyard.switch: [lanyard] reload failed, nothing changed: bad file a=b port=7\n")
    }

    @Test func everyLineOfAMultiLineMessageIsPrefixed() {
        let line = JournalStream.line(level: .warning, label: "l", source: "s", message: "one\ntwo", metadata: [:])
        #expect(line == "<4>l: [s] one\n<4>two\n")
    }

    @Test func journalStreamValueMustNameThisDeviceAndInode() {
        #expect(JournalStream.matches("8:1234", device: 8, inode: 1234))
        #expect(!JournalStream.matches("8:1235", device: 8, inode: 1234))
        #expect(!JournalStream.matches("8", device: 8, inode: 1234))
        #expect(!JournalStream.matches("x:1234", device: 8, inode: 1234))
        #expect(!JournalStream.matches("8:1234:5", device: 8, inode: 1234))
    }

    @Test func standardErrorIsTheJournalOnlyWhenTheVariableNamesIt() {
        var info = stat()
        #expect(fstat(STDERR_FILENO, &info) == 0)
        let mine = "\(info.st_dev):\(info.st_ino)"
        #expect(JournalStream.standardErrorIsJournal(environment: ["JOURNAL_STREAM": mine]))
        #expect(!JournalStream.standardErrorIsJournal(environment: ["JOURNAL_STREAM": "\(info.st_dev):\(info.st_ino &+ 1)"]))
        #expect(!JournalStream.standardErrorIsJournal(environment: [:]))
    }
}
