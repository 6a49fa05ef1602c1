// Machinery shared by the formatters: an explicit work stack instead of recursion, so a term
// nested a million levels deep prints without touching the thread's stack.

/// One pending piece of output: a term still to print, or finished text.
enum PrintStep {
    case term(Term)
    case text(String)
}

/// Output under construction plus the steps still to run. A formatter pops a step, writes
/// leaves directly and, for containers, pushes their pieces in reverse order.
struct PrintWork {
    var output = ""
    private var steps: [PrintStep] = []

    /// Runs `visit` on every term until nothing is left; `visit` writes or pushes.
    mutating func run(_ root: Term, visit: (Term, inout PrintWork) -> Void) -> String {
        steps.append(.term(root))
        while let step = steps.popLast() {
            switch step {
            case .term(let term): visit(term, &self)
            case .text(let text): output += text
            }
        }
        return output
    }

    mutating func write(_ text: String) { output += text }

    /// Queues `open`, the elements separated by `separator`, an optional `| tail`, then `close`.
    /// `open` is written at once; the rest runs after the caller returns.
    mutating func container<Elements: RandomAccessCollection<Term>>(
        open: String, _ elements: Elements, separator: String, tail: (bar: String, term: Term)? = nil, close: String
    ) where Elements.Index == Int {
        output += open
        steps.append(.text(close))
        if let tail {
            steps.append(.term(tail.term))
            steps.append(.text(tail.bar))
        }
        var index = elements.count - 1
        while index >= 0 {
            steps.append(.term(elements[index]))
            if index > 0 { steps.append(.text(separator)) }
            index -= 1
        }
    }

    /// Queues pairs, each as `prefix(key)` text or a key term, then `infix`, then the value.
    mutating func pairs(
        open: String, _ pairs: [(key: PrintStep, value: Term)], infix: String, separator: String, close: String
    ) {
        output += open
        steps.append(.text(close))
        var index = pairs.count - 1
        while index >= 0 {
            steps.append(.term(pairs[index].value))
            if !infix.isEmpty { steps.append(.text(infix)) }
            steps.append(pairs[index].key)
            if index > 0 { steps.append(.text(separator)) }
            index -= 1
        }
    }
}

// MARK: - Small text helpers

enum TextHelpers {
    static func hex(_ value: UInt32, minimumDigits: Int = 1) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, minimumDigits - digits.count)) + digits
    }

    static func octal3(_ value: UInt32) -> String {
        let digits = String(value, radix: 8)
        return String(repeating: "0", count: max(0, 3 - digits.count)) + digits
    }

    /// The value of a bitstring's last, partial byte, shifted down to its significant bits.
    static func lastSegment(of bits: Bitstring) -> (value: UInt8, size: UInt8) {
        let last = bits.bytes[bits.bytes.count - 1]
        return (last >> (8 - bits.bitsInLastByte), bits.bitsInLastByte)
    }
}
