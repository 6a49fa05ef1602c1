// Machinery shared by the formatters: an explicit work stack instead of recursion, so a term
// nested a million levels deep prints without touching the thread's stack.

/// One pending piece of output: a term still to print, or finished text.
enum PrintStep {
    case term(Term)
    case text(String)
    /// The elements of a container from `index` on, `separator` before each but the first: one
    /// step for the rest of the container, not one per element (a list of millions).
    case elements(element: (Int) -> Term, index: Int, count: Int, separator: String)
}

/// Output under construction plus the steps still to run. A formatter pops a step, writes
/// leaves directly and, for containers, pushes their pieces in reverse order.
struct PrintWork {
    var output = ""
    private var steps: [PrintStep] = []
    /// Where the text goes as it is made, in pieces of about ``sinkPiece`` bytes; nil keeps it
    /// all in ``output``. A reply of hundreds of megabytes is printed in the memory of one piece.
    var sink: ((String) -> Void)?
    static let sinkPiece = 1 << 16

    /// Runs `visit` on every term until nothing is left; `visit` writes or pushes.
    mutating func run(_ root: Term, visit: (Term, inout PrintWork) -> Void) -> String {
        steps.append(.term(root))
        while let step = steps.popLast() {
            switch step {
            case .term(let term): visit(term, &self)
            case .text(let text): output += text
            case .elements(let element, let index, let count, let separator):
                if index > 0 { output += separator }
                if index + 1 < count { steps.append(.elements(element: element, index: index + 1, count: count, separator: separator)) }
                visit(element(index), &self)
            }
            flushIfLarge()
        }
        if let sink, !output.isEmpty {
            sink(output)
            output = ""
        }
        return output
    }

    mutating func write(_ text: String) { output += text }

    /// Hands the text so far to the sink once it is a piece's worth.
    mutating func flushIfLarge() {
        guard let sink, output.utf8.count >= Self.sinkPiece else { return }
        sink(output)
        output = ""
        output.reserveCapacity(Self.sinkPiece * 2)
    }

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
        if !elements.isEmpty {
            steps.append(.elements(element: { elements[elements.startIndex + $0] }, index: 0, count: elements.count, separator: separator))
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
