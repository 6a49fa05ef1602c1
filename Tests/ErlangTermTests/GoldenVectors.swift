// Loads the golden vectors that scripts/gen-golden wrote with real `term_to_binary`
// (Tests/ErlangTermTests/Golden/README.md describes the files).

import Foundation
import Testing
@testable import ErlangTerm

/// One `term_to_binary` output recorded from a real runtime.
struct GoldenVector: Sendable, CustomStringConvertible {
    /// `otp25` or `otp28`.
    let runtime: String
    let name: String
    /// `default`, `compressed`, `minor0`, `minor1`, `minor2`, `minor2_compressed`.
    let kind: String
    let bytes: [UInt8]
    /// The Erlang expression that made the term.
    let source: String

    /// What a modern BEAM emits by default: our encoder must reproduce it byte for byte.
    var isCanonical: Bool { kind == "minor2" }
    var isCompressed: Bool { kind.hasSuffix("compressed") }
    var description: String { "\(runtime)/\(name)/\(kind)" }
}

/// A hand-written vector and the runtime's verdict on it.
struct HandwrittenVector: Sendable, CustomStringConvertible {
    let runtime: String
    let name: String
    let bytes: [UInt8]
    /// The runtime's canonical re-encoding of what it decoded, or nil when it rejected the bytes.
    let canonical: [UInt8]?
    let comment: String
    var description: String { "\(runtime)/\(name) (\(comment))" }
}

enum Golden {
    static let runtimes = ["otp25", "otp28"]

    static let directory: URL = {
        guard let url = Bundle.module.url(forResource: "Golden", withExtension: nil) else {
            fatalError("the Golden resource folder is missing from the test bundle")
        }
        return url
    }()

    static let vectors: [GoldenVector] = {
        var all: [GoldenVector] = []
        for runtime in runtimes {
            for fields in table(runtime + "/vectors.tsv") {
                precondition(fields.count == 4, "bad golden line in \(runtime): \(fields.prefix(2))")
                all.append(GoldenVector(runtime: runtime, name: fields[0], kind: fields[1],
                                        bytes: hex(fields[2]), source: fields[3]))
            }
        }
        return all
    }()

    static let handwritten: [HandwrittenVector] = {
        var all: [HandwrittenVector] = []
        for runtime in runtimes {
            for fields in table(runtime + "/handwritten.tsv") {
                precondition(fields.count == 4, "bad handwritten line in \(runtime): \(fields.prefix(2))")
                all.append(HandwrittenVector(runtime: runtime, name: fields[0], bytes: hex(fields[1]),
                                             canonical: fields[2] == "rejected" ? nil : hex(fields[2]),
                                             comment: fields[3]))
            }
        }
        return all
    }()

    /// Every input kept from fuzzing (Golden/fuzz-corpus/*), by file name.
    static let fuzzCorpus: [(name: String, bytes: [UInt8])] = {
        let folder = directory.appendingPathComponent("fuzz-corpus")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.sorted().filter { !$0.hasPrefix(".") && $0 != "README.md" }.map { name in
            (name, [UInt8]((try? Data(contentsOf: folder.appendingPathComponent(name))) ?? Data()))
        }
    }()

    private static func table(_ relativePath: String) -> [[String]] {
        let url = directory.appendingPathComponent(relativePath)
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            fatalError("cannot read golden file \(relativePath); run scripts/gen-golden")
        }
        return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map {
            $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        }
    }

    static func hex(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count / 2)
        var high: UInt8? = nil
        for c in text.utf8 {
            let v: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): v = c - UInt8(ascii: "A") + 10
            default: preconditionFailure("bad hex digit in golden file")
            }
            if let h = high { out.append(h << 4 | v); high = nil } else { high = v }
        }
        precondition(high == nil, "odd number of hex digits in golden file")
        return out
    }

    static func hexString(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}
