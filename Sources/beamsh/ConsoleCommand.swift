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
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let connected: NodeConnection
            do {
                connected = try await NodeConnection.connect(to: target, options: options, group: group)
            } catch {
                fail(error)
            }
            guard !rpc.isEmpty else {
                printError("the interactive console is not built yet; use --rpc MODULE FUNCTION [ARG ...]")
                exitNow(.remoteFailure)
            }
            // Arguments are read locally, so a typo costs no round trip.
            var arguments: [Term] = []
            for text in rpc.dropFirst(2) {
                do {
                    arguments.append(try ErlangTermParser().parse(text))
                } catch {
                    printError("--rpc argument '\(text)': \(error)")
                    exitNow(.remoteFailure)
                }
            }
            var printOptions = ErlangFormatter.Options()
            printOptions.localNode = connected.peerNodeAtom
            let printer = ErlangFormatter(options: printOptions)
            do {
                let result = try await connected.rpc(Atom(rpc[0]), Atom(rpc[1]), arguments)
                print(printer.format(result))
                exitNow(.success)
            } catch let error as DistributionError {
                if let reason = error.reason {
                    printError("\(error.description): \(printer.format(reason))")
                    exitNow(.remoteFailure)
                }
                fail(error)
            }
        }
    }
}
