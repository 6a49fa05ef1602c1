// `{badrpc, Reason}` from rex, said as the Erlang shell says an exception.

import ErlangDistribution
import ErlangTerm
import NIOCore

/// The reason of a failed rex call (`{badrpc, Reason}`), as text an operator reads.
public enum BadRPC {
    /// What an exception in the called function comes back as: rex catches it and answers
    /// `{badrpc, {'EXIT', {Reason, Stacktrace}}}` for an error, `{badrpc, {'EXIT', Reason}}`
    /// for an exit (a throw is returned as the value).
    enum Exception: Equatable {
        case error(reason: Term, stacktrace: Term)
        case exit(reason: Term)

        init?(_ reason: Term) {
            guard case .tuple(let t) = reason, t.count == 2, t[0] == .atom("EXIT") else { return nil }
            if case .tuple(let inner) = t[1], inner.count == 2, Self.isStacktrace(inner[1]) {
                self = .error(reason: inner[0], stacktrace: inner[1])
            } else {
                self = .exit(reason: t[1])
            }
        }

        /// `[{M, F, ArityOrArgs, Location}]`, as `erlang:raise/3` accepts it.
        static func isStacktrace(_ term: Term) -> Bool {
            guard let frames = term.listElements, !frames.isEmpty else { return false }
            return frames.allSatisfy { frame in
                guard case .tuple(let f) = frame, f.count == 4 else { return false }
                return f[0].atomValue != nil && f[1].atomValue != nil && f[3].listElements != nil
            }
        }

        /// An Elixir exception struct (`%{__exception__: true}`), which Elixir's
        /// `Exception.format/3` says as IEx does; `erl_error` would print the raw map.
        var isElixirException: Bool {
            guard case .error(let reason, _) = self, let map = reason.mapValue else { return false }
            return map[.atom("__exception__")] == .true
        }
    }

    /// The reason as the node's own shell prints it (`erl_error:format_exception/4`, OTP 24+;
    /// Elixir's `Exception.format/3` for an Elixir exception), asked of the node itself so the
    /// text matches its version (`bad argument` with error_info's "*** argument 1: not an atom").
    /// Only the failure path pays for the extra call; when it fails too (an older node, a lost
    /// connection) the reason is printed as a term.
    /// With `elixir` (a console in Elixir), every exception is said as IEx says it, by
    /// `Exception.format/3` (`badarg` becomes `** (ArgumentError) ...`).
    public static func describe(_ reason: Term, on connection: NodeConnection, printer: ErlangFormatter, elixir: Bool = false,
                                timeout: Duration = .seconds(5)) -> EventLoopFuture<String> {
        let loop = connection.eventLoop
        guard let exception = Exception(reason) else { return loop.makeSucceededFuture(plain(reason, printer: printer)) }
        func ask(_ module: Atom, _ function: Atom, _ arguments: [Term]) -> EventLoopFuture<String?> {
            connection.submitCall(module, function, arguments, timeout: timeout).map { text -> String? in
                guard !text.isTagged("badrpc"), let formatted = Chardata.string(text), !formatted.isEmpty else { return nil }
                // erl_error leaves out the shell's "** "; Elixir's text has it.
                let trimmed = formatted.hasSuffix("\n") ? String(formatted.dropLast()) : formatted
                return trimmed.hasPrefix("** ") ? trimmed : "** " + trimmed
            }.recover { _ in nil }
        }
        // Laid out as the shell lays it out: `#{column => 4}` indents "in function" by 5, as
        // after its "** " (the default, column 1, indents by 2).
        let layout: Term = .map(TermMap([(key: .atom("column"), value: .integer(4))]))
        let erlang: () -> EventLoopFuture<String?>
        switch exception {
        case .error(let r, let stack):
            erlang = { ask("erl_error", "format_exception", [.atom("error"), r, stack, layout]) }
        case .exit(let r):
            erlang = { ask("erl_error", "format_exception", [.atom("exit"), r, .emptyList, layout]) }
        }
        // An Elixir exception from a node whose Elixir is not loaded cannot happen in practice;
        // erl_error is asked then, as for any other reason.
        let first: EventLoopFuture<String?>
        let askedElixir = elixir || exception.isElixirException
        switch exception {
        case .error(let r, let stack) where askedElixir:
            first = ask("Elixir.Exception", "format", [.atom("error"), r, stack])
        case .exit(let r) where elixir:
            first = ask("Elixir.Exception", "format", [.atom("exit"), r, .emptyList])
        default:
            first = erlang()
        }
        return first.flatMap { text in
            if let text { return loop.makeSucceededFuture(text) }
            return askedElixir ? erlang().map { $0 ?? plain(reason, printer: printer) }
                : loop.makeSucceededFuture(plain(reason, printer: printer))
        }
    }

    /// What needs no call: the reasons rpc gives, or any other term as it is. Our own node
    /// going down or not answering is a lost connection or our own timeout, never a reply; a
    /// `nodedown` or `timeout` that comes back is from a call the called function made to
    /// another node (`rpc:call(Other, ...)` on the node), so it must not blame the node asked.
    static func plain(_ reason: Term, printer: ErlangFormatter) -> String {
        switch reason {
        case .atom("nodedown"): return "a node that the call itself reached out to is down or unreachable (nodedown)"
        case .atom("timeout"): return "a call that the call itself made timed out (timeout)"
        default: return printer.format(reason)
        }
    }
}
