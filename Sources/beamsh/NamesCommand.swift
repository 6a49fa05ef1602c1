import ArgumentParser
import ErlangDistribution
import NIOPosix
import RemoteShell

extension Beamsh {
    /// `beamsh names [HOST]`: what EPMD on a host has registered, like `epmd -names`.
    struct Names: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "names",
            abstract: "List the nodes registered with EPMD on a host (like epmd -names).")

        @Argument(help: "The host to ask (default: this host).")
        var host: String = "localhost"

        @Option(name: .customLong("epmd-port"), parsing: .unconditional, help: "EPMD's port (default: $ERL_EPMD_PORT or 4369).")
        var epmdPort: Int?

        @Option(help: "Output format: text (one `name N at port P` line each) or json (an array of {name, port}).")
        var format: OutputFormat = .text

        func validate() throws {
            if let epmdPort { try checkPort(epmdPort, "--epmd-port") }
        }

        func run() async throws {
            if format == .json { FailureDocument.enable() }
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let port = resolvedEPMDPort(epmdPort)
            do {
                let names = try await EPMDClient.names(host: host, epmdPort: port, group: group)
                switch format {
                case .text:
                    for entry in names { print("name \(entry.alive) at port \(entry.port)") }
                    if names.isEmpty { printError("EPMD on \(host) has no nodes registered") }
                case .json:
                    print(JSONValue.array(names.map {
                        .object([("name", .string($0.alive)), ("port", .number($0.port))])
                    }).serialized())
                }
            } catch {
                fail(error)
            }
            exitNow(.success)
        }
    }
}
