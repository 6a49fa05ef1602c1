// The interactive console's input: libedit with history and completion from the node.

import ErlangDistribution
import ErlangTerm
import LineEditor
import NIOConcurrencyHelpers

/// Reads console lines with libedit: emacs keys, Ctrl-R, persistent history, and Tab
/// completion asked of the node (`IEx.Autocomplete` on Elixir nodes, `edlin_expand` on
/// Erlang ones), cached for a minute so only the first Tab on a word costs a round trip.
public final class LineEditorInput: ConsoleInput, @unchecked Sendable {
    private let editor: LineEditor

    public init(historyPath: String?) {
        editor = LineEditor(configuration: .init(historyPath: historyPath))
    }

    /// Never records a line that contains `cookie`'s value in the history.
    public func neverRecord(_ cookie: Cookie) {
        editor.isSecret = { cookie.appears(in: $0) }
    }

    /// Completes from `completer` (full replacements of the word before the cursor).
    public func useCompletion(_ completer: RemoteCompleter) {
        editor.completion = { line in completer.complete(line) }
    }

    public func readLine(prompt: String) -> ReadResult {
        switch editor.readLine(prompt: prompt) {
        case .line(let line):
            editor.addToHistory(line)
            // Written at once, not only when the session ends: a dropped SSH session (SIGHUP)
            // or a killed terminal ends beamsh where it stands, and the operator wants those
            // commands back. Other sessions sharing the file see them at their next start.
            // While more input waits (a paste's next lines) the file is written once the paste
            // has been read, not once per line.
            if !editor.hasTypeahead { editor.saveHistory() }
            return .line(line)
        case .endOfInput:
            editor.saveHistory()
            return .endOfInput
        case .interrupted:
            return .interrupted
        }
    }

    public func interruptCameWithLine() -> Bool { editor.interruptFollowedLine }
    public var lineReadEndedAt: ContinuousClock.Instant? { editor.terminalRestoredAt }
    public func discardTypedAhead() { editor.discardTypeahead() }

    public func readReply(prompt: String) -> ReadResult {
        switch editor.readLine(prompt: prompt) {
        // Ctrl-C typed with the Enter: as Ctrl-C at the question.
        case .line where editor.interruptFollowedLine: return .interrupted
        case .line(let line): return .line(line)
        case .endOfInput: return .endOfInput
        case .interrupted: return .interrupted
        }
    }

    /// Reads the answer to a question (the stop guard's): input typed or pasted ahead is held
    /// back meanwhile and read after the answer, as it would have been.
    public func readAnswer(prompt: String) -> ReadResult {
        let ahead = editor.takeTypeahead()
        defer { editor.giveBack(ahead) }
        return readReply(prompt: prompt)
    }

    public func showWhileReading(_ text: String) -> Bool { editor.showWhileReading(text) }
    public func willPrompt() { editor.acceptOutputUntilLineRead() }
    public func interruptRead() { editor.interruptReading() }
    public func endReadQuietly() { editor.interruptReading(echo: "\n") }
    public func endReadBeforeMessage() { editor.interruptReadingAndWait(echo: "\n") }
    public var isInteractive: Bool { true }

    /// Writes the session's new history entries (also done at end of input and on deinit).
    public func saveHistory() { editor.saveHistory() }
}

/// Tab completion by RPC to the node's own expander, plus the console's local commands.
public final class RemoteCompleter: Sendable {
    private let connection: NodeConnection
    private let language: Language
    /// The node's answers per word, with when they came: kept ``cacheLife``, so the modules a
    /// node loads later show up (failures are not kept at all). `isFullList`: the answer lists
    /// every name that extends the word (not a hint, a common prefix to add), so a longer word
    /// of the same name is answered from it.
    private let cache = NIOLockedValueBox<[String: (candidates: [CompletionCandidate], isFullList: Bool, at: ContinuousClock.Instant)]>([:])
    static let cacheLife: Duration = .seconds(60)
    /// Commands the console answers itself, offered when a line starts with `:`.
    public static let localCommands = [":cluster", ":help", ":info", ":quit", ":top"]

    /// The session's bound variable names, asked at each Tab (they change between lines).
    private let variables: @Sendable () -> [String]
    /// The session's aliases and a bound map's fields (``Console/sessionContext(variable:path:)``).
    private let session: (@Sendable (_ variable: String?, _ path: [String]) -> SessionContext?)?
    /// Advances with each evaluation (``Console/evaluationGeneration``): the aliases are asked
    /// again only then.
    private let generation: @Sendable () -> Int
    private let aliasCache = NIOLockedValueBox<(generation: Int, aliases: [String: String])?>(nil)
    /// The session's imports (``Console/sessionImports()``): nil before the session holds anything.
    private let sessionImports: (@Sendable () -> [ImportedFunction]?)?
    private let importCache = NIOLockedValueBox<(generation: Int, imports: [ImportedFunction])?>(nil)
    /// What a session imports before its first line: Kernel's, the special forms, IEx.Helpers'.
    private let defaultImports = NIOLockedValueBox<[ImportedFunction]?>(nil)

    public init(
        connection: NodeConnection, language: Language, variables: @escaping @Sendable () -> [String] = { [] },
        session: (@Sendable (_ variable: String?, _ path: [String]) -> SessionContext?)? = nil,
        imports: (@Sendable () -> [ImportedFunction]?)? = nil,
        generation: @escaping @Sendable () -> Int = { 0 }
    ) {
        self.connection = connection
        self.language = language
        self.variables = variables
        self.session = session
        self.sessionImports = imports
        self.generation = generation
    }

    /// Candidates for the word before the cursor in `lineUpToCursor` (full replacements, listed
    /// with arities as the shells list them): bound variables (the binding lives here, as IEx
    /// completes from its own), local commands, then the node's expander (cached per word for
    /// the session).
    public func complete(_ lineUpToCursor: String) -> [CompletionCandidate] {
        let word = Self.lastWord(lineUpToCursor)
        if let fields = mapFieldCandidates(word) { return fields }
        var candidates: [CompletionCandidate] = []
        if !word.isEmpty, !word.contains(where: { $0 == "." || $0 == ":" }) {
            candidates += variables().filter { $0.hasPrefix(word) && $0 != word }.sorted().map { CompletionCandidate($0) }
            // What a bare name may call (`is_ato` → `is_atom`, `bxo` → `bxor` after `import
            // Bitwise`), listed with arities as IEx lists them; IEx finds them in its own shell's
            // environment, which the node's expander cannot see from an RPC.
            if language == .elixir, word.first.map({ $0.isLowercase || $0 == "_" }) == true {
                candidates += importedFunctions().filter { $0.name.hasPrefix(word) }
                    .sorted { ($0.name, $0.arity) < ($1.name, $1.arity) }
                    .map { CompletionCandidate($0.name, label: "\($0.name)/\($0.arity)") }
            }
        }
        let insideStruct = language == .elixir && Self.isInsideStruct(lineUpToCursor)
        // The session's aliases, as IEx offers them: `Us` → `User`, `User` → `User.`, and
        // `User.fi` expanded as the module it names, `MyApp.Accounts.User.fi`.
        let aliases = !insideStruct && word.first?.isUppercase == true ? sessionAliases() : [:]
        var aliased: (alias: String, module: String)?
        if let dot = word.firstIndex(of: ".") {
            let head = String(word[..<dot])
            if let module = aliases[head] { aliased = (head, module) }
        } else {
            candidates += aliases.keys.filter { $0.hasPrefix(word) }.sorted().map { CompletionCandidate($0 == word ? $0 + "." : $0) }
        }
        if let aliased {
            let expanded = aliased.module + word.dropFirst(aliased.alias.count)
            let found = remoteCandidates(forWord: expanded, asking: expanded, lineUpToCursor: expanded)
            return found.map { CompletionCandidate(aliased.alias + $0.replacement.dropFirst(aliased.module.count), label: $0.label) }
        }
        // Inside a struct literal IEx completes the struct's fields, which it finds in the whole
        // line; anywhere else the word is all an expander looks at, so one expansion serves
        // that word on every line.
        let asked = insideStruct ? lineUpToCursor : word
        let fromNode = remoteCandidates(forWord: word, asking: asked, lineUpToCursor: lineUpToCursor)
        let known = Set(candidates)
        return candidates + fromNode.filter { !known.contains($0) }
    }

    /// The session's imports, asked again after each evaluation (a line may `import`); before
    /// the first, what every session imports, asked of the node once.
    private func importedFunctions() -> [ImportedFunction] {
        let now = generation()
        if let cached = importCache.withLockedValue({ $0 }), cached.generation == now { return cached.imports }
        if let imports = sessionImports?() {
            importCache.withLockedValue { $0 = (now, imports) }
            return imports
        }
        if let defaults = defaultImports.withLockedValue({ $0 }) { return defaults }
        let calls = [("Elixir.Kernel", "functions"), ("Elixir.Kernel", "macros"), ("Elixir.Kernel.SpecialForms", "macros"),
                     ("Elixir.IEx.Helpers", "functions"), ("Elixir.IEx.Helpers", "macros")].map {
            connection.submitCall($0.0, "__info__", [.atom($0.1)], timeout: .seconds(2))
        }
        // (On the input thread, never the event loop.) Kept only when Kernel answered.
        let answers = calls.map { try? $0.wait() }
        guard let kernel = answers[0], kernel.listElements != nil else { return [] }
        let defaults = Evaluator.imports(.list(answers.compactMap { $0?.listElements }.flatMap { $0 }))
        defaultImports.withLockedValue { $0 = defaults }
        return defaults
    }

    /// The node's candidates for `word` (given `asked`), cached for ``cacheLife``.
    private func remoteCandidates(forWord word: String, asking asked: String, lineUpToCursor: String) -> [CompletionCandidate] {
        // (The node's answer is cached as it came: the variables change between lines.)
        let now = ContinuousClock.now
        if let cached = cache.withLockedValue({ $0[asked] }), now - cached.at < Self.cacheLife { return cached.candidates }
        if asked == word, let narrowed = narrowedFromCache(word, now: now) { return narrowed }
        var found: [CompletionCandidate] = []
        if lineUpToCursor == word, word.hasPrefix(":") {
            found += Self.localCommands.filter { $0.hasPrefix(word) && $0 != word }.map { CompletionCandidate($0) }
        }
        guard let fromNode = remoteCandidates(word, asking: asked) else { return found }  // asked again next time
        found += fromNode.candidates
        cache.withLockedValue { $0[asked] = (found, fromNode.isFullList, now) }
        return found
    }

    /// `Enum.ma` after `Enum.` (or `Enum.m`) was answered with a full list: that list, narrowed
    /// here, so each Tab as the operator types on costs no round trip. Only within the same
    /// name (after the word's last `.` or `:`), and nil, to ask the node, when one candidate is
    /// left: the node completes a single name its own way (`lists:seq(`, `Enum.`).
    private func narrowedFromCache(_ word: String, now: ContinuousClock.Instant) -> [CompletionCandidate]? {
        let headEnd = word.lastIndex(where: { $0 == "." || $0 == ":" }).map { word.index(after: $0) } ?? word.startIndex
        var end = word.endIndex
        while end > headEnd {
            end = word.index(before: end)
            guard let cached = cache.withLockedValue({ $0[String(word[..<end])] }), cached.isFullList,
                  now - cached.at < Self.cacheLife else { continue }
            let narrowed = cached.candidates.filter { $0.replacement.hasPrefix(word) }
            // (One name may be listed once per arity: still one name.)
            return Set(narrowed.map(\.replacement)).count == 1 ? nil : narrowed
        }
        return nil
    }

    /// `state.con` → the keys of the map bound to `state` that start with `con` (through nested
    /// maps: `state.config.po`), as IEx completes them; a complete key whose value is a map
    /// gets its `.`. Nil when the word does not start with a bound variable holding a map.
    private func mapFieldCandidates(_ word: String) -> [CompletionCandidate]? {
        guard language == .elixir, let session, word.contains(Character(".")), !word.contains(Character(":")) else { return nil }
        let parts = word.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let path = Array(parts.dropFirst().dropLast())
        guard let variable = parts.first, let typed = parts.last, variables().contains(variable),
              path.allSatisfy(Evaluator.isPlainIdentifier),
              let fields = session(variable, path)?.fields else { return nil }
        let head = word.dropLast(typed.count)
        let matching = fields.filter { $0.name.hasPrefix(typed) }
        if matching.count == 1, matching[0].name == typed {
            return matching[0].isMap ? [CompletionCandidate(head + typed + ".")] : []
        }
        return matching.map { CompletionCandidate(head + $0.name, label: $0.name) }
    }

    /// The session's aliases (`alias` → module), asked once per evaluation.
    private func sessionAliases() -> [String: String] {
        guard language == .elixir, let session else { return [:] }
        let now = generation()
        if let cached = aliasCache.withLockedValue({ $0 }), cached.generation == now { return cached.aliases }
        let aliases = session(nil, [])?.aliases ?? [:]
        aliasCache.withLockedValue { $0 = (now, aliases) }
        return aliases
    }

    /// Whether the text ends inside a struct literal being written (`%URI{ho`, `%URI{host: "a", p`):
    /// an unclosed `{` right after `%Alias`.
    static func isInsideStruct(_ line: String) -> Bool {
        let characters = Array(line)
        var depth = 0
        for index in characters.indices.reversed() {
            switch characters[index] {
            case "}": depth += 1
            case "{" where depth > 0: depth -= 1
            case "{":
                var start = index
                while start > 0, characters[start - 1].isLetter || characters[start - 1].isNumber
                        || characters[start - 1] == "_" || characters[start - 1] == "." {
                    start -= 1
                }
                return start > 0 && start < index && characters[start - 1] == "%"
            default: continue
            }
        }
        return false
    }

    /// Candidates for `word` from the node's expander, which is given `asked` (the word, or the
    /// line when it needs the context), and whether they are every name extending the word.
    /// nil when the node did not answer (in time).
    private func remoteCandidates(_ word: String, asking asked: String) -> (candidates: [CompletionCandidate], isFullList: Bool)? {
        guard !asked.isEmpty else { return ([], false) }
        let reversed: Term = .list(asked.unicodeScalars.reversed().map { .integer(Int($0.value)) })
        let call = language == .elixir
            ? connection.submitCall("Elixir.IEx.Autocomplete", "expand", [reversed], timeout: .seconds(2))
            : connection.submitCall("edlin_expand", "expand", [reversed], timeout: .seconds(2))
        // The completion callback runs on the input thread, never on the event loop.
        guard let reply = try? call.wait() else { return nil }
        guard case .tuple(let t) = reply, t.count == 3 else { return ([], false) }
        let hint = t[1].stringValue ?? ""
        if !hint.isEmpty { return ([CompletionCandidate(word + hint)], false) }
        // Entries name what follows the last `.` or `:` of the word, with arities (`map/2` from
        // IEx, `{"seq", 2}` from Erlang's expander): each is a replacement of the whole word by
        // the name, listed as the entry. Only names that extend what was typed: some expanders
        // list section titles too (OTP 28's `edlin_expand` can answer `["Functions"]`), which
        // must not land in the line.
        let head: Substring = word.lastIndex(where: { $0 == "." || $0 == ":" }).map { word[...$0] } ?? ""
        let typed = word.dropFirst(head.count)
        var candidates: [CompletionCandidate] = []
        var seen = Set<CompletionCandidate>()
        for entry in t[2].listElements ?? [] {
            guard let (name, label) = Self.nameAndLabel(entry) else { continue }
            guard name.hasPrefix(typed) else { continue }
            // After `mod:` Erlang's expander names functions with their arity; an entry without
            // one is a section title (OTP 28's "Functions"), also when nothing was typed yet.
            if language == .erlang, head.hasSuffix(":"), name == label { continue }
            let candidate = CompletionCandidate(String(head) + name, label: label)
            if seen.insert(candidate).inserted { candidates.append(candidate) }
        }
        if candidates.isEmpty, language == .erlang, head.hasSuffix(":") {
            let exported = exportedFunctions(module: String(head.dropLast()), prefix: String(typed)).map {
                CompletionCandidate(String(head) + $0.replacement, label: $0.label)
            }
            return (exported, exported.count > 1)
        }
        // (An empty list is full too: no name extends the word.)
        return (candidates, true)
    }

    /// An expander's entry as the name it inserts and the label it is listed by: `'map/2'`
    /// (IEx) and `{"seq", 2}` (Erlang) are `map`/`seq` listed with their arity; a module or a
    /// section title (`'Enum'`, `{"lists", []}`, `"Functions"`) is its own label.
    static func nameAndLabel(_ entry: Term) -> (name: String, label: String)? {
        if case .tuple(let pair) = entry, pair.count == 2, let name = pair[0].stringValue {
            if case .integer(let arity) = pair[1] { return (name, "\(name)/\(arity)") }
            return (name, name)
        }
        guard let text = entry.stringValue else { return nil }
        if let slash = text.lastIndex(of: "/"), slash != text.startIndex,
           text[text.index(after: slash)...].allSatisfy(\.isNumber), text.index(after: slash) != text.endIndex {
            return (String(text[..<slash]), text)
        }
        return (text, text)
    }

    /// `Module:module_info(exports)` functions starting with `prefix`, when the node's expander
    /// offers none (sorted; `module_info` left out). A single name completes with its opening
    /// parenthesis, as the expander does.
    private func exportedFunctions(module: String, prefix: String) -> [CompletionCandidate] {
        guard !module.isEmpty, module.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }),
              let reply = try? connection.submitCall(Atom(module), "module_info", [.atom("exports")], timeout: .seconds(2)).wait(),
              let exports = reply.listElements
        else { return [] }
        var functions: [(name: String, arity: Int)] = []
        for export in exports {
            if let pair = export.tupleElements, pair.count == 2, let name = pair[0].atomValue?.name,
               case .integer(let arity) = pair[1], name.hasPrefix(prefix), name != "module_info" {
                functions.append((name, arity))
            }
        }
        functions.sort { ($0.name, $0.arity) < ($1.name, $1.arity) }
        // An operator's or an odd name's atom is quoted in code (`erlang:'!'`).
        let printer = ErlangFormatter()
        let code = { (name: String) in printer.format(.atom(Atom(name))) }
        if Set(functions.map(\.name)).count == 1 { return [CompletionCandidate(code(functions[0].name) + "(")] }
        return functions.map { CompletionCandidate(code($0.name), label: "\($0.name)/\($0.arity)") }
    }

    /// The text after the last character that cannot be part of a name.
    static func lastWord(_ line: String) -> String {
        let separators: Set<Character> = [" ", "\t", "(", ")", "[", "]", "{", "}", ",", "=", "|", "&", "+", "-", "*", "/", "<", ">", "%", "\"", "'"]
        if let index = line.lastIndex(where: { separators.contains($0) }) {
            return String(line[line.index(after: index)...])
        }
        return line
    }
}
