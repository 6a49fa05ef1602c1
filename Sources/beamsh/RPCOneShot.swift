// `beamsh NODE --rpc MODULE FUNCTION [ARG ...]`: connect, one call through rex, print, exit.

import ErlangDistribution
import ErlangTerm
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RemoteShell

/// What Ctrl-C during `--rpc` prints (see ``RPCOneShot/noteInterrupts(node:)``), made before
/// the signal can come: the handler only writes it.
nonisolated(unsafe) private var interruptNote: UnsafeBufferPointer<UInt8>?

enum RPCOneShot {
    /// How the call is made and printed: the console's `--timeout`, `--read-only` and `--format`.
    struct Settings: Sendable {
        /// The longest the node may take to answer (60 s, as for every one-shot mode).
        var timeout: Duration = .seconds(60)
        /// Only calls on the read-only allow-list (`CoreCommands.readOnlyAllowList`) are made.
        var readOnly = false
        /// `--yes`: a call that stops the node (`init stop`, `erlang halt`...) is made.
        var allowStops = false
        var json = false
    }

    /// Runs the call on the calling thread, which becomes the only event loop: no thread hop
    /// anywhere between start and exit. `options` (the cookie among them) are read once the call's
    /// own arguments have passed their checks: a mistake in them is a usage error even where no
    /// cookie is found, which is what a `--cookie` typed after `--rpc` would otherwise look like.
    static func runOnCurrentThread(
        target: NodeName, options: () -> ConnectOptions, call: [String], settings: Settings = Settings()
    ) -> Never {
        let (arguments, pids, stops) = parseArguments(call, target: target, settings: settings)
        let options = options()
        noteInterrupts(node: target.description)
        MultiThreadedEventLoopGroup.withCurrentThreadAsEventLoop { loop in
            perform(target: target, options: options, call: call, arguments: arguments, pids: pids, settings: settings, on: loop)
                .whenComplete { finish($0, stopsTheNode: stops) }
        }
        exitNow(.remoteFailure)  // the loop only ends through finish
    }

    /// The same from async code.
    static func run(target: NodeName, options: () -> ConnectOptions, call: [String], settings: Settings) async -> Never {
        let (arguments, pids, stops) = parseArguments(call, target: target, settings: settings)
        let options = options()
        noteInterrupts(node: target.description)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let future = perform(target: target, options: options, call: call, arguments: arguments, pids: pids, settings: settings,
                             on: group.next())
        do {
            finish(.success(try await future.get()), stopsTheNode: stops)
        } catch {
            finish(.failure(error), stopsTheNode: stops)
        }
    }

    /// Exits with a usage error when the call's arguments have one, before anything is looked
    /// up (`--dns` discovers the node, and needs the cookie, before the call is made).
    static func checkArguments(_ call: [String], settings: Settings) {
        _ = parseArguments(call, target: try! NodeName(alive: "beamsh_check", host: "localhost"), settings: settings)
    }

    /// Arguments are read locally, so a typo costs no round trip; so is the read-only check, so a
    /// refused call never reaches the node. Also says whether the call stops the node (let
    /// through by `--yes`). `<0.B.C>` is one of the target's processes, written as it prints
    /// them: read here as a placeholder (init's `<0.0.0>` is known to the stop guard), then by
    /// the node itself once connected (``withTargetPids(_:_:_:settings:on:)``); `pids` lists them.
    private static func parseArguments(_ call: [String], target: NodeName, settings: Settings)
        -> (arguments: [Term], pids: Set<PidNumbers>, stopsTheNode: Bool)
    {
        var arguments: [Term] = []
        let node = Atom(target.description)
        let named = NIOLockedValueBox<Set<PidNumbers>>([])
        let parser = ErlangTermParser(localPid: { number, serial in
            named.withLockedValue { _ = $0.insert(PidNumbers(number: number, serial: serial)) }
            return Pid(node: node, id: number, serial: serial, creation: 0)
        })
        for text in call.dropFirst(2) {
            do {
                arguments.append(try parser.parse(text))
            } catch {
                // Everything after `--rpc MODULE FUNCTION` is the call's: an option put there
                // reads as a bad term, so say where options go.
                let option = text.hasPrefix("-") && text.dropFirst().first.map { $0.isLetter || $0 == "-" } == true
                let hint = option ? "; beamsh's options go before --rpc (what follows MODULE FUNCTION are the call's arguments)"
                    : text.hasPrefix(":") && text.count > 1 && (try? parser.parse(String(text.dropFirst())))?.atomValue != nil
                    ? "; --rpc takes Erlang syntax, where an atom has no colon: \(text.dropFirst())"
                    : Self.looksLikeElixir(text)
                    ? "; --rpc takes Erlang terms: atoms without a colon ([a, b], {ok, 1}), maps as #{k => v}, binaries as <<\"text\">>"
                    : Self.isCapitalizedName(text) ? " (a module of Elixir's is 'Elixir.\(text)')" : ""
                printError("--rpc argument '\(text)' is not an Erlang term: \(error)\(hint)")
                exitNow(.usage)
            }
        }
        let (module, function) = (atomName(call[0]), atomName(call[1]))
        for (what, name) in [("MODULE", module), ("FUNCTION", function)] where name.hasPrefix(":") && name.count > 1 {
            printError("--rpc \(what) '\(name)' is written as in Elixir; in --rpc it is an Erlang atom: \(name.dropFirst())")
            exitNow(.usage)
        }
        if settings.readOnly, let why = CoreCommands.readOnlyObjection(module: module, function: function, arguments: arguments) {
            printError("read-only: \(why); not called")
            exitNow(.remoteFailure)
        }
        // `erlang apply init stop []`, `rpc call Node init stop []`, `erlang spawn init stop []`
        // make the same call: any two atoms in a row among the arguments are looked at too.
        // What follows such a pair is the call's arguments: a list (`apply`'s form), or the rest.
        var candidates = [(module, function, arguments)]
        for i in arguments.indices.dropLast() {
            guard let m = arguments[i].atomValue, let f = arguments[i + 1].atomValue else { continue }
            let rest = Array(arguments[(i + 2)...])
            var applied = rest
            if case .list(let list)? = rest.first { applied = Array(list) }
            candidates.append((m.name, f.name, applied))
        }
        if let stop = candidates.lazy.compactMap({ FootgunGuard.stopCall(module: $0.0, function: $0.1, arguments: $0.2) }).first {
            guard settings.allowStops else {
                printError("not called: \(stop) would stop the remote node (pass --yes to allow it)")
                exitNow(.remoteFailure)
            }
            return (arguments, named.withLockedValue { $0 }, true)
        }
        return (arguments, named.withLockedValue { $0 }, false)
    }

    /// MODULE or FUNCTION as an atom's name: `'Elixir.System'` is written with Erlang's quotes
    /// as often as without.
    private static func atomName(_ text: String) -> String {
        text.count >= 2 && text.hasPrefix("'") && text.hasSuffix("'") ? String(text.dropFirst().dropLast()) : text
    }

    /// `<0.B.C>`'s numbers.
    struct PidNumbers: Hashable, Sendable {
        let number: UInt32
        let serial: UInt32
        var text: String { "<0.\(number).\(serial)>" }
    }

    /// The arguments with the target's processes they name (`<0.B.C>`) as the node reads them
    /// (`list_to_pid/1`, which knows its creation and the pid numbers it uses; a pid the node
    /// could not have would close the connection instead). One call per pid; none without.
    private static func withTargetPids(
        _ call: [String], _ arguments: [Term], _ pids: Set<PidNumbers>, settings: Settings, on connection: NodeConnection
    ) -> EventLoopFuture<[Term]> {
        guard !pids.isEmpty else { return connection.eventLoop.makeSucceededFuture(arguments) }
        let reads = pids.map { numbers in
            connection.submitRPC("erlang", "list_to_pid", [.charlist(numbers.text)], timeout: settings.timeout)
                .flatMapThrowing { term -> (PidNumbers, Pid) in
                    guard case .pid(let pid) = term else { throw TargetPidUnread(literal: numbers.text) }
                    return (numbers, pid)
                }
                .flatMapErrorThrowing { error in
                    // badarg from list_to_pid; our own timeout is reported as a timeout.
                    guard let failed = error as? DistributionError, failed.kind == .remoteCallFailed, !failed.isCallTimeout
                    else { throw error }
                    throw TargetPidUnread(literal: numbers.text)
                }
        }
        return EventLoopFuture.whenAllSucceed(reads, on: connection.eventLoop).flatMapThrowing { pairs in
            let read = Dictionary(uniqueKeysWithValues: pairs)
            let parser = ErlangTermParser(localPid: { read[PidNumbers(number: $0, serial: $1)] })
            return try call.dropFirst(2).map { try parser.parse($0) }
        }
    }

    /// A `<0.B.C>` argument the node read as no pid of its own (`list_to_pid/1` failed).
    struct TargetPidUnread: Error, CustomStringConvertible {
        let literal: String
        var description: String { "the node reads no pid of its own from \(literal) (erlang:list_to_pid/1 failed)" }
    }

    private struct Outcome: Sendable {
        let result: Term
        let printer: ErlangFormatter
        let json: TermJSON?
        /// `{badrpc, Reason}`'s reason as the node's shell says it.
        var failure: String?
    }

    private static func perform(
        target: NodeName, options: ConnectOptions, call: [String], arguments: [Term], pids: Set<PidNumbers>, settings: Settings,
        on loop: EventLoop
    ) -> EventLoopFuture<Outcome> {
        NodeConnection.connect(to: target, options: options, on: loop).flatMap { connection in
            perform(on: connection, call: call, arguments: arguments, pids: pids, settings: settings)
        }
    }

    /// The call on an open connection (`--dns` finds and connects the node first).
    static func run(on connection: NodeConnection, call: [String], settings: Settings) async -> Never {
        let target = (try? NodeName(parsing: connection.peer.name)) ?? (try! NodeName(alive: "node", host: "localhost"))
        let (arguments, pids, stops) = parseArguments(call, target: target, settings: settings)
        noteInterrupts(node: connection.peer.name)
        let future = perform(on: connection, call: call, arguments: arguments, pids: pids, settings: settings)
        do {
            finish(.success(try await future.get()), stopsTheNode: stops)
        } catch {
            finish(.failure(error), stopsTheNode: stops)
        }
    }

    private static func perform(
        on connection: NodeConnection, call: [String], arguments: [Term], pids: Set<PidNumbers>, settings: Settings
    ) -> EventLoopFuture<Outcome> {
        var printOptions = ErlangFormatter.Options()
        printOptions.localNode = connection.peerNodeAtom
        printOptions.unicode = true  // as the Erlang shell prints a value (`~tp`)
        let printer = ErlangFormatter(options: printOptions)
        var jsonOptions = TermJSON.Options()
        jsonOptions.localNode = connection.peerNodeAtom
        let json = settings.json ? TermJSON(options: jsonOptions) : nil
        let (module, function) = (atomName(call[0]), atomName(call[1]))
        // rex runs the call in a process of its own that beamsh cannot name, so a call that
        // times out may still be running on the node; the message says so.
        return withTargetPids(call, arguments, pids, settings: settings, on: connection).flatMap { arguments in
            connection.submitCall(Atom(module), Atom(function), arguments, timeout: settings.timeout)
        }
            .flatMap { result -> EventLoopFuture<Outcome> in
                let outcome = Outcome(result: result, printer: printer, json: json)
                guard case .tuple(let t) = result, t.count == 2, t[0] == .atom("badrpc") else {
                    return connection.eventLoop.makeSucceededFuture(outcome)
                }
                let hint = elixirModuleHint(t[1], call: call, on: connection)
                return BadRPC.describe(t[1], on: connection, printer: printer).and(hint).map { text, hint in
                    var described = outcome
                    described.failure = text + (hint.map { "\n(\($0))" } ?? "")
                    return described
                }
            }
            .flatMapErrorThrowing { error in
                guard let lost = error as? DistributionError, lost.kind == .connectionLost else { throw error }
                throw LostDuringTheCall(node: connection.peer.name, error: lost)
            }
    }

    /// What to try when the called function itself is undefined (`{'EXIT', {undef, [{M, F, A, _} | _]}}`)
    /// and its module is named as in Elixir code (`Node` is `Elixir.Node` in Erlang's terms): said
    /// only when the node has that Elixir module (`code:which/1`, which loads nothing).
    static func elixirModuleHint(_ reason: Term, call: [String], on connection: NodeConnection) -> EventLoopFuture<String?> {
        let (module, function) = (atomName(call[0]), atomName(call[1]))
        guard case .tuple(let exit) = reason, exit.count == 2, exit[0] == .atom("EXIT"),
            case .tuple(let undef) = exit[1], undef.count == 2, undef[0] == .atom("undef"),
            case .list(let frames) = undef[1], case .tuple(let frame)? = frames.first, frame.count >= 2,
            frame[0] == .atom(Atom(module)), frame[1] == .atom(Atom(function)),
            let first = module.unicodeScalars.first, first.properties.isUppercase, !module.hasPrefix("Elixir.")
        else { return connection.eventLoop.makeSucceededFuture(nil) }
        let elixirModule = "Elixir." + module
        return connection.submitCall("code", "which", [.atom(Atom(elixirModule))], timeout: .seconds(5))
            .map { which -> String? in
                guard which != .atom("non_existing"), which.atomValue == nil || which == .atom("preloaded") || which == .atom("cover_compiled")
                else { return nil }
                let rest = ([elixirModule] + call.dropFirst()).map(shellQuoted).joined(separator: " ")
                return "an Elixir module is \(elixirModule) in --rpc: beamsh NODE --rpc \(rest)"
            }
            .recover { _ in nil }
    }

    /// An argument written as in Elixir: an atom with a leading colon inside a term (`[:a, :b]`,
    /// `{:ok, 1}`, `:"x y"`), or a map as `%{...}`.
    static func looksLikeElixir(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        for (i, b) in bytes.enumerated() {
            if b == UInt8(ascii: "%"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "{") { return true }
            guard b == UInt8(ascii: ":"), i + 1 < bytes.count else { continue }
            let next = bytes[i + 1]
            let startsName = (next >= 0x61 && next <= 0x7A) || (next >= 0x41 && next <= 0x5A) || next == UInt8(ascii: "_")
                || next == UInt8(ascii: "\"")
            let before = i == 0 ? UInt8(ascii: " ") : bytes[i - 1]
            if startsName && " ,[{(".utf8.contains(before) { return true }
        }
        return false
    }

    /// `String`, `MyApp.Repo`: how Elixir names a module, which Erlang reads as a variable.
    static func isCapitalizedName(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, first.properties.isUppercase else { return false }
        return text.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || $0.properties.numericType != nil || $0 == "_" || $0 == "." }
    }

    /// `text` as typed at a shell prompt: quoted when it holds anything but plain characters.
    static func shellQuoted(_ text: String) -> String {
        let plain = !text.isEmpty && text.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || "_.-@:/".utf8.contains(b)
        }
        return plain ? text : "'" + text.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
    }

    /// Ctrl-C ends beamsh (exit 1) saying that the call may go on: rex runs it in a process of
    /// its own that beamsh cannot name, so unlike `--eval`'s worker it cannot be killed. An
    /// interrupt ignored by whoever started beamsh stays ignored.
    static func noteInterrupts(node: String) {
        let inherited = signal(SIGINT, SIG_IGN)
        if let inherited, unsafeBitCast(inherited, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self) { return }
        let text = Array(("\nbeamsh: interrupted; the call may still be running on \(node): rex runs it in a process "
            + "beamsh cannot name (--eval runs in a worker of its own, which Ctrl-C kills)\n").utf8)
        let note = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: text.count)
        _ = note.initialize(from: text)
        interruptNote = UnsafeBufferPointer(note)
        // Only async-signal-safe calls in the handler: write(2) and _exit(2).
        signal(SIGINT) { _ in
            if let note = interruptNote { _ = write(2, note.baseAddress, note.count) }
            _exit(ExitStatus.remoteFailure.rawValue)
        }
    }

    /// The connection closed once the call was sent (not while connecting).
    private struct LostDuringTheCall: Error {
        let node: String
        let error: DistributionError
    }

    private static func finish(_ outcome: Result<Outcome, Error>, stopsTheNode: Bool) -> Never {
        switch outcome {
        case .success(let outcome):
            if let failure = outcome.failure {
                // Several lines (the stacktrace) start on their own line, as in the shell.
                printError("the call failed on the node:" + (failure.utf8.contains(UInt8(ascii: "\n")) ? "\n" : " ") + failure)
                exitNow(.remoteFailure)
            }
            // Written as it is made: a reply of hundreds of megabytes prints without its whole
            // text in memory (which is several times the reply's size).
            let write: (String) -> Void = { print($0, terminator: "") }
            if let json = outcome.json { json.encode(outcome.result, to: write) } else { outcome.printer.format(outcome.result, to: write) }
            print()
            exitNow(.success)
        case .failure(let unread as TargetPidUnread):
            printError("--rpc argument: \(unread)")
            exitNow(.remoteFailure)
        case .failure(let lost as LostDuringTheCall):
            if stopsTheNode { nodeStoppedAsAsked(lost.node) }
            fail(lost.error)
        case .failure(let error as DistributionError) where error.kind == .remoteCallFailed:
            // Only a call that did not answer may still be running; a reply too large to read came.
            printError(error.isCallTimeout ? "\(error.description); the call may still be running on the node" : error.description)
            exitNow(.remoteFailure)
        case .failure(let error):
            fail(error)
        }
    }
}
