// Tab completion: what is replaced, what is inserted, and how candidates are listed.

/// One way to complete the word before the cursor.
public struct CompletionCandidate: Hashable, Sendable, ExpressibleByStringLiteral {
    /// The full replacement of the current word (`Enum.map`).
    public var replacement: String
    /// What a listing shows for it (`map/2`, as IEx lists it): one candidate per arity may share
    /// a replacement.
    public var label: String

    public init(_ replacement: String, label: String? = nil) {
        self.replacement = replacement
        self.label = label ?? replacement
    }

    public init(stringLiteral value: String) { self.init(value) }
}

/// The pure part of Tab completion, separate from libedit so it can be tested alone.
enum CompletionLogic {
    /// What one Tab press does.
    enum Action: Equatable {
        /// Replace the last `replacing` characters (Unicode scalars) before the cursor with `text`.
        case replace(replacing: Int, with: String)
        /// Nothing can be added: show the candidates' labels.
        case list([String])
        /// No candidate: ring the bell.
        case none
    }

    /// The word being completed: the longest suffix of `lineUpToCursor` without a delimiter.
    static func currentWord(of lineUpToCursor: String, delimiters: Set<Character>) -> Substring {
        let start = lineUpToCursor.lastIndex(where: { delimiters.contains($0) }).map { lineUpToCursor.index(after: $0) }
        return lineUpToCursor[(start ?? lineUpToCursor.startIndex)...]
    }

    /// Decides what Tab does with `candidates`.
    ///
    /// One replacement replaces the word. Several replace it with their longest common prefix
    /// when that is longer than the word; when it is not (nothing to add), their labels are
    /// listed, as IEx does. So the first Tab extends to the common prefix and the second one
    /// lists. A word already complete lists its labels when there are several (its arities).
    static func action(lineUpToCursor: String, candidates: [CompletionCandidate], delimiters: Set<Character>) -> Action {
        var replacements: [String] = []
        var labels: [String] = []
        for candidate in candidates where !candidate.replacement.isEmpty {
            if !replacements.contains(candidate.replacement) { replacements.append(candidate.replacement) }
            if !labels.contains(candidate.label) { labels.append(candidate.label) }
        }
        let word = currentWord(of: lineUpToCursor, delimiters: delimiters)
        let wordLength = word.unicodeScalars.count
        switch replacements.count {
        case 0:
            return .none
        case 1 where replacements[0] == word:
            // A whole name: its arities, as IEx lists them (`Process.sleep` → `sleep/1`).
            return labels.count > 1 || !word.hasSuffix(labels[0]) ? .list(labels.sorted()) : .none
        case 1:
            return .replace(replacing: wordLength, with: replacements[0])
        default:
            let prefix = commonPrefix(replacements)
            if prefix.unicodeScalars.count > wordLength {
                return .replace(replacing: wordLength, with: prefix)
            }
            return .list(labels.sorted())
        }
    }

    /// The longest common prefix of `strings`, compared by Unicode scalar.
    static func commonPrefix(_ strings: [String]) -> String {
        guard var prefix = strings.first.map({ Array($0.unicodeScalars) }) else { return "" }
        for string in strings.dropFirst() {
            let scalars = Array(string.unicodeScalars)
            var length = 0
            while length < prefix.count, length < scalars.count, prefix[length] == scalars[length] { length += 1 }
            prefix.removeLast(prefix.count - length)
        }
        var result = String.UnicodeScalarView()
        result.append(contentsOf: prefix)
        return String(result)
    }

    /// `candidates` in columns, filled top to bottom then left to right like `ls`, each line
    /// ending with a newline and no wider than `width` (one column when a candidate is wider).
    static func columns(_ candidates: [String], width: Int) -> String {
        guard !candidates.isEmpty else { return "" }
        let widest = candidates.map(\.count).max() ?? 0
        let columnWidth = widest + 2
        let columnCount = max(1, min(candidates.count, (width + 2) / columnWidth))
        let rowCount = (candidates.count + columnCount - 1) / columnCount
        var text = ""
        for row in 0..<rowCount {
            var line = ""
            for column in 0..<columnCount {
                let index = column * rowCount + row
                guard index < candidates.count else { break }
                let candidate = candidates[index]
                let isLast = column == columnCount - 1 || (column + 1) * rowCount + row >= candidates.count
                line += isLast ? candidate : candidate + String(repeating: " ", count: columnWidth - candidate.count)
            }
            text += line + "\n"
        }
        return text
    }
}
