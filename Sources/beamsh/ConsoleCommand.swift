import ArgumentParser
import Dispatch
import ErlangDistribution
import ErlangTerm
import NIOPosix
import LineEditor
import RemoteShell

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension Beamsh {
    /// `beamsh NODE ...`: the console and its one-shot modes.
    struct Console: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "console",
            abstract: "Connect to NODE (the default command).")

        @Argument(help: ArgumentHelp("The node: name@host, where host is a short name, an FQDN, an IPv4 or an IPv6 address, or a bare name on this host. Default: $RELEASE_NODE, as `bin/app remote` does.", valueName: "node"))
        var node: String?

        @OptionGroup var connection: ConnectionOptions

        @Option(parsing: .remaining, help: ArgumentHelp(
            "Call MODULE:FUNCTION(ARG...) through rex and print the result; ARGs are Erlang terms. Must come last.",
            valueName: "module function arg"))
        var rpc: [String] = []

        @Option(name: .customLong("eval"), parsing: .unconditionalSingleValue, help: ArgumentHelp("Evaluate EXPR on the node, print the result and exit (repeatable; the binding carries over).", valueName: "expr"))
        var eval: [String] = []

        @Flag(help: "Erlang syntax, even on a node with Elixir.")
        var erlang = false

        @Flag(name: .customLong("read-only"), help: "Only the core commands and calls without side effects (Node.list, Process.info, :erlang.memory...); everything else is refused here.")
        var readOnly = false

        @Flag(help: "Do not ask before System.stop, :init.stop, q() and other calls that stop the remote node.")
        var yes = false

        @Option(parsing: .unconditional, help: ArgumentHelp("Seconds each evaluation or call may take (default: none at the prompt, 60 for --eval, --rpc and scripts).", valueName: "seconds"))
        var timeout: Double?

        @Option(help: ArgumentHelp("Result format for --eval, --rpc and scripts: text or json.", valueName: "format"))
        var format: String = "text"

        /// `--dns`: the console opens on the first discovered node that is registered and answers.
        @OptionGroup var discovery: DNSOptions

        @Option(parsing: .unconditional, help: ArgumentHelp("With --dns: the Nth discovered node (1-based, as `beamsh discover` lists them).", valueName: "n"))
        var pick: Int?

        @Flag(help: "With --dns and --eval: evaluate on every discovered node and print a table (exit code: the worst node's).")
        var all = false

        func validate() throws {
            if discovery.dns == nil && (pick != nil || all || discovery.basename != nil) { throw ValidationError("--pick, --all and --basename go with --dns QUERY") }
            if discovery.dns != nil && node != nil { throw ValidationError("give a NODE or --dns QUERY, not both") }
            try checkNoFixedAddress(connection, dns: discovery.dns)
            if pick != nil && all { throw ValidationError("--pick and --all exclude each other") }
            if let pick, pick < 1 { throw ValidationError("--pick counts from 1") }
            if all && eval.isEmpty { throw ValidationError("--all evaluates on every node: give --eval EXPR (the console opens on one node; see `beamsh cluster`)") }
            if all && !rpc.isEmpty { throw ValidationError("--all goes with --eval, not --rpc") }
            if !rpc.isEmpty && !eval.isEmpty { throw ValidationError("--rpc and --eval exclude each other: run one or the other") }
            // `.remaining` takes everything after --rpc, so a bare --rpc is the last argument.
            if rpc.isEmpty && CommandLine.arguments.last == "--rpc" { throw ValidationError("--rpc needs a MODULE and a FUNCTION") }
            if !rpc.isEmpty && rpc.count < 2 { throw ValidationError("--rpc needs a MODULE and a FUNCTION") }
            // (Erlang's operators `-` and `--` are functions of the erlang module: `--rpc erlang - 5 3`.)
            if let misplaced = rpc.prefix(2).first(where: { $0.hasPrefix("-") && $0 != "-" && $0 != "--" }) {
                throw ValidationError("--rpc MODULE FUNCTION: '\(misplaced)' is not a module or function name; beamsh's options go before --rpc")
            }
            // (With RELEASE_NODE set, a missing NODE is the release's node, and name@host an argument.)
            if node == nil && discovery.dns == nil && (ProcessEnvironment.current["RELEASE_NODE"] ?? "").isEmpty,
               let last = rpc.last, rpc.count > 2, Self.looksLikeNodeName(last) {
                throw ValidationError("the NODE goes before --rpc: beamsh \(last) --rpc \(rpc.dropLast().joined(separator: " "))")
            }
            if format != "text" && format != "json" { throw ValidationError("--format is text or json") }
            if let timeout { try checkSeconds(timeout, "--timeout") }
        }

        /// `name@host` with nothing an Erlang term would have (quotes, brackets, commas).
        static func looksLikeNodeName(_ text: String) -> Bool {
            guard let at = text.firstIndex(of: "@"), at != text.startIndex, text.index(after: at) != text.endIndex else { return false }
            return text.allSatisfy { $0.isLetter || $0.isNumber || "_-.@:".contains($0) }
        }

        func run() async throws {
            let invocation = ConsoleInvocation(
                node: node, connection: connection.settings, rpc: rpc, eval: eval, erlang: erlang, readOnly: readOnly,
                yes: yes, timeout: timeout, format: format)
            if let dns = discovery.dns {
                let basename = discovery.resolvedBasename()
                let choice: DiscoveryPick = all ? .all : pick.map { .index($0) } ?? .firstReachable
                await invocation.runDiscovered(query: dns, basename: basename, pick: choice)
            }
            await invocation.run()
        }
    }
}

/// What `beamsh NODE ...` was asked to do, as plain values: built by the parsed command, or
/// directly for the common short forms (see ``fastPath(_:)``).
struct ConsoleInvocation {
    var node: String?
    var connection = ConnectionSettings()
    var rpc: [String] = []
    var eval: [String] = []
    var erlang = false
    var readOnly = false
    var yes = false
    var timeout: Double?
    var format = "text"

    /// `NODE`, `NODE --eval EXPR ...` or `NODE --rpc MODULE FUNCTION [ARG ...]`, with the
    /// connection and evaluation options a script gives (`--cookie-file`, `--address`, `--port`,
    /// `--timeout`, `--format`...) before or after NODE: the forms an operator and a health check
    /// type all day. They are read without swift-argument-parser's reflection-heavy general parse,
    /// which costs more than connecting. Only what is well-formed is taken: anything else (help,
    /// `--dns`, `--release`, `--opt=value`, a repeated option, a value out of range, a mistake)
    /// returns nil and goes through swift-argument-parser, which says what is wrong (same
    /// defaults, same meaning).
    static func fastPath(_ arguments: [String]) -> ConsoleInvocation? {
        var invocation = ConsoleInvocation()
        var seen: Set<String> = []
        var index = arguments.startIndex
        /// The value after the option at `index`, when there is one that is not an option.
        func value() -> String? {
            let next = index + 1
            guard next < arguments.endIndex, !arguments[next].hasPrefix("-") else { return nil }
            index = next
            return arguments[next]
        }
        func seconds(_ text: String?, _ option: String) -> Double? {
            guard let text, let value = Double(text), (try? checkSeconds(value, option)) != nil else { return nil }
            return value
        }
        func port(_ text: String?, _ option: String) -> Int? {
            guard let text, let value = Int(text), (try? checkPort(value, option)) != nil else { return nil }
            return value
        }
        while index < arguments.endIndex {
            let word = arguments[index]
            guard word.hasPrefix("-") else {
                guard invocation.node == nil, Beamsh.isNodeArgument(word) else { return nil }
                invocation.node = word
                index += 1
                continue
            }
            // Every option once, --eval as often as it comes.
            guard word == "--eval" || seen.insert(word).inserted else { return nil }
            switch word {
            case "--eval":
                guard let expression = value() else { return nil }
                invocation.eval.append(expression)
            case "--rpc":
                // MODULE FUNCTION [ARG ...]: everything that follows.
                let call = Array(arguments[(index + 1)...])
                guard call.count >= 2, !call[0].hasPrefix("-"), !call[1].hasPrefix("-") else { return nil }
                invocation.rpc = call
                index = arguments.endIndex
                continue
            case "--cookie-file": guard let path = value() else { return nil }; invocation.connection.cookieFile = path
            case "--cookie": guard let cookie = value() else { return nil }; invocation.connection.cookie = cookie
            case "--name": guard let name = value() else { return nil }; invocation.connection.localName = name
            case "--address":
                guard let address = value(), (try? checkAddress(address)) != nil else { return nil }
                invocation.connection.address = address
            case "--port": guard let port = port(value(), word) else { return nil }; invocation.connection.port = port
            case "--epmd-port": guard let port = port(value(), word) else { return nil }; invocation.connection.epmdPort = port
            case "--connect-timeout":
                guard let seconds = seconds(value(), word) else { return nil }
                invocation.connection.connectTimeout = seconds
            case "--timeout": guard let seconds = seconds(value(), word) else { return nil }; invocation.timeout = seconds
            case "--format":
                guard let format = value(), format == "text" || format == "json" else { return nil }
                invocation.format = format
            case "--erlang": invocation.erlang = true
            case "--read-only": invocation.readOnly = true
            case "--yes": invocation.yes = true
            default: return nil
            }
            index += 1
        }
        // What the console's validation refuses, or where NODE would come from elsewhere.
        guard invocation.node != nil, invocation.rpc.isEmpty || invocation.eval.isEmpty else { return nil }
        if let port = invocation.connection.port, let address = invocation.connection.address,
           let addressPort = AddressResolver.splitHostPort(address).port, addressPort != port {
            return nil
        }
        return invocation
    }

    var rpcSettings: RPCOneShot.Settings {
        var settings = RPCOneShot.Settings()
        if let timeout { settings.timeout = .nanoseconds(Int64(timeout * 1e9)) }
        settings.readOnly = readOnly
        settings.allowStops = yes
        settings.json = format == "json"
        return settings
    }

    func run() async -> Never {
        consoleNodeArgument.withLockedValue { $0 = node }
        if format == "json" { FailureDocument.enable() }
        let target = parseNodeName(node ?? releaseNode())
        if !rpc.isEmpty { await RPCOneShot.run(target: target, options: { connection.connectOptions().0 }, call: rpc, settings: rpcSettings) }
        let (options, _) = connection.connectOptions()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let connected: NodeConnection
        do {
            connected = try await NodeConnection.connect(to: target, options: options, group: group)
        } catch {
            fail(error)
        }
        await evaluate(on: connected, clusterOptions: options)
    }

    /// `--dns QUERY`: discover the nodes, then open the console (or run the one-shot modes) on
    /// the chosen one, or with `--all` evaluate on every registered one.
    func runDiscovered(query: String, basename: String, pick: DiscoveryPick) async -> Never {
        if format == "json" { FailureDocument.enable() }
        if !rpc.isEmpty { RPCOneShot.checkArguments(rpc, settings: rpcSettings) }  // a mistake there is said first
        let (options, _) = connection.connectOptions()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: pick == .all ? 2 : 1)
        guard pick == .all else { await runOnFirstDiscovered(query: query, basename: basename, pick: pick, options: options, group: group) }
        let discovered: [DiscoveredNode]
        let candidates: [DiscoveredNode]
        do {
            discovered = try await Discovery.discover(query: query, basename: basename, epmdPort: options.epmdPort,
                                                      group: group, timeout: options.connectTimeout)
            candidates = try Discovery.candidates(discovered, query: query, pick: pick)
        } catch {
            fail(error)
        }
        // An address with no node to evaluate on is a row of its own (a node DNS names that is
        // down counts as unreachable), and the rows keep DNS's order.
        let order = Dictionary(discovered.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
        let missing = discovered.filter { !$0.isRegistered }.map {
            FanoutResult(node: $0.name, language: nil, outcome: .unreachable(DistributionError($0.statusKind, $0.statusText)))
        }
        let started = ContinuousClock.now
        var clusterOptions = ClusterOptions(connect: options, timeout: timeout.map { .nanoseconds(Int64($0 * 1e9)) } ?? .seconds(60))
        clusterOptions.readOnly = readOnly
        clusterOptions.allowStops = yes
        clusterOptions.wantValues = format == "json"
        for expression in eval {
            if let refusal = FanoutEvaluator.refusal(expression, allowStops: yes, readOnly: readOnly) {
                printError(refusal)
                exitNow(.remoteFailure)
            }
        }
        var worst: Int32 = 0
        for expression in eval {
            let results = (await ClusterInspector.evaluate(expression, on: candidates.map(\.name), reusing: nil,
                                                           options: clusterOptions, group: group) + missing)
                .sorted { (order[$0.node] ?? Int.max, $0.node) < (order[$1.node] ?? Int.max, $1.node) }
            let report = FanoutReport(seed: query, expression: expression, results: results, elapsed: .now - started)
            print(format == "json" ? report.json.serialized()
                  : report.render(terminalWidth: isatty(STDOUT_FILENO) == 1 ? Beamsh.Cluster.terminalColumns() : nil))
            FailureDocument.markReported()
            worst = max(worst, report.exitCode)
        }
        exitNow(ExitStatus(rawValue: worst) ?? .remoteFailure)
    }

    /// The console (or a one-shot mode) on the node `connectToDiscovered` finds.
    private func runOnFirstDiscovered(
        query: String, basename: String, pick: DiscoveryPick, options: ConnectOptions, group: MultiThreadedEventLoopGroup
    ) async -> Never {
        let connected = await connectToDiscovered(query: query, basename: basename, pick: pick, options: options, group: group)
        if !rpc.isEmpty { await RPCOneShot.run(on: connected, call: rpc, settings: rpcSettings) }
        // `:cluster` finds the nodes again each time, as `beamsh cluster --dns` would.
        let discovery: @Sendable () async -> [DiscoveredNode] = {
            (try? await Discovery.discover(query: query, basename: basename, epmdPort: options.epmdPort, group: group,
                                           timeout: options.connectTimeout)) ?? []
        }
        await evaluate(on: connected, clusterOptions: options, clusterDiscovery: discovery)
    }
}

// MARK: - The console and one-shot evaluation

extension ConsoleInvocation {
    /// `RELEASE_NODE` completed the way `bin/app remote` does: `RELEASE_DISTRIBUTION=name`
    /// means a long name (this host's full name), else a short one.
    func releaseNode() -> String { nodeOrReleaseNode(nil) }

    /// - parameter input: where the interactive console reads, also for the stop guard's question.
    func shellOptions(interactive: Bool, input: ConsoleInput? = nil) -> ShellOptions {
        var options = ShellOptions(language: erlang ? .erlang : nil, readOnly: readOnly)
        options.timeout = timeout.map { .nanoseconds(Int64($0 * 1e9)) } ?? (interactive ? nil : .seconds(60))
        if yes {
            options.stopGuard = .allow
        } else if interactive, let input {
            // Read like a line at the prompt (Ctrl-C and Ctrl-D answer no), kept out of the history;
            // input typed or pasted ahead is not taken as the answer (it is read after it).
            options.stopGuard = .ask { question in
                guard case .line(let answer) = await onOwnThread({ input.readAnswer(prompt: question) }) else { return false }
                return ["y", "yes"].contains(answer.filter { !$0.isWhitespace }.lowercased())
            }
        }
        // Log lines the node's Logger forwards go to standard error in one-shot modes, away
        // from the values a script reads (one JSON document per expression stays one).
        if !interactive {
            options.logOutput = StandardOutput.error
            // Output nobody receives (`| head -1`, a full disk) ends the run at once, exit 74:
            // the connection closes and the node ends the evaluation's worker, which is linked to it.
            StandardOutput.onFirstWriteError = { _ in exitNow(.outputFailure) }
        }
        // One-shot modes have no rows: nobody is there to answer a pager's "more (y/n)?".
        if interactive {
            options.geometry = { terminalGeometry() }
        } else {
            options.geometry = {
                var geometry = terminalGeometry()
                geometry.rows = 0
                return geometry
            }
        }
        // As IEx: colors in a terminal; NO_COLOR (set and not empty) or TERM=dumb turns them off.
        options.colors = interactive && isatty(STDOUT_FILENO) == 1 && (ProcessEnvironment.current["NO_COLOR"] ?? "").isEmpty
            && !isDumbTerminal
        return options
    }

    /// Runs the console, `--eval`s or the stdin script, then exits with the right code.
    func evaluate(
        on connection: NodeConnection, clusterOptions: ConnectOptions? = nil, clusterDiscovery: (@Sendable () async -> [DiscoveredNode])? = nil
    ) async -> Never {
        let scripted = !eval.isEmpty || isatty(0) == 0
        var letAStopThrough: () -> Bool = { false }
        do {
            if scripted {
                // With --format json, stdout carries one JSON document per expression; what the
                // evaluation prints (IO.puts, h/1) goes to stderr.
                // Reads (`IO.gets`) in --eval take lines from stdin, as `elixir -e` does; a stdin
                // script is read whole first, so its reads show their prompt and get end of input.
                let printed: ConsoleOutput = format == "json" ? StandardOutput.error : StandardOutput()
                var options = shellOptions(interactive: false)
                var loneAnswer: EvaluationResult?
                var coreAlreadyTried = false
                if eval.count == 1 {
                    switch try await OneShotEvaluator.answerLoneCoreCommand(eval[0], connection: connection, options: options,
                                                                           wantTerm: format == "json") {
                    case .answered(let result):
                        loneAnswer = result
                        options.language = .elixir  // known now: the evaluator is made without asking
                    case .nodeWithoutElixir(let result):
                        options.language = .erlang
                        loneAnswer = result
                    case .callFailed: coreAlreadyTried = true
                    case .notAnswered: break
                    }
                }
                let evaluator = try await OneShotEvaluator.make(
                    connection: connection, options: options, output: printed,
                    input: PlainLineInput(promptOutput: printed))
                // Several --eval expressions share their variables, kept on the node.
                evaluator.keepsBindingsOnNode = eval.count > 1
                evaluator.reportsEachExpression = true
                letAStopThrough = { evaluator.letAStopThrough }
                installInterrupt(unlessIgnored: true) { evaluator.interrupt() }
                var json = TermJSON.Options()
                json.localNode = connection.peerNodeAtom
                let encoder = TermJSON(options: json)
                let wantTerm = format == "json"
                let show: (EvaluationResult) -> Void = { result in
                    switch result {
                    case _ where result.isNotShown:
                        // One JSON document per expression, even for what IEx does not show.
                        if wantTerm { StandardOutput().write("null\n") }
                    case .value(let text, let term):
                        if wantTerm, let term {
                            // Written as it is made (a huge value's JSON is never whole in memory).
                            let out = StandardOutput()
                            encoder.encode(term) { out.write($0) }
                            out.write("\n")
                        } else {
                            StandardOutput().write(text + "\n")
                        }
                    case .failure(let text):
                        PlainLineInput.endUnansweredPrompt()  // a timeout or Ctrl-C while `IO.gets` waits
                        flushOutput()
                        StandardOutput.error.write(text + "\n")
                        FailureDocument.record(text)
                    }
                }
                var ok = true
                if !eval.isEmpty {
                    for expression in eval where ok {
                        // One --eval: nothing can refer to its result afterwards.
                        let result: EvaluationResult
                        if let loneAnswer {
                            result = loneAnswer
                        } else {
                            result = eval.count == 1
                                ? try await evaluator.evaluateOnce(expression, wantTerm: wantTerm, coreAlreadyTried: coreAlreadyTried)
                                : try await evaluator.evaluate(expression, wantTerm: wantTerm)
                        }
                        evaluator.takeEarlierResults().forEach(show)
                        show(result)
                        ok = !result.isFailure
                    }
                } else {
                    switch readScript() {
                    case .success(let script):
                        ok = try await evaluator.evaluateScript(script, wantTerm: wantTerm, onResult: show)
                    case .failure(let invalid):
                        // Replacement characters in its place would change what the code says (a
                        // Latin-1 "é" in a string written to production data as U+FFFD).
                        show(.failure(formatted: "** " + invalid.description))
                        ok = false
                    }
                }
                evaluator.close()
                exitNow(ok ? .success : .remoteFailure)
            }
            if format == "json" {
                // Said, not ignored silently: a health check that meant to pipe a script in gets
                // a prompt instead, and should learn why.
                printWarning("--format json is for --eval, --rpc and scripts (standard input is a terminal here, so this is "
                    + "the console, which prints as IEx does)")
            }
            // The banner's versions are asked while the console sets up, not after.
            async let banner = bannerText(connection)
            // A session lasts: it judges the connection by the node's own tick time.
            Task { await connection.followPeerTickTime() }
            let input = LineEditorInput(historyPath: LineEditor.defaultHistoryPath(environment: ProcessEnvironment.current))
            if let cookie = clusterOptions?.cookie { input.neverRecord(cookie) }
            let console = try await Console.make(
                connection: connection, options: shellOptions(interactive: true, input: input),
                input: input, output: StandardOutput())
            input.useCompletion(RemoteCompleter(connection: connection, language: console.language,
                                                variables: { console.boundVariables },
                                                session: { console.sessionContext(variable: $0, path: $1) },
                                                imports: { console.sessionImports() },
                                                generation: { console.evaluationGeneration }))
            console.clusterOptions = clusterOptions
            console.clusterDiscovery = clusterDiscovery
            letAStopThrough = { console.letAStopThrough }
            installInterrupt(unlessIgnored: false) { console.interrupt() }
            print(await banner)
            flushOutput()  // before the results, which are written unbuffered, when stdout is a pipe
            // exitNow ends the process at once, so the history is saved here, however the
            // session ends (`exit`, `:quit`, Ctrl-D, a lost connection).
            do {
                try await console.run()
            } catch {
                input.saveHistory()
                throw error
            }
            input.saveHistory()
            exitNow(.success)
        } catch let error as DistributionError where error.kind == .connectionLost && letAStopThrough() {
            nodeStoppedAsAsked(connection.peer.name)
        } catch let error as DistributionError {
            fail(error)
        } catch {
            printError("\(error)")
            exitNow(.remoteFailure)
        }
    }

    /// `beamsh: connected to NODE (OTP n, Elixir v) as hidden node NAME`, both versions asked at once.
    private func bannerText(_ connection: NodeConnection) async -> String {
        // Asked without rex, as the language is: a node whose rpc server is blocked still gets a console.
        async let otp = connection.callWithoutRex("erlang", "system_info", [.atom("otp_release")], timeout: .seconds(5),
                                                  purpose: "for the banner")
        async let elixir = connection.callWithoutRex("Elixir.System", "version", [], timeout: .seconds(5), purpose: "for the banner")
        var versions = "OTP \((try? await otp)?.stringValue ?? "?")"
        if let version = (try? await elixir)?.stringValue { versions += ", Elixir \(version)" }
        let banner = "beamsh: connected to \(connection.peer.name) (\(versions)) as hidden node \(connection.localName)"
        // Said up front, so the operator does not learn it from the first refusal.
        return readOnly ? banner + "\nread-only: only the core commands and allow-listed reads run" : banner
    }
}

/// Ctrl-C interrupts the evaluation in progress instead of killing beamsh. `unlessIgnored`: a
/// SIGINT that whoever started beamsh ignored (a script's background job) stays ignored, as for
/// any program: it was not meant for this one. The interactive console takes Ctrl-C whatever it
/// inherited: an operator at a terminal must be able to interrupt an evaluation.
private func installInterrupt(unlessIgnored: Bool, _ action: @escaping @Sendable () -> Void) {
    let inherited = signal(SIGINT, SIG_IGN)
    if unlessIgnored, let inherited, unsafeBitCast(inherited, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self) { return }
    let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
    source.setEventHandler(handler: action)
    source.resume()
    interruptSource = source
}

nonisolated(unsafe) private var interruptSource: DispatchSourceSignal?

/// The terminal's size, or 80x24 when stdout is not a terminal.
private func terminalGeometry() -> TerminalGeometry {
    var size = winsize()
    if ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 {
        return TerminalGeometry(columns: Int(size.ws_col), rows: Int(size.ws_row))
    }
    return .default
}

/// A script that is not UTF-8, as `elixir file.exs` refuses it (`UnicodeConversionError`).
struct InvalidUTF8Script: Error, CustomStringConvertible {
    let line: Int
    let byte: UInt8
    var description: String {
        "the script is not valid UTF-8: line \(line) holds the byte 0x\(String(byte, radix: 16, uppercase: true)), which starts no "
            + "UTF-8 character here (Elixir and Erlang read source as UTF-8; convert it first, e.g. iconv -f latin1 -t utf8)"
    }
}

/// Standard input, whole, as UTF-8 text.
func readScript() -> Result<String, InvalidUTF8Script> {
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        bytes += chunk[..<n]
    }
    if let text = String(validating: bytes, as: UTF8.self) { return .success(text) }
    let offset = firstInvalidUTF8Offset(bytes) ?? 0
    let line = 1 + bytes[..<offset].reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
    return .failure(InvalidUTF8Script(line: line, byte: bytes[offset]))
}

/// Where the first byte sequence that is not UTF-8 starts.
func firstInvalidUTF8Offset(_ bytes: [UInt8]) -> Int? {
    var decoder = UTF8()
    var iterator = bytes.makeIterator()
    var offset = 0
    while true {
        switch decoder.decode(&iterator) {
        case .scalarValue(let scalar): offset += UTF8.width(scalar)
        case .emptyInput: return nil
        case .error: return offset
        }
    }
}
