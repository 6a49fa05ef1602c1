// End to end: the built `beamsh` executable's `decode` command, run as a process.

import BeamTestSupport
import Foundation
import Testing
import ErlangTerm

@Suite(.ownThreads) struct DecodeCommandTests {
    /// The `beamsh` under test: the one built next to the tests, or `$BEAMSH_BINARY` (scripts/test
    /// runs this suite again against the release binary).
    static func executable() throws -> String {
        let path = BeamshBinary.path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw TestSetupError("beamsh is not built at \(path); run swift build")
        }
        return path
    }

    static func write(_ bytes: [UInt8]) throws -> String {
        let path = NSTemporaryDirectory() + "beamsh-decode-" + TestNode.randomToken(10) + ".etf"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    static let sample: Term = .map([
        (key: .atom("a"), value: [1, 2.5, .binary("x")]),
        (key: .atom("b"), value: .tuple([.ok, .charlist("abc"), .atom("Elixir.Foo")])),
    ])

    @Test(arguments: [nil, Int32(6)])
    func printsInEverySyntax(compression: Int32?) throws {
        let beamsh = try Self.executable()
        let path = try Self.write(try TermEncoder(compressionLevel: compression).encode(Self.sample))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let elixir = try runProcess(beamsh, ["decode", path])
        #expect(elixir.status == 0)
        #expect(elixir.stdout == "%{a: [1, 2.5, \"x\"], b: {:ok, ~c\"abc\", Foo}}\n")
        let erlang = try runProcess(beamsh, ["decode", "--erlang", path])
        #expect(erlang.stdout == "#{a => [1,2.5,<<\"x\">>],b => {ok,\"abc\",'Elixir.Foo'}}\n")
        let json = try runProcess(beamsh, ["decode", "--json", path])
        #expect(json.stdout == "{\"a\":[1,2.5,\"x\"],\"b\":{\"$tuple\":[\"ok\",[97,98,99],\"Elixir.Foo\"]}}\n")
    }

    /// `--json --pretty` indents by two spaces; options that do not go together are usage errors (64).
    @Test func prettyJSONAndOptionMistakes() throws {
        let beamsh = try Self.executable()
        let path = try Self.write(try TermEncoder().encode(Self.sample))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let pretty = try runProcess(beamsh, ["decode", "--json", "--pretty", path])
        #expect(pretty.status == 0)
        #expect(pretty.stdout == """
            {
              "a": [
                1,
                2.5,
                "x"
              ],
              "b": {
                "$tuple": [
                  "ok",
                  [
                    97,
                    98,
                    99
                  ],
                  "Elixir.Foo"
                ]
              }
            }

            """, "\(pretty.stdout)")
        for (options, message) in [(["--erlang", "--json"], "--erlang and --json cannot be combined"),
                                   (["--pretty"], "--pretty applies to --json only"), (["--bogus"], "--bogus")] {
            let wrong = try runProcess(beamsh, ["decode"] + options + [path])
            #expect(wrong.status == 64 && wrong.stderr.contains(message) && wrong.stdout.isEmpty, "\(options): \(wrong.status) \(wrong.stderr)")
        }
    }

    /// A file written by a real `erlang:term_to_binary/2` with compression.
    @Test func decodesWhatTheBEAMWrote() throws {
        guard let runtime = ErlangRuntime.system else { throw TestSetupError("Debian's erlang missing") }
        let beamsh = try Self.executable()
        let path = NSTemporaryDirectory() + "beamsh-decode-" + TestNode.randomToken(10) + ".etf"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try runtime.eval("ok = file:write_file(\"\(path)\", term_to_binary({lists:seq(1, 100), <<\"é\"/utf8>>}, [compressed])),")
        let result = try runProcess(beamsh, ["decode", path])
        let list = (1...100).map(String.init).joined(separator: ", ")
        #expect(result.status == 0)
        #expect(result.stdout == "{[\(list)], \"é\"}\n")
    }

    @Test func badInputNamesTheOffset() throws {
        let beamsh = try Self.executable()
        // {1, <tag 200>}: the unknown tag is the sixth byte.
        let path = try Self.write([131, 104, 2, 97, 1, 200])
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try runProcess(beamsh, ["decode", path])
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr == "beamsh: decode: unknown tag 200 (at byte 5)\n")
    }

    /// A term on standard input, with no FILE and with `-`, plain and compressed: the same text as
    /// from a file.
    @Test(arguments: [nil, Int32(6)])
    func decodesATermFromStandardInput(compression: Int32?) throws {
        let beamsh = try Self.executable()
        let path = try Self.write(try TermEncoder(compressionLevel: compression).encode(Self.sample))
        defer { try? FileManager.default.removeItem(atPath: path) }
        for arguments in ["decode", "decode -", "decode --erlang -"] {
            let piped = try runProcess("/bin/sh", ["-c", "\"$0\" \(arguments) < \"$1\"", beamsh, path])
            let fromFile = try runProcess(beamsh, arguments.split(separator: " ").dropLast(arguments.hasSuffix(" -") ? 1 : 0).map(String.init) + [path])
            #expect(piped.status == 0, "\(arguments): \(piped.stderr)")
            #expect(piped.stdout == fromFile.stdout && !piped.stdout.isEmpty, "\(arguments)")
        }
    }

    @Test func readsStandardInput() throws {
        let beamsh = try Self.executable()
        let result = try runProcess(beamsh, ["decode", "-"], stdin: "")
        #expect(result.status == 1)
        #expect(result.stderr == "beamsh: decode: empty input: no term (at byte 0)\n")
        let missing = try runProcess(beamsh, ["decode", "/nonexistent/term.etf"])
        #expect(missing.status == 1)
        #expect(missing.stderr.hasPrefix("beamsh: decode: cannot open /nonexistent/term.etf"))
    }
}
