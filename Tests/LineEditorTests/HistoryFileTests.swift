import Foundation
@testable import LineEditor
import Testing

@Suite struct HistoryFileTests {
    @Test func entriesRoundTripIncludingNewlinesAndBackslashes() {
        let entries = ["Node.list", "case x do\n  1 -> :one\nend", "a\\nb", "é ✓", "cr\r"]
        #expect(HistoryFile.decode(HistoryFile.encode(entries)) == entries)
        #expect(String(decoding: HistoryFile.encode(["a\nb"]), as: UTF8.self) == "a\\nb\n")
    }

    @Test func savingMergesWithWhatAnotherSessionWrote() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("state/beamsh/history")
        let file = HistoryFile(path: path, maxEntries: 100)

        // Two sessions start from the same (missing) file and save one after the other.
        try file.merge(appending: ["first-a", "first-b"])
        try file.merge(appending: ["second-a"])
        #expect(file.load() == ["first-a", "first-b", "second-a"])

        // A repeat of the newest entry across sessions is collapsed.
        try file.merge(appending: ["second-a", "third"])
        #expect(file.load() == ["first-a", "first-b", "second-a", "third"])
    }

    @Test func theFileIsBoundedPrivateAndReplacedWithoutLeftovers() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("nested/dir/history")
        let file = HistoryFile(path: path, maxEntries: 3)
        try file.merge(appending: ["1", "2"])
        try file.merge(appending: ["3", "4", "5"])
        #expect(file.load() == ["3", "4", "5"])

        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let parent = try FileManager.default.attributesOfItem(atPath: directory.file("nested/dir"))
        #expect((parent[.posixPermissions] as? Int) == 0o700)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.file("nested/dir")) == ["history"])

        // What a session killed while saving left behind goes at the next save; other files stay.
        FileManager.default.createFile(atPath: directory.file("nested/dir/history.4242.17.tmp"), contents: Data())
        FileManager.default.createFile(atPath: directory.file("nested/dir/history.bak"), contents: Data())
        try file.merge(appending: ["6"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.file("nested/dir")).sorted() == ["history", "history.bak"])
    }

    @Test func concurrentSavesLoseNothing() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("history")
        await withTaskGroup(of: Void.self) { group in
            for session in 0..<8 {
                group.addTask {
                    let file = HistoryFile(path: path, maxEntries: 1000)
                    for round in 0..<10 { _ = try? file.merge(appending: ["s\(session)-\(round)"]) }
                }
            }
        }
        let entries = HistoryFile(path: path, maxEntries: 1000).load()
        #expect(entries.count == 80)
        #expect(Set(entries).count == 80)
    }

    @Test func anEditorLoadsFiltersAndSavesOnDeinit() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("history")
        try "old-1\nold-2\n".write(toFile: path, atomically: true, encoding: .utf8)
        try withPipeEditor(historyPath: path, maxEntries: 4) { editor in
            editor.addToHistory("old-2")                  // repeat of the newest loaded entry
            editor.addToHistory("beamsh a@b --cookie s3cret")
            editor.addToHistory("   ")
            editor.addToHistory("new-1")
            editor.addToHistory("Node.set_cookie(:s3cret)")
            editor.addToHistory("new-2")
            editor.addToHistory("new-3")
            // Another session saves meanwhile.
            try HistoryFile(path: path, maxEntries: 4).merge(appending: ["other"])
        }
        #expect(readText(path) == "other\nnew-1\nnew-2\nnew-3\n")
        #expect(readText(path)?.contains("s3cret") == false)
    }

    /// The session's cookie in any form of line (here a plain atom) is not recorded.
    @Test func linesHoldingTheSessionsSecretAreNotRecorded() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("history")
        try withPipeEditor(historyPath: path, maxEntries: 10) { editor in
            editor.isSecret = { $0.contains("Sekr3t") }
            editor.addToHistory("c = :Sekr3tCookieXYZ")
            editor.addToHistory("Node.list()")
        }
        #expect(readText(path) == "Node.list()\n")
    }

    /// Without a path there is nothing to save, and saving is not an error.
    @Test func noHistoryPathMeansNoFile() throws {
        try withPipeEditor(historyPath: nil, maxEntries: 10) { editor in
            editor.addToHistory("x")
            #expect(throws: Never.self) { try editor.saveHistory().get() }
        }
    }

    @Test func aFailedSaveKeepsTheEntriesForTheNextSave() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let blocker = directory.file("blocker")
        try "".write(toFile: blocker, atomically: true, encoding: .utf8)
        try withPipeEditor(historyPath: blocker + "/history", maxEntries: 10) { editor in
            editor.addToHistory("kept")
            guard case .failure(let error) = editor.saveHistory() else {
                Issue.record("saving below a regular file should fail")
                return
            }
            #expect(error.operation == "mkdir" || error.operation == "open")
            #expect(error.errno == ENOTDIR)
            // Make the path usable: the pending entry is written by the next save.
            try FileManager.default.removeItem(atPath: blocker)
            #expect(throws: Never.self) { try editor.saveHistory().get() }
        }
        #expect(readText(blocker + "/history") == "kept\n")
    }
}

/// Runs `body` with an editor reading from a pipe, and lets the editor go before returning.
func withPipeEditor(historyPath: String?, maxEntries: Int, input: String = "", _ body: (LineEditor) throws -> Void) throws {
    let inPipe = Pipe()
    let outPipe = Pipe()
    inPipe.fileHandleForWriting.write(Data(input.utf8))
    try inPipe.fileHandleForWriting.close()
    do {
        let editor = LineEditor(configuration: .init(
            historyPath: historyPath, maxHistoryEntries: maxEntries,
            inputDescriptor: inPipe.fileHandleForReading.fileDescriptor,
            outputDescriptor: outPipe.fileHandleForWriting.fileDescriptor))
        #expect(!editor.isInteractive)
        try body(editor)
    }
}
