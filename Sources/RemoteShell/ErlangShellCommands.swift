// The Erlang shell's own commands that work on the shell process's state (`f()`, `b()`, ...).
// On the node they would ask a shell process beamsh does not have; beamsh answers them itself,
// on the binding the session's holder process keeps (or keeps itself, in one-shot modes).

import ErlangTerm

/// A line that is one of the Erlang shell's binding commands, or one beamsh cannot offer.
enum ErlangShellCommand: Equatable {
    /// `f().`: forget every binding.
    case forgetAll
    /// `f(Name).`: forget one binding.
    case forget(String)
    /// `b().`: show the bindings.
    case showBindings
    /// `e(N).`, `rr(...)`, `rd(...)`... : state of the Erlang shell process. (`v(N)` runs in
    /// the driver, from the history beamsh keeps.)
    case unsupported(String)

    /// Shell commands that need the shell process's state (history, record definitions).
    /// (`h()` is the history; `h(Module)` is documentation and runs on the node.)
    static let shellProcessCommands = ["e", "rr", "rd", "rf", "rl", "history", "results", "catch_exception"]

    init?(_ line: String) {
        var text = line.filter { !$0.isWhitespace }
        guard text.hasSuffix(").") else { return nil }
        text.removeLast()
        guard let open = text.firstIndex(of: "(") else { return nil }
        let name = String(text[..<open])
        let argument = String(text[text.index(after: open)..<text.index(before: text.endIndex)])
        switch name {
        case "f" where argument.isEmpty: self = .forgetAll
        case "f" where argument.first?.isUppercase == true && argument.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }):
            self = .forget(argument)
        case "b" where argument.isEmpty: self = .showBindings
        case _ where Self.shellProcessCommands.contains(name) || (name == "h" && argument.isEmpty):
            self = .unsupported(name)
        default: return nil
        }
    }
}

extension Evaluator {
    /// Carries out `command` on the session's binding; the text to show.
    func run(_ command: ErlangShellCommand, localNode: Atom) async throws -> EvaluationResult {
        let result = try await answer(command, localNode: localNode)
        // A query like any other: `v(N)` finds its value (`ok`), as in the shell.
        if case .value(_, let term) = result { remember(query: queriesRun + 1, value: term ?? .ok, size: 8) }
        return result
    }

    private func answer(_ command: ErlangShellCommand, localNode: Atom) async throws -> EvaluationResult {
        switch command {
        case .forgetAll:
            let (binding, environment) = try await currentState()
            try replaceBinding(binding.mapValue.map { _ in .map(TermMap([])) } ?? .emptyList, environment: environment)
            return .value(formatted: "ok", term: .ok)
        case .forget(let name):
            let (binding, environment) = try await currentState()
            try replaceBinding(Self.removing(name, from: binding), environment: environment)
            return .value(formatted: "ok", term: .ok)
        case .showBindings:
            var options = ErlangFormatter.Options()
            options.localNode = localNode
            let printer = ErlangFormatter(options: options)
            let lines = Self.entries(of: try await currentState().binding).map { "\($0.name) = \(printer.format($0.value))" }
            return .value(formatted: lines.joined(separator: "\n") + (lines.isEmpty ? "ok" : "\nok"), term: .ok)
        case .unsupported(let name):
            return .failure(formatted: "** \(name)/N belongs to the Erlang shell process, which beamsh does not run on the node; "
                + "not supported (f/0,1 and b/0 are)")
        }
    }

    /// The bindings as name and value, sorted by name: erl_eval keeps them as an orddict of
    /// `{Name, Value}` (or a map on newer releases).
    static func entries(of binding: Term) -> [(name: String, value: Term)] {
        var out: [(String, Term)] = []
        if let pairs = binding.listElements {
            for pair in pairs {
                if let t = pair.tupleElements, t.count == 2, let name = t[0].atomValue?.name { out.append((name, t[1])) }
            }
        } else if let map = binding.mapValue {
            for (key, value) in map { if let name = key.atomValue?.name { out.append((name, value)) } }
        }
        return out.sorted { $0.0 < $1.0 }
    }

    static func removing(_ name: String, from binding: Term) -> Term {
        if let pairs = binding.listElements {
            return .list(TermList(pairs.filter { $0.tupleElements?.first?.atomValue?.name != name }))
        }
        if let map = binding.mapValue {
            return .map(TermMap(map.filter { $0.key.atomValue?.name != name }.map { (key: $0.key, value: $0.value) }))
        }
        return binding
    }
}
