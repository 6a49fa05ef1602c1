// `beamsh decode`: print a term_to_binary file.

import ArgumentParser
import ErlangTerm

extension Beamsh {
    /// Reads external term format bytes (compressed or not) and prints the term.
    struct Decode: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "decode",
            abstract: "Print a term_to_binary file (compressed or not) as Elixir, Erlang or JSON.",
            discussion: "Bad input exits with status 1 and one line naming the byte offset of the problem."
        )

        @Flag(help: "Print in Erlang syntax (like ~p) instead of Elixir's.")
        var erlang = false

        @Flag(help: "Print the JSON mapping described in the README.")
        var json = false

        @Flag(help: "With --json: indent the output.")
        var pretty = false

        @Argument(help: "The file to read; - or nothing for standard input.")
        var file: String = "-"

        func validate() throws {
            if erlang && json { throw ValidationError("--erlang and --json cannot be combined") }
            if pretty && !json { throw ValidationError("--pretty applies to --json only") }
        }

        func run() async throws {
            let bytes: [UInt8]
            do {
                bytes = try InputFile.readAll(file)
            } catch {
                throw BeamshExit.report("decode", error.description)
            }
            let term: Term
            do {
                term = try TermDecoder().decode(bytes)
            } catch {
                throw BeamshExit.report("decode", error.description)
            }
            // Written as it is made: a large term's text is never whole in memory.
            let write: (String) -> Void = { print($0, terminator: "") }
            if json {
                var options = TermJSON.Options()
                options.pretty = pretty
                TermJSON(options: options).encode(term, to: write)
            } else if erlang {
                ErlangFormatter().format(term, to: write)
            } else {
                ElixirFormatter().format(term, to: write)
            }
            print()
        }
    }
}
