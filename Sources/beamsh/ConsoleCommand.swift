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
            do {
                let arguments = try await RPCArguments.parse(Array(rpc.dropFirst(2)), on: connected)
                let result = try await connected.rpc(Atom(rpc[0]), Atom(rpc[1]), arguments)
                print(try await RPCArguments.format(result, on: connected))
                exitNow(.success)
            } catch let error as DistributionError {
                if let reason = error.reason {
                    printError("\(error.description): \((try? await RPCArguments.format(reason, on: connected)) ?? "")")
                    exitNow(.remoteFailure)
                }
                fail(error)
            }
        }
    }
}

/// Erlang-syntax arguments and printing for `--rpc`, done by the node's own parser and printer.
enum RPCArguments {
    static func parse(_ texts: [String], on connection: NodeConnection) async throws -> [Term] {
        var terms: [Term] = []
        for text in texts {
            let scanned = try await connection.rpc("erl_scan", "string", [.charlist(text + ".")])
            guard case .tuple(let s) = scanned, s.count == 3, s[0] == .atom("ok") else {
                throw DistributionError(.remoteCallFailed, "cannot read argument '\(text)' as an Erlang term")
            }
            let parsed = try await connection.rpc("erl_parse", "parse_term", [s[1]])
            guard case .tuple(let p) = parsed, p.count == 2, p[0] == .atom("ok") else {
                throw DistributionError(.remoteCallFailed, "cannot read argument '\(text)' as an Erlang term")
            }
            terms.append(p[1])
        }
        return terms
    }

    static func format(_ term: Term, on connection: NodeConnection) async throws -> String {
        let text = try await connection.rpc("io_lib", "format", [.charlist("~tp"), [term]])
        let flat = try await connection.rpc("unicode", "characters_to_binary", [text])
        return flat.stringValue ?? "\(flat)"
    }
}
