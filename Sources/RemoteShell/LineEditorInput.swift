// The interactive console's input: libedit with history and completion from the node.

import ErlangDistribution
import ErlangTerm
import LineEditor
import NIOConcurrencyHelpers

/// Reads console lines with libedit: emacs keys, Ctrl-R, persistent history, and Tab
/// completion asked of the node (`IEx.Autocomplete` on Elixir nodes, `edlin_expand` on
/// Erlang ones), cached per session so only the first Tab on a word costs a round trip.
public final class LineEditorInput: ConsoleInput, @unchecked Sendable {
    private let editor: LineEditor

    public init(historyPath: String?) {
        editor = LineEditor(configuration: .init(historyPath: historyPath))
    }

    /// Completes from `completer` (full replacements of the word before the cursor).
    public func useCompletion(_ completer: RemoteCompleter) {
        editor.completion = { line in completer.complete(line) }
    }

    public func readLine(prompt: String) -> ReadResult {
        switch editor.readLine(prompt: prompt) {
        case .line(let line):
            editor.addToHistory(line)
            return .line(line)
        case .endOfInput:
            editor.saveHistory()
            return .endOfInput
        case .interrupted:
            return .interrupted
        }
    }

    public func readReply(prompt: String) -> ReadResult {
        switch editor.readLine(prompt: prompt) {
        case .line(let line): return .line(line)
        case .endOfInput: return .endOfInput
        case .interrupted: return .interrupted
        }
    }

    public func showWhileReading(_ text: String) -> Bool { editor.showWhileReading(text) }
    public func willPrompt() { editor.acceptOutputUntilLineRead() }

    /// Writes the session's new history entries (also done at end of input and on deinit).
    public func saveHistory() { editor.saveHistory() }
}

/// Tab completion by RPC to the node's own expander, plus the console's local commands.
public final class RemoteCompleter: Sendable {
    private let connection: NodeConnection
    private let language: Language
    private let cache = NIOLockedValueBox<[String: [String]]>([:])
    /// Commands the console answers itself, offered when a line starts with `:`.
    public static let localCommands = [":cluster", ":help", ":info", ":quit", ":top"]

    /// The session's bound variable names, asked at each Tab (they change between lines).
    private let variables: @Sendable () -> [String]

    public init(connection: NodeConnection, language: Language, variables: @escaping @Sendable () -> [String] = { [] }) {
        self.connection = connection
        self.language = language
        self.variables = variables
    }

    /// Full replacements for the word before the cursor in `lineUpToCursor`: bound variables
    /// (the binding lives here, as IEx completes from its own), local commands, then the
    /// node's expander (cached per word for the session).
    public func complete(_ lineUpToCursor: String) -> [String] {
        let word = Self.lastWord(lineUpToCursor)
        var candidates: [String] = []
        if !word.isEmpty, !word.contains(where: { $0 == "." || $0 == ":" }) {
            candidates += variables().filter { $0.hasPrefix(word) && $0 != word }.sorted()
        }
        if let cached = cache.withLockedValue({ $0[word] }) { return candidates + cached }
        var fromNode: [String] = []
        if lineUpToCursor == word, word.hasPrefix(":") {
            fromNode += Self.localCommands.filter { $0.hasPrefix(word) && $0 != word }
        }
        fromNode += remoteCandidates(word).filter { !candidates.contains($0) }
        cache.withLockedValue { $0[word] = fromNode }
        return candidates + fromNode
    }

    private func remoteCandidates(_ word: String) -> [String] {
        guard !word.isEmpty else { return [] }
        let reversed: Term = .list(word.unicodeScalars.reversed().map { .integer(Int($0.value)) })
        let call = language == .elixir
            ? connection.submitCall("Elixir.IEx.Autocomplete", "expand", [reversed], timeout: .seconds(2))
            : connection.submitCall("edlin_expand", "expand", [reversed], timeout: .seconds(2))
        // The completion callback runs on the input thread, never on the event loop.
        guard let reply = try? call.wait(), case .tuple(let t) = reply, t.count == 3 else { return [] }
        let hint = t[1].stringValue ?? ""
        if !hint.isEmpty { return [word + hint] }
        // Entries name what follows the last `.` or `:` of the word, with arities; offer
        // each name once, as a replacement of the whole word. Only names that extend what was
        // typed: some expanders list section titles too (OTP 28's `edlin_expand` can answer
        // `["Functions"]`), which must not land in the line.
        let head: Substring = word.lastIndex(where: { $0 == "." || $0 == ":" }).map { word[...$0] } ?? ""
        let typed = word.dropFirst(head.count)
        var names: [String] = []
        var seen = Set<String>()
        for entry in t[2].listElements ?? [] {
            let text: String?
            if case .tuple(let pair) = entry, let first = pair.first { text = first.stringValue } else { text = entry.stringValue }
            guard var name = text else { continue }
            let slash = name.lastIndex(of: "/")
            let hadArity = slash != nil
            if let slash { name = String(name[..<slash]) }
            guard name.hasPrefix(typed) else { continue }
            // After `mod:` Erlang's expander names functions with their arity; an entry without
            // one is a section title (OTP 28's "Functions"), also when nothing was typed yet.
            if language == .erlang, head.hasSuffix(":"), !hadArity { continue }
            let candidate = String(head) + name
            if seen.insert(candidate).inserted { names.append(candidate) }
        }
        if names.isEmpty, language == .erlang, head.hasSuffix(":") {
            return exportedFunctions(module: String(head.dropLast()), prefix: String(typed)).map { String(head) + $0 }
        }
        return names
    }

    /// `Module:module_info(exports)` names starting with `prefix`, when the node's expander
    /// offers none (each name once, sorted).
    private func exportedFunctions(module: String, prefix: String) -> [String] {
        guard !module.isEmpty, module.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }),
              let reply = try? connection.submitCall(Atom(module), "module_info", [.atom("exports")], timeout: .seconds(2)).wait(),
              let exports = reply.listElements
        else { return [] }
        var names = Set<String>()
        for export in exports {
            if let pair = export.tupleElements, let name = pair.first?.atomValue?.name, name.hasPrefix(prefix),
               name != "module_info" { names.insert(name) }
        }
        let list = names.sorted()
        // One candidate: complete it with its opening parenthesis, as the expander does.
        return list.count == 1 ? [list[0] + "("] : list
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
