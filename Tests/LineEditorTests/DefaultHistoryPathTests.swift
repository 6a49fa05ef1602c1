import Foundation
import LineEditor
import Testing

@Suite struct DefaultHistoryPathTests {
    @Test func xdgStateHomeWinsWhenAbsolute() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = LineEditor.defaultHistoryPath(environment: ["HOME": directory.file("home"), "XDG_STATE_HOME": directory.file("state")])
        #expect(path == directory.file("state/beamsh/history"))
    }

    @Test func relativeXdgStateHomeIsIgnored() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let home = directory.file("home")
        let path = LineEditor.defaultHistoryPath(environment: ["HOME": home, "XDG_STATE_HOME": "relative/state"])
        #expect(path == home + "/.local/state/beamsh/history")
        #expect(LineEditor.defaultHistoryPath(environment: ["HOME": home, "XDG_STATE_HOME": ""]) == path)
    }

    @Test func homeLocalStateByDefault() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        #expect(LineEditor.defaultHistoryPath(environment: ["HOME": directory.path]) == directory.file(".local/state/beamsh/history"))
        #expect(LineEditor.defaultHistoryPath(environment: ["HOME": directory.path + "/"]) == directory.file(".local/state/beamsh/history"))
    }

    @Test func fallsBackToADotFileWhenTheStateDirectoryCannotBeMade() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // ~/.local is a file: ~/.local/state/beamsh can never be created.
        try "".write(toFile: directory.file(".local"), atomically: true, encoding: .utf8)
        #expect(LineEditor.defaultHistoryPath(environment: ["HOME": directory.path]) == directory.file(".beamsh_history"))
        // Likewise when XDG_STATE_HOME points below a file.
        let path = LineEditor.defaultHistoryPath(environment: ["HOME": directory.path, "XDG_STATE_HOME": directory.file(".local/state")])
        #expect(path == directory.file(".beamsh_history"))
    }

    @Test func withoutHomeTheUserDatabaseIsAsked() {
        let path = LineEditor.defaultHistoryPath(environment: [:])
        #expect(path.hasPrefix("/"))
        #expect(path.hasSuffix("/beamsh/history") || path.hasSuffix("/.beamsh_history"))
    }
}
