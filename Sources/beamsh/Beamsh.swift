// The beamsh executable: argument parsing and dispatch only. Behaviour lives in the
// libraries (ErlangTerm, ErlangDistribution, RemoteShell).

import ArgumentParser

/// `beamsh`: a native remote console for Erlang and Elixir nodes.
@main
struct Beamsh: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "beamsh",
        abstract: "A native remote console for Erlang and Elixir (BEAM) nodes.",
        subcommands: [Decode.self]
    )
}
