// The beamsh executable: argument parsing, modes and exit codes only. Everything else lives
// in the library layers below.

import ArgumentParser

@main
enum Main {
    /// `beamsh NODE ...` is parsed by the console command alone: the same parse as through
    /// the command tree (it is the default subcommand), without reflecting over every other
    /// subcommand first, which would cost a one-shot call more than its whole network work.
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let first = arguments.first, !first.hasPrefix("-"),
            !Beamsh.configuration.subcommands.contains(where: { $0._commandName == first })
        {
            await Beamsh.Console.main(arguments)
        } else {
            await Beamsh.main(arguments)
        }
    }
}

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
        subcommands: [Console.self, Names.self, Doctor.self, Decode.self],
        defaultSubcommand: Console.self
    )
}
