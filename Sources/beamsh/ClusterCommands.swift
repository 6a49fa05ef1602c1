// Cluster operations: discover, cluster (mesh check and fan-out), info, top. The views live in
// RemoteShell/Cluster; these commands parse arguments, print and choose the exit code.

import ArgumentParser
import ErlangDistribution
import ErlangTerm
import NIOCore
import NIOPosix
import RemoteShell

/// `--format text|json`.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

extension TopOrder: ExpressibleByArgument {}

/// Seconds as a Duration.

/// The basename `RELEASE_NODE` implies (the part before `@`; empty for `@host`, which
/// `checkedBasename` then refuses).
func defaultBasename() -> String? {
    guard let node = ProcessEnvironment.current["RELEASE_NODE"], !node.isEmpty else { return nil }
    return String(node.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false).first ?? Substring(node))
}

/// `name` when it can be the part of a node name before `@`; else a usage error (exit 64) said
/// before anything is looked up: discovery would name every address with it first.
func checkedBasename(_ name: String, fromOption: Bool) -> String {
    let source = fromOption ? "--basename '\(name)'" : "RELEASE_NODE's name part '\(name)'"
    let problem: String? =
        name.isEmpty ? "is empty"
        : name.utf8.contains(UInt8(ascii: "@")) ? "is a node name: give the part before '@' (--basename \(name.split(separator: "@").first ?? ""))"
        : name.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 }) ? "has blanks or control characters"
        : nil
    guard let problem else { return name }
    printError("\(source) \(problem)")
    exitNow(.usage)
}

/// `--port` and `--address` say where one node is; with `--dns` they would send every node
/// found to the same place.
func checkNoFixedAddress(_ connection: ConnectionOptions, dns: String?) throws {
    if dns != nil && (connection.port != nil || connection.address != nil) {
        throw ValidationError("--port and --address give one node's address; --dns finds the addresses (EPMD's port is --epmd-port)")
    }
}

/// A `--dns` or `discover` query: a DNS name, not empty or blank.
func checkQuery(_ query: String, _ what: String) throws {
    if query.isEmpty || query.unicodeScalars.allSatisfy({ $0.properties.isWhitespace }) {
        throw ValidationError("\(what) needs a DNS name (got '\(query)')")
    }
}

/// `--dns QUERY [--basename NAME]`: finding nodes the dns_cluster way, for `cluster`, `info`, `top`
/// and the console.
struct DNSOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Find nodes through DNS, as dns_cluster does: QUERY's AAAA and A records name NAME@ADDRESS nodes, each checked in EPMD (see `beamsh discover`).", valueName: "query"))
    var dns: String?

    @Option(help: ArgumentHelp("The node basename for --dns (default: $RELEASE_NODE's).", valueName: "name"))
    var basename: String?

    /// `--basename`, else `RELEASE_NODE`'s; exits with the fix when neither is there.
    func resolvedBasename() -> String {
        guard let name = basename ?? defaultBasename() else {
            printError("--dns needs --basename NAME or RELEASE_NODE")
            exitNow(.usage)  // a missing part of the command line, like a missing NODE
        }
        return checkedBasename(name, fromOption: basename != nil)
    }

    func validate() throws {
        if let dns { try checkQuery(dns, "--dns") }
    }
}

/// `--dns QUERY` for one node (the console, `info`, `top`): the first registered node that takes
/// the connection, in discovery order, or the picked one (`.index`). EPMD is asked on every
/// address at once, but only the answers up to the node used are waited for: an EPMD that does
/// not answer further down the list costs nothing. A node passed over is named on stderr, with
/// why. Exits as every command does when no node will do.
func connectToDiscovered(
    query: String, basename: String, pick: DiscoveryPick, options: ConnectOptions, group: MultiThreadedEventLoopGroup
) async -> NodeConnection {
    var addresses: [(address: String, family: Int)]
    do {
        addresses = try Discovery.resolve(query)
    } catch {
        fail(error)
    }
    if case .index(let n) = pick {
        guard addresses.indices.contains(n - 1) else {
            let names = Discovery.nodeNames(basename: basename, addresses: addresses.map(\.address))
            fail(DistributionError(.notRegistered, "--pick \(n): \(query) gave \(addresses.count) node\(addresses.count == 1 ? "" : "s") ("
                + names.enumerated().map { "\($0.offset + 1). \($0.element)" }.joined(separator: "; ") + ")"))
        }
        addresses = [addresses[n - 1]]
    }
    return await Discovery.inOrder(addresses: addresses, basename: basename, epmdPort: options.epmdPort, group: group,
                                   timeout: options.connectTimeout) { checks -> NodeConnection in
        var seen: [DiscoveredNode] = []
        var lastError: DistributionError?
        for (i, check) in checks.enumerated() {
            let node = await check.value
            seen.append(node)
            let isLast = i == checks.count - 1
            guard node.isRegistered else {
                if case .index(let n) = pick { fail(Discovery.unusable(node, pick: n)) }
                if !isLast { printWarning("\(node.name): \(node.statusText) (trying the next discovered node)") }
                continue
            }
            do throws(DistributionError) {
                return try await NodeConnection.connect(to: parseNodeName(node.name), options: options, group: group)
            } catch {
                // A rejected cookie stops the search: the cluster shares one cookie, so every
                // other node would reject it too. Which node it was is said: the rest of the
                // message does not name it.
                if error.kind == .authenticationFailed {
                    var named = DistributionError(error.kind, "\(node.name): \(error.description)", reason: error.reason)
                    named.reachedNode = error.reachedNode
                    fail(named)
                }
                if isLast { fail(error) }
                // (A connection error names the node already.)
                printWarning("\(error.description) (trying the next discovered node)")
                lastError = error
            }
        }
        if let lastError { fail(lastError) }
        do {
            _ = try Discovery.candidates(seen, query: query, pick: .firstReachable)
        } catch {
            fail(error)
        }
        fail(DistributionError(.notRegistered, "no node discovered through \(query)"))
    }
}

/// `--dns QUERY [--basename NAME] [--pick N]` for a command that works on one node.
struct OneNodeDNSOptions: ParsableArguments {
    @OptionGroup var discovery: DNSOptions

    @Option(parsing: .unconditional, help: ArgumentHelp("With --dns: the Nth discovered node (1-based, as `beamsh discover` lists them); by default the first registered one that answers.", valueName: "n"))
    var pick: Int?

    func check(node: String?) throws {
        if discovery.dns == nil && (pick != nil || discovery.basename != nil) { throw ValidationError("--pick and --basename go with --dns QUERY") }
        if discovery.dns != nil && node != nil { throw ValidationError("give a NODE or --dns QUERY, not both") }
        if let pick, pick < 1 { throw ValidationError("--pick counts from 1") }
    }

    /// The connection: to NODE (or `RELEASE_NODE`'s), or to the node `--dns` finds. A mistake in
    /// the name or a missing basename is said before `options` (the cookie) is read.
    func connect(node: String?, options: () -> ConnectOptions, group: MultiThreadedEventLoopGroup) async -> NodeConnection {
        if let dns = discovery.dns {
            let basename = discovery.resolvedBasename()
            return await connectToDiscovered(query: dns, basename: basename, pick: pick.map { .index($0) } ?? .firstReachable,
                                             options: options(), group: group)
        }
        let target = parseNodeName(nodeOrReleaseNode(node))
        do {
            return try await NodeConnection.connect(to: target, options: options(), group: group)
        } catch {
            fail(error)
        }
    }
}

extension Beamsh {
    /// `beamsh discover QUERY --basename NAME`.
    struct Discover: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "discover",
            abstract: "Find nodes the dns_cluster way: resolve QUERY's AAAA and A records, name NAME@ADDRESS for each, ask EPMD on each.",
            discussion: "Exit 0 when at least one discovered node is registered with EPMD, 2 otherwise.")

        @Argument(help: ArgumentHelp("The DNS name to resolve (default: $DNS_CLUSTER_QUERY).", valueName: "query"))
        var query: String?

        @Option(help: ArgumentHelp("The node basename, the part before '@' (default: $RELEASE_NODE's).", valueName: "name"))
        var basename: String?

        @Option(name: .customLong("epmd-port"), parsing: .unconditional, help: "EPMD's port (default: $ERL_EPMD_PORT or 4369).")
        var epmdPort: Int?

        @Option(parsing: .unconditional, help: ArgumentHelp("Seconds to wait for each EPMD.", valueName: "seconds"))
        var timeout: Double = 3

        @Option(help: "Output format: text or json.")
        var format: OutputFormat = .text

        @Option(help: ArgumentHelp("Read RELEASE_NODE, DNS_CLUSTER_QUERY and the rest from this Mix release, as its bin/app does.", valueName: "dir"))
        var release: String?

        func validate() throws {
            if let epmdPort { try checkPort(epmdPort, "--epmd-port") }
            try checkSeconds(timeout, "--timeout")
            if let query { try checkQuery(query, "discover") }
        }

        func run() async throws {
            if format == .json { FailureDocument.enable() }
            let env = ProcessEnvironment.current
            guard let query = query ?? env["DNS_CLUSTER_QUERY"], !query.isEmpty else {
                printError("give a QUERY or set DNS_CLUSTER_QUERY")
                exitNow(.usage)
            }
            guard let named = basename ?? defaultBasename() else {
                printError("give --basename NAME or set RELEASE_NODE")
                exitNow(.usage)
            }
            let basename = checkedBasename(named, fromOption: self.basename != nil)
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let nodes: [DiscoveredNode]
            do {
                nodes = try await Discovery.discover(
                    query: query, basename: basename, epmdPort: resolvedEPMDPort(epmdPort),
                    group: group, timeout: .nanoseconds(Int64(timeout * 1e9)))
            } catch {
                fail(error)
            }
            // Found nothing registered: 2, as for a node that cannot be reached.
            let status: ExitStatus = nodes.contains(where: \.isRegistered) ? .success : .connectFailure
            switch format {
            case .json:
                print(JSONValue.object([("query", .string(query)), ("basename", .string(basename)),
                                        ("exit_code", .number(Int(status.rawValue))),
                                        ("nodes", .array(nodes.map(\.json)))]).serialized())
                FailureDocument.markReported()
            case .text:
                let v6 = nodes.filter { $0.family == 6 }.map(\.address)
                let v4 = nodes.filter { $0.family == 4 }.map(\.address)
                print("\(query): AAAA \(v6.isEmpty ? "none" : v6.joined(separator: ", ")); A \(v4.isEmpty ? "none" : v4.joined(separator: ", "))")
                var table = TextTable(header: ["node", "epmd"])
                for n in nodes { table.add([n.name, n.statusText]) }
                print(table.render())
            }
            exitNow(status)
        }
    }

    /// `beamsh cluster NODE` / `--dns QUERY` / `--eval EXPR`.
    struct Cluster: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cluster",
            abstract: "Check the whole cluster from NODE: who sees whom, missing links, versions, uptime, memory per node; or --eval on every node.",
            discussion: """
                Without NODE, --dns defaults to $DNS_CLUSTER_QUERY. Connects hidden to every member at once. Exit codes: 0 the mesh is complete, 1 it is not \
                (a missing or one-way link, a node that cannot be reached, a DNS node outside the cluster), \
                2/3 the first node cannot be reached / rejects the cookie. With --eval: the worst of the nodes' \
                codes (0 value, 1 evaluation failed, 2 unreachable, 3 cookie rejected).
                """)

        @Argument(help: ArgumentHelp("Any node of the cluster: name@host.", valueName: "node"))
        var node: String?

        /// Without NODE, `--dns` defaults to `$DNS_CLUSTER_QUERY`.
        @OptionGroup var discovery: DNSOptions

        @Option(parsing: .unconditional, help: ArgumentHelp("Evaluate EXPR on every node (Elixir on Elixir nodes, Erlang otherwise) and print a table.", valueName: "expr"))
        var eval: String?

        @Flag(help: "With --eval: allow calls that stop the nodes (System.stop, :init.stop, halt...); refused otherwise.")
        var yes = false

        @Flag(name: .customLong("read-only"), help: "With --eval: only the core commands and calls without side effects (Node.list, Process.info, :erlang.memory...).")
        var readOnly = false

        @Option(parsing: .unconditional, help: ArgumentHelp("Seconds each node may take for each step.", valueName: "seconds"))
        var timeout: Double = 10

        @Option(parsing: .unconditional, help: ArgumentHelp("Exit 1 unless the cluster has at least N nodes: a cluster split apart looks complete from either side.",
                                   valueName: "n"))
        var expect: Int?

        @Option(help: "Output format: text or json.")
        var format: OutputFormat = .text

        @OptionGroup var connection: ConnectionOptions

        func validate() throws {
            try checkSeconds(timeout, "--timeout")
            try checkNoFixedAddress(connection, dns: discovery.dns)
            if eval == nil && (yes || readOnly) { throw ValidationError("--yes and --read-only go with --eval") }
            if let expect, expect < 1 { throw ValidationError("--expect counts nodes: 1 or more") }
            if eval != nil && expect != nil { throw ValidationError("--expect goes with the mesh check, not --eval") }
        }

        func run() async throws {
            if format == .json { FailureDocument.enable() }
            let env = ProcessEnvironment.current
            let query = discovery.dns ?? (node == nil ? env["DNS_CLUSTER_QUERY"] : nil)
            // A missing basename is the command line's mistake: said before the cookie is looked for.
            let basename = query?.isEmpty == false ? discovery.resolvedBasename() : ""
            var (options, _) = connection.connectOptions()
            options.connectTimeout = .nanoseconds(Int64(min(connection.connectTimeout, timeout) * 1e9))
            options.handshakeTimeout = options.connectTimeout
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)

            var discovered: [DiscoveredNode] = []
            if let query, !query.isEmpty {
                do {
                    discovered = try await Discovery.discover(query: query, basename: basename, epmdPort: options.epmdPort,
                                                              group: group, timeout: options.connectTimeout)
                } catch {
                    fail(error)
                }
            }
            // The seed: NODE; else, inside a release, its own node (RELEASE_NODE), with DNS
            // ($DNS_CLUSTER_QUERY) naming the nodes that should be in the cluster; else the first
            // node DNS finds registered.
            let seedText: String
            var seedConnection: NodeConnection?
            if let node {
                seedText = node
            } else if discovery.dns == nil, !(ProcessEnvironment.current["RELEASE_NODE"] ?? "").isEmpty {
                seedText = nodeOrReleaseNode(nil)
            } else if discovered.contains(where: \.isRegistered) {
                // The first registered node that takes the connection, as the console picks its
                // node: one that refuses it or answers with another name is passed over (it is
                // probed again with the others, and reported as what it is).
                (seedText, seedConnection) = await Self.firstReachableSeed(discovered, options: options, group: group)
            } else if !discovered.isEmpty, format == .json {
                // The report's own shape, its seed the first node DNS named (reported as not
                // registered, the others with it): a health check reads `.nodes` as always.
                seedText = discovered[0].name
            } else if !discovered.isEmpty {
                printError("no discovered node is registered with EPMD: " + discovered.map { "\($0.name): \($0.statusText)" }.joined(separator: "; "))
                exitNow(.connectFailure)
            } else {
                printError("give a NODE or --dns QUERY, or set RELEASE_NODE or DNS_CLUSTER_QUERY")
                exitNow(.usage)
            }
            let seed = parseNodeName(seedText)
            var clusterOptions = ClusterOptions(connect: options, timeout: duration(timeout), discovered: discovered)
            // Every connection stays open until the report is printed; exiting closes them.
            clusterOptions.finished = FinishedConnections()

            if let eval {
                if let refusal = FanoutEvaluator.refusal(eval, allowStops: yes, readOnly: readOnly) {
                    printError(refusal)
                    exitNow(.remoteFailure)
                }
                clusterOptions.readOnly = readOnly
                clusterOptions.allowStops = yes
                clusterOptions.wantValues = format == .json
                let report: FanoutReport
                do {
                    report = try await ClusterInspector.evaluateEverywhere(eval, seed: seed, seedConnection: seedConnection,
                                                                           options: clusterOptions, group: group)
                } catch {
                    if format == .json {
                        // The report's own shape, the seed its one result: a script reading
                        // `.results` reads this failure as any other node's.
                        let failed = FanoutReport(seed: seed.description, expression: eval,
                                                  results: [FanoutResult(node: seed.description, language: nil, outcome: .unreachable(error))],
                                                  elapsed: .zero)
                        print(failed.json.serialized())
                        FailureDocument.markReported()
                    }
                    fail(error)
                }
                print(format == .json ? report.json.serialized()
                      : report.render(terminalWidth: isatty(STDOUT_FILENO) == 1 ? Self.terminalColumns() : nil))
                FailureDocument.markReported()
                exitNow(ExitStatus(rawValue: report.exitCode) ?? .remoteFailure)
            }

            let report = await ClusterInspector.inspect(seed: seed, seedConnection: seedConnection, options: clusterOptions, group: group)
            // A seed that cannot be reached, with nothing else to show: one line, not an empty table.
            if case .unreachable(let error)? = report.outcomes[seed.description], format == .text, report.members.count == 1,
               report.outsiders.isEmpty {
                fail(error)
            }
            let enough = expect.map { report.members.count >= $0 } ?? true
            var seedError: DistributionError?
            if case .unreachable(let error)? = report.outcomes[seed.description] { seedError = error }
            let status = seedError.map(ExitStatus.init) ?? (report.isComplete && enough ? .success : .remoteFailure)
            // A node that rejected the cookie: say where ours came from (never its value).
            let rejected = report.outcomes.values.contains {
                if case .unreachable(let e) = $0 { return e.kind == .authenticationFailed }
                return false
            }
            let cookieSource = rejected ? cookieSourceInUse.withLockedValue({ $0 }) : nil
            switch format {
            case .json:
                guard case .object(var pairs) = report.json else { preconditionFailure("a report is an object") }
                pairs.insert(("exit_code", .number(Int(status.rawValue))), at: 1)
                if let expect { pairs += [("expected_nodes", .number(expect)), ("enough_nodes", .bool(enough))] }
                if let cookieSource { pairs.append(("cookie_source", .string(cookieSource.description))) }
                print(JSONValue.object(pairs).serialized())
                FailureDocument.markReported()
                // Standard error says why, as in text mode, for whoever watches the script run.
                if let seedError { printError(seedError.description + (cookieSource.map { "; our cookie came from \($0)" } ?? "")) }
            case .text:
                var text = report.render(width: isatty(STDOUT_FILENO) == 1 ? Self.terminalColumns() : nil)
                if let expect, !enough {
                    text += "\nfewer nodes than expected: \(report.members.count) of at least \(expect) (--expect)"
                }
                if let cookieSource { text += "\nour cookie came from \(cookieSource)" }
                print(text)
            }
            exitNow(status)
        }
    }

}

extension Beamsh.Cluster {
    /// The width of the terminal on standard output, or nil when it is not one.
    static func terminalColumns() -> Int? {
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
        return Int(size.ws_col)
    }

    /// The first registered discovered node that takes the connection, with that connection;
    /// the last registered one (unconnected) when none does, so the report says why. A rejected
    /// cookie stops the search: every node shares it.
    static func firstReachableSeed(
        _ discovered: [DiscoveredNode], options: ConnectOptions, group: EventLoopGroup
    ) async -> (name: String, connection: NodeConnection?) {
        let registered = discovered.filter(\.isRegistered)
        for (i, node) in registered.enumerated() {
            guard i < registered.count - 1 else { break }
            do throws(DistributionError) {
                return (node.name, try await NodeConnection.connect(to: parseNodeName(node.name), options: options, group: group))
            } catch {
                if error.kind == .authenticationFailed { return (node.name, nil) }
                printWarning("\(error.description) (trying the next discovered node as the seed)")
            }
        }
        return (registered.last!.name, nil)
    }
}

extension Beamsh {
    /// `beamsh info NODE`.
    struct Info: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "info",
            abstract: "One node in detail: versions, uptime, schedulers, processes/ports/atoms/ETS used vs limits, memory by type, applications.")

        @Argument(help: ArgumentHelp("The node: name@host, or a bare name on this host (default: $RELEASE_NODE; or --dns QUERY).", valueName: "node"))
        var node: String?

        @Option(parsing: .unconditional, help: ArgumentHelp("Seconds to wait for each answer.", valueName: "seconds"))
        var timeout: Double = 10

        @Option(help: "Output format: text or json.")
        var format: OutputFormat = .text

        @OptionGroup var dns: OneNodeDNSOptions

        @OptionGroup var connection: ConnectionOptions

        func validate() throws {
            try checkSeconds(timeout, "--timeout")
            try dns.check(node: node)
            try checkNoFixedAddress(connection, dns: dns.discovery.dns)
        }

        func run() async throws {
            if format == .json { FailureDocument.enable() }
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let connected = await dns.connect(node: node, options: { connection.connectOptions().0 }, group: group)
            do {
                let info = try await NodeInfo.fetch(from: connected, timeout: duration(timeout))
                print(format == .json ? info.json.serialized() : info.render())
                exitNow(.success)
            } catch let error as DistributionError {
                failShowingReason(error)
            }
        }
    }

    /// `beamsh top NODE`.
    struct Top: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "top",
            abstract: "The busiest processes of NODE, refreshed in place until Ctrl-C (printed once when output is not a terminal).",
            discussion: """
                Each refresh is one process on the node, linked to beamsh: the node's own erl_eval runs a fixed \
                sampler that calls only erlang:processes/0 and erlang:process_info/2 through compiled list and \
                match-spec functions, in chunks, and returns just the top N. Reductions are the delta over \
                --interval. A sampler still running after --interval plus --timeout is stopped.
                """)

        @Argument(help: ArgumentHelp("The node: name@host, or a bare name on this host (default: $RELEASE_NODE; or --dns QUERY).", valueName: "node"))
        var node: String?

        @Option(help: "Rank by memory, reductions (delta per interval), message_queue, or binary (bytes of off-heap binaries referenced).")
        var by: TopOrder = .reductions

        @Option(name: [.customShort("n"), .customLong("count")], parsing: .unconditional, help: "How many processes to show.")
        var count: Int = 20

        @Option(parsing: .unconditional, help: ArgumentHelp("Seconds per refresh (the reductions window).", valueName: "seconds"))
        var interval: Double = 2

        @Option(parsing: .unconditional, help: ArgumentHelp("Refresh this many times, then exit (default: until Ctrl-C in a terminal, once otherwise).", valueName: "n"))
        var iterations: Int?

        @Option(help: ArgumentHelp("Seconds a refresh may take on the node beyond --interval; a sampler still running then is stopped (exit 1).",
                                   valueName: "seconds"))
        var timeout: Double = 60

        @Option(help: "Output format: text or json (json prints one object per refresh).")
        var format: OutputFormat = .text

        @OptionGroup var dns: OneNodeDNSOptions

        @OptionGroup var connection: ConnectionOptions

        func validate() throws {
            if count < 1 { throw ValidationError("-n must be at least 1") }
            if let iterations, iterations < 1 { throw ValidationError("--iterations must be at least 1") }
            try checkSeconds(interval, "--interval", allowZero: true)
            // The node waits the interval in one `receive ... after`, whose limit is 2^32-1 ms.
            if interval > ProcessTop.maxIntervalSeconds {
                throw ValidationError("--interval must be at most \(Int(ProcessTop.maxIntervalSeconds)) seconds (about 49 days), the longest wait a node takes")
            }
            try checkSeconds(timeout, "--timeout")
            try dns.check(node: node)
            try checkNoFixedAddress(connection, dns: dns.discovery.dns)
        }

        func run() async throws {
            if format == .json { FailureDocument.enable() }
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let connected = await dns.connect(node: node, options: { connection.connectOptions().0 }, group: group)
            let terminal = isatty(STDOUT_FILENO) == 1
            let rounds = iterations ?? (terminal && format == .text ? Int.max : 1)
            let inPlace = terminal && format == .text && !isDumbTerminal
            // Refreshing until Ctrl-C, it lasts like a session: judged by the node's tick time.
            if rounds > 1 { Task { await connected.followPeerTickTime() } }
            do {
                // Reading the sampler is two quick calls: --timeout bounds them, between a second
                // (a --timeout meant for a refresh's sampling may be tiny) and the 30 s they had before.
                let top = try await ProcessTop(connection: connected, timeout: min(max(duration(timeout), .seconds(1)), .seconds(30)))
                if inPlace, rounds > 0 {
                    // The first frame comes after one interval: say what is happening meanwhile.
                    print("\u{1B}[H\u{1B}[2J\(connected.peer.name): sampling processes by \(by.rawValue) over \(interval) s…")
                    flushOutput()
                }
                let clock = ContinuousClock()
                for round in 0..<rounds {
                    let started = clock.now
                    let sample = try await top.sample(by: by, count: count, interval: duration(interval), timeout: duration(timeout))
                    if format == .json {
                        print(sample.json.serialized())
                    } else if inPlace {
                        // Home, clear, draw: the view refreshes in place; no more rows than the
                        // terminal has, or each refresh would scroll the header away.
                        let width = Beamsh.Cluster.terminalColumns()
                        var shown = sample
                        var lines = shown.render(width: width).split(separator: "\n", omittingEmptySubsequences: false)
                        if let rows = terminalRows() {
                            // Rows each line takes, wrapped at the terminal's width.
                            func fitting(_ lines: [Substring]) -> (count: Int, overflow: Int) {
                                var used = 0
                                var fit = 0
                                for line in lines {
                                    used += max(1, (line.count + (width ?? 80) - 1) / (width ?? 80))
                                    if used <= rows - 1 { fit += 1 }
                                }
                                return (fit, used - (rows - 1))
                            }
                            // Fewer processes where the terminal is short, so the title's "top N"
                            // counts the rows it shows (each process's row is one screen row).
                            var fit = fitting(lines)
                            if fit.overflow > 0, shown.processes.count > 1 {
                                shown.processes.removeLast(min(fit.overflow, shown.processes.count - 1))
                                lines = shown.render(width: width).split(separator: "\n", omittingEmptySubsequences: false)
                                fit = fitting(lines)
                            }
                            lines = Array(lines.prefix(max(fit.count, 1)))
                        }
                        print("\u{1B}[H\u{1B}[2J" + lines.joined(separator: "\n"), terminator: "\n")
                    } else {
                        if round > 0 { print("") }
                        // A terminal that cannot redraw (TERM=dumb) still has a width.
                        print(sample.render(width: terminal ? Beamsh.Cluster.terminalColumns() : nil))
                    }
                    // Output that cannot be written (a reader that stopped, a full disk) ends the
                    // refreshes: sampling on for no one costs the node.
                    if !flushOutput() { exitNow(.success) }
                    // Until Ctrl-C, refreshes start at most once a second: with a short --interval
                    // the node would otherwise sample back to back. (Refreshes counted with
                    // --iterations run as asked.)
                    if iterations == nil, round < rounds - 1 {
                        let elapsed = clock.now - started
                        if elapsed < Self.minimumRefresh { try await Task.sleep(for: Self.minimumRefresh - elapsed) }
                        // On a node where a refresh is heavy (a million processes), the sampler
                        // rests at least as long as it worked: at most half of one scheduler.
                        try await Task.sleep(for: sample.restBeforeNext)
                    }
                }
                exitNow(.success)
            } catch let error as DistributionError {
                failShowingReason(error)
            }
        }

        /// The shortest time between the starts of two refreshes when `top` runs until Ctrl-C.
        static let minimumRefresh: Duration = .seconds(1)

        private func terminalRows() -> Int? {
            var size = winsize()
            guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_row > 0 else { return nil }
            return Int(size.ws_row)
        }
    }
}

/// Like `fail(_:)`, with the reason a failed call on the node gave (a timeout's message says so
/// already), as the node's shell prints it.
private func failShowingReason(_ error: DistributionError) -> Never {
    guard error.kind == .remoteCallFailed, let reason = error.reason else { fail(error) }
    printError(error.isCallTimeout ? error.description : "\(error.description): \(ErlangFormatter().format(reason))")
    exitNow(.remoteFailure)
}
