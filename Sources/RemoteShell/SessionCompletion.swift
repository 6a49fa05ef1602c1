// What Tab completion needs from the session's own state on the node (Elixir): the atom keys of
// a map held in a bound variable (`state.<Tab>`, `state.config.<Tab>`) and the aliases the
// session defined (`alias MyApp.Accounts.User`, then `User.<Tab>`), as IEx completes them from
// its evaluator. A short-lived worker asks the session's holder and sends back only names: a
// large bound value never crosses the network.

import ErlangDistribution
import ErlangTerm
import NIOConcurrencyHelpers

/// The session state a completion can use.
public struct SessionContext: Sendable, Hashable {
    /// A map field: its name and whether its value is a map too (then `.` can follow).
    public struct Field: Sendable, Hashable {
        public var name: String
        public var isMap: Bool
    }

    /// The atom keys of the map asked for; nil when the variable is not bound or holds no map there.
    public var fields: [Field]?
    /// `alias` → module, both without `Elixir.` (`User` → `MyApp.Accounts.User`).
    public var aliases: [String: String]
    /// The functions and macros the session imports (`Kernel`'s, `IEx.Helpers`', and what its
    /// lines imported), as names and arities; nil when not asked for.
    public var imports: [ImportedFunction]? = nil
}

/// A function or macro called without its module: `is_atom/1`, `bxor/2` after `import Bitwise`.
public struct ImportedFunction: Sendable, Hashable {
    public var name: String
    public var arity: Int
}

extension Evaluator {
    /// The session's aliases, and the fields of the map bound to `variable` (reached through
    /// the keys of `path` when given). Nil before the session holds anything on the node.
    func sessionContext(variable: String?, path: [String], timeout: Duration) async throws -> SessionContext? {
        guard language == .elixir, let holder = heldBinding else { return nil }
        let forms = try await completionForms()
        let mailbox = connection.makeMailbox()
        defer { mailbox.close() }
        let tag = connection.makeReference()
        let binding: Term = [
            .tuple([.atom("Holder"), .pid(holder)]),
            // Names as binaries, made atoms on the node only if they exist there: a Tab press
            // must not add atoms (never collected) to a production node.
            .tuple([.atom("Path"), .list(path.map { .binary(Binary(Array($0.utf8))) })]),
            .tuple([.atom("ReplyTo"), .pid(mailbox.pid)]),
            .tuple([.atom("Tag"), .reference(tag)]),
            .tuple([.atom("Wanted"), .list(variable.map { [.binary(Binary(Array($0.utf8)))] } ?? [])]),
        ]
        let request = try connection.requestSpawn("erl_eval", "exprs", [forms, binding, .atom("none")],
                                                  parent: mailbox.pid, groupLeader: mailbox.pid, options: [.link])
        var worker: Pid?
        defer { if let worker { try? connection.exit(worker, reason: .atom("kill"), from: mailbox.pid) } }
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            let left = deadline - clock.now
            guard left > .zero, let signal = try await mailbox.receive(timeout: left) else { return nil }
            switch signal {
            case .spawnReply(let id, .pid(let pid)) where id == request:
                worker = pid
            case .spawnReply(let id, _) where id == request:
                return nil
            case .message(_, let message):
                guard let t = message.tupleElements, t.count == 2, t[0] == .reference(tag),
                      let reply = t[1].tupleElements, reply.count == 3 else { continue }
                worker = nil  // it has finished
                return SessionContext(fields: Self.fields(reply[0]), aliases: Self.aliases(reply[1]), imports: Self.imports(reply[2]))
            case .exit(let from, _) where from == worker:
                return nil
            default:
                continue
            }
        }
    }

    /// `[{Key, IsMap}]` with keys that can follow a `.` as they are (`name`, `valid?`), sorted; nil for `none`.
    static func fields(_ term: Term) -> [SessionContext.Field]? {
        guard let entries = term.listElements else { return nil }
        var fields: [SessionContext.Field] = []
        for entry in entries {
            guard let pair = entry.tupleElements, pair.count == 2, let name = pair[0].atomValue?.name,
                  isPlainIdentifier(name) else { continue }
            fields.append(.init(name: name, isMap: pair[1] == .atom(.true)))
        }
        return fields.sorted { $0.name < $1.name }
    }

    /// `[{'Elixir.Alias', 'Elixir.Module'}]` from the environment, as short names.
    static func aliases(_ term: Term) -> [String: String] {
        var aliases: [String: String] = [:]
        for entry in term.listElements ?? [] {
            guard let pair = entry.tupleElements, pair.count == 2,
                  let alias = pair[0].atomValue?.name, let module = pair[1].atomValue?.name,
                  alias.hasPrefix("Elixir."), module.hasPrefix("Elixir.") else { continue }
            aliases[String(alias.dropFirst(7))] = String(module.dropFirst(7))
        }
        return aliases
    }

    /// `[{Name, Arity}]` as functions a bare word can complete to (plain names only: no
    /// operators, nothing that starts with `_`).
    static func imports(_ term: Term) -> [ImportedFunction] {
        var seen = Set<ImportedFunction>()
        var imports: [ImportedFunction] = []
        for entry in term.listElements ?? [] {
            guard let pair = entry.tupleElements, pair.count == 2, let name = pair[0].atomValue?.name, case .integer(let arity) = pair[1],
                  !name.hasPrefix("_"), isPlainIdentifier(name) else { continue }
            let function = ImportedFunction(name: name, arity: arity)
            if seen.insert(function).inserted { imports.append(function) }
        }
        return imports
    }

    /// A name written after `.` without quotes: a lowercase letter or `_` first, then letters,
    /// digits and `_`, perhaps ending in `?` or `!`.
    static func isPlainIdentifier(_ name: String) -> Bool {
        let scalars = Array(name.unicodeScalars)
        guard let first = scalars.first, first == "_" || ("a"..."z").contains(first) else { return false }
        for (index, s) in scalars.enumerated().dropFirst() {
            let plain = ("a"..."z").contains(s) || ("A"..."Z").contains(s) || ("0"..."9").contains(s) || s == "_"
            if !plain, !((s == "?" || s == "!") && index == scalars.count - 1) { return false }
        }
        return true
    }

    /// The worker's code as abstract forms: shipped (``DriverForms``, checked like the drivers),
    /// so the first Tab that needs the session costs no parse round trips; parsed by the node if
    /// that copy ever failed to decode.
    private func completionForms() async throws -> Term {
        if let forms = completionDriver.withLockedValue({ $0 }) { return forms }
        let forms: Term
        if let shipped = try? TermDecoder().decode(DriverForms.completion) {
            forms = shipped
        } else {
            forms = try await Self.parseDriver(Self.completionSource, on: connection)
        }
        completionDriver.withLockedValue { $0 = forms }
        return forms
    }

    /// Bound: Holder, Wanted (`[]` or the variable's name), Path (keys' names), ReplyTo, Tag. Sends
    /// `{Tag, {Fields | none, Aliases, Imports}}`. The keys are picked by a compiled match spec, not
    /// one erl_eval step per key; at most 5,000 are sent.
    static let completionSource = """
        BeamshAtoms = fun(BeamshNames) ->
            try {ok, lists:map(fun(BeamshN) -> binary_to_existing_atom(BeamshN, utf8) end, BeamshNames)}
            catch error:badarg -> none end end,
        BeamshPath = BeamshAtoms(Path),
        BeamshRef = erlang:monitor(process, Holder),
        Holder ! {get, self(), BeamshRef, case BeamshAtoms(Wanted) of {ok, BeamshW} -> BeamshW; none -> [] end},
        BeamshReply = receive
          {BeamshRef, {BeamshBinding, BeamshEnv, _}} ->
            erlang:demonitor(BeamshRef, [flush]),
            BeamshAliases = case BeamshEnv of #{aliases := BeamshA} -> BeamshA; _ -> [] end,
            BeamshValue = case {BeamshBinding, BeamshPath} of
              {[{_, BeamshV0}], {ok, BeamshKeys}} ->
                lists:foldl(fun(BeamshK, {ok, BeamshM}) when is_map(BeamshM) ->
                                  case maps:find(BeamshK, BeamshM) of error -> none; BeamshFound -> BeamshFound end;
                               (_, _) -> none
                            end, {ok, BeamshV0}, BeamshKeys);
              _ -> none
            end,
            BeamshFields = case BeamshValue of
              {ok, BeamshMap} when is_map(BeamshMap) ->
                lists:sublist(ets:match_spec_run(maps:to_list(BeamshMap),
                  ets:match_spec_compile([{{'$1', '$2'}, [{is_atom, '$1'}], [{{'$1', {is_map, '$2'}}}]}])), 5000);
              _ -> none
            end,
            % What a bare name may call: the imports (Kernel's among them) and the special forms.
            BeamshImports = [BeamshFA || BeamshKey <- [functions, macros],
                                         {_, BeamshFAs} <- case BeamshEnv of #{BeamshKey := BeamshI} -> BeamshI; _ -> [] end,
                                         BeamshFA <- BeamshFAs]
              ++ 'Elixir.Kernel.SpecialForms':'__info__'(macros),
            {BeamshFields, BeamshAliases, BeamshImports};
          {'DOWN', BeamshRef, _, _, _} -> {none, [], []}
        end,
        ReplyTo ! {Tag, BeamshReply},
        ok.
        """
}
