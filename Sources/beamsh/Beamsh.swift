// The beamsh executable: argument parsing, modes and exit codes only. Everything else lives
// in the library layers below.

import ArgumentParser

@main
struct Beamsh: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "beamsh",
        abstract: "A native remote console for running Erlang and Elixir nodes.",
        discussion: """
            Connects to NODE as a hidden distribution node (it never joins the cluster) using \
            the shared cookie, and evaluates on the node by RPC.

            Exit codes: 0 success, 1 the remote evaluation or call failed, 2 could not connect \
            (DNS, EPMD, refused, timeout, name mismatch), 3 authentication rejected (cookie).
            """,
        version: "0.1.0",
        subcommands: [Console.self, Names.self, Doctor.self, Discover.self, Cluster.self, Info.self, Top.self],
        defaultSubcommand: Console.self
    )
}
