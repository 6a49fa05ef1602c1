import ArgumentParser
import ErlangDistribution
import ErlangTerm
import NIOPosix

extension Beamsh {
    /// `beamsh NODE ...`: the console and its one-shot modes.
    struct Console: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "console",
            abstract: "Connect to NODE (the default command).")

        @Argument(help: ArgumentHelp("The node: name@host, where host is a short name, an FQDN, an IPv4 or an IPv6 address.", valueName: "node"))
        var node: String

        @OptionGroup var connection: ConnectionOptions

        @Option(parsing: .remaining, help: ArgumentHelp(
            "Call MODULE:FUNCTION(ARG...) through rex and print the result; ARGs are Erlang terms. Must come last.",
            valueName: "module function arg"))
        var rpc: [String] = []

        func validate() throws {
            if !rpc.isEmpty && rpc.count < 2 { throw ValidationError("--rpc needs a MODULE and a FUNCTION") }
        }

        func run() async throws {
            let target = parseNodeName(node)
            let (options, _) = connection.connectOptions()
            guard !rpc.isEmpty else {
                printError("the interactive console is not built yet; use --rpc MODULE FUNCTION [ARG ...]")
                exitNow(.remoteFailure)
            }
            await RPCOneShot.run(target: target, options: options, call: rpc)
        }
    }
}
