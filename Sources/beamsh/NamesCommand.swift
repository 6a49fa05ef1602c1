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

        @Argument(help: "The host to ask, HOST or HOST:PORT ([V6]:PORT) for an EPMD on another port, such as an SSH tunnel's (default: this host).")
        var host: String = "localhost"

        @Option(name: .customLong("epmd-port"), parsing: .unconditional, help: "EPMD's port (default: $ERL_EPMD_PORT or 4369).")
        var epmdPort: Int?

        @Option(name: .customLong("connect-timeout"), parsing: .unconditional, help: ArgumentHelp("Seconds to wait for EPMD's answer.", valueName: "seconds"))
        var connectTimeout: Double = 5

        @Option(help: "Output format: text (one `name N at port P` line each) or json (an array of {name, port}).")
        var format: OutputFormat = .text

        /// HOST, and the port given with it (`localhost:14369`, `[::1]:4369`), if any.
        var hostAndPort: (host: String, port: Int?) {
            let (name, port) = AddressResolver.splitHostPort(host)
            // A bare IPv6 address has colons but no port.
            return port == nil ? (host.hasPrefix("[") ? name : host, nil) : (name, port)
        }

        func validate() throws {
            if let epmdPort { try checkPort(epmdPort, "--epmd-port") }
            try checkSeconds(connectTimeout, "--connect-timeout")
            if let port = hostAndPort.port {
                try checkPort(port, "the port in \(host)")
                if let epmdPort, epmdPort != port {
                    throw ValidationError("\(host) names EPMD's port \(port), --epmd-port \(epmdPort): give one")
                }
            }
        }

        func run() async throws {
            if format == .json { FailureDocument.enable() }
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let (host, given) = hostAndPort
            let port = given ?? resolvedEPMDPort(epmdPort)
            do {
                let names = try await EPMDClient.names(host: host, epmdPort: port, group: group,
                                                       timeout: .nanoseconds(Int64(connectTimeout * 1e9)))
                switch format {
                case .text:
                    // EPMD registers any bytes as a name: control characters are shown escaped.
                    for entry in names { print("name \(PeerText.printable(entry.alive)) at port \(entry.port)") }
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
