import LineEditor
import Testing

@Suite struct HistoryPolicyTests {
    @Test(arguments: [
        "beamsh app@host --cookie abc",
        "beamsh app@host --cookie=abc",
        "RELEASE_COOKIE=abc bin/app remote",
        "export release_cookie=abc",
        "Node.set_cookie(:abc)",
        ":erlang.set_cookie(node(), :abc)",
        "erlang:set_cookie(node(), abc).",
        "erl -setcookie abc",
        "cookie = \"abc\"",
        "my_cookie=:abc",
        "[cookie: :abc]",
        "%{\"cookie\" => \"abc\"}",
        "Cookie: abc",
    ])
    func secretsAreNotRecorded(line: String) {
        #expect(LineEditor.isLikelySecret(line))
        #expect(!LineEditor.shouldRecord(line, previous: nil))
    }

    @Test(arguments: [
        "Node.get_cookie",
        ":erlang.get_cookie()",
        "cookie == expected",
        "cookie =~ ~r/a/",
        "File.read!(\"cookie.txt\")",
        "Mod::cookie",
        "Node.list()",
        "x = 1",
    ])
    func ordinaryLinesAreRecorded(line: String) {
        #expect(!LineEditor.isLikelySecret(line))
        #expect(LineEditor.shouldRecord(line, previous: nil))
    }

    @Test func blankLinesAndRepeatsOfThePreviousEntryAreSkipped() {
        #expect(!LineEditor.shouldRecord("", previous: nil))
        #expect(!LineEditor.shouldRecord("   \t", previous: "x"))
        #expect(!LineEditor.shouldRecord("Node.list", previous: "Node.list"))
        #expect(LineEditor.shouldRecord("Node.list", previous: "Node.self"))
        #expect(LineEditor.shouldRecord(" Node.list", previous: "Node.list"))
    }

    /// A pasted blob (a 1 MB line) stays out of the history that every session rewrites.
    @Test func longLinesAreSkipped() {
        #expect(LineEditor.maxEntryBytes == 4096, "the README says 4 KiB")
        #expect(LineEditor.shouldRecord(String(repeating: "x", count: LineEditor.maxEntryBytes), previous: nil))
        #expect(!LineEditor.shouldRecord(String(repeating: "x", count: LineEditor.maxEntryBytes + 1), previous: nil))
    }
}
