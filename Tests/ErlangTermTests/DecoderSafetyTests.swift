// Any byte sequence gives a term or a typed error: deep nesting, truncation, lying length
// fields, bad tags, zlib bombs, bad UTF-8, duplicate keys.

import Foundation
import Testing
import BeamTestSupport
@testable import ErlangTerm

/// Seconds of decoding and printing per test: on threads of their own (see OwnThreads.swift).
@Suite(.ownThreads) struct DecoderSafetyTests {
    // MARK: Deep nesting

    enum Nesting: String, CaseIterable, Sendable {
        case list, tuple, mapValue

        /// `depth` containers, each holding the next, around `[]` (the canonical encoding).
        func bytes(depth: Int) -> [UInt8] {
            var out: [UInt8] = [131]
            let (open, close): ([UInt8], [UInt8]) = switch self {
            case .list: ([108, 0, 0, 0, 1], [106])  // [X]
            case .tuple: ([104, 1], [])  // {X}
            case .mapValue: ([116, 0, 0, 0, 1, 97, 1], [])  // #{1 => X}
            }
            out.reserveCapacity(depth * (open.count + close.count) + 2)
            for _ in 0..<depth { out.append(contentsOf: open) }
            out.append(106)
            for _ in 0..<depth { out.append(contentsOf: close) }
            return out
        }
    }

    @Test(arguments: Nesting.allCases)
    func aMillionLevelsDecodeCompareHashEncodeAndFree(_ nesting: Nesting) throws {
        let depth = 1_000_000  // TermDecoder.Options().maxDepth
        #expect(TermDecoder.Options().maxDepth == depth)
        let bytes = nesting.bytes(depth: depth)
        do {
            let a = try TermDecoder().decode(bytes)
            let b = try TermDecoder().decode(bytes)
            #expect(Bool(a == b))  // Bool(...): never ask the test library to print a deep term
            #expect(a.hashValue == b.hashValue)
            #expect(Bool(try TermEncoder().encode(a) == bytes))
            let c = try TermDecoder().decode(nesting.bytes(depth: depth - 1))
            #expect(!Bool(a == c))
        }  // a, b and c are freed here: must not recurse
        let tooDeep = nesting.bytes(depth: depth + 1)
        #expect(throws: TermDecodingError(.tooDeep(limit: depth), at: offsetOfLevel(depth, nesting))) {
            try TermDecoder().decode(tooDeep)
        }
    }

    /// The offset of the container that opens level `level + 1` (0-based levels).
    private func offsetOfLevel(_ level: Int, _ nesting: Nesting) -> Int {
        let width = switch nesting { case .list: 5; case .tuple: 2; case .mapValue: 7 }
        return 1 + level * width
    }

    @Test(arguments: Nesting.allCases)
    func aLowerLimitGivesTooDeep(_ nesting: Nesting) throws {
        var options = TermDecoder.Options()
        options.maxDepth = 1000
        let decoder = TermDecoder(options: options)
        _ = try decoder.decode(nesting.bytes(depth: 1000))
        #expect(throws: TermDecodingError(.tooDeep(limit: 1000), at: offsetOfLevel(1000, nesting))) {
            try decoder.decode(nesting.bytes(depth: 1001))
        }
        #expect(throws: TermDecodingError.self) { try decoder.decode(nesting.bytes(depth: 1_000_000)) }
    }

    /// `[7 | [7 | [7 | ...]]]` written as a million LIST_EXT tails is the flat list `[7, 7, 7, ...]`:
    /// equal to it, re-encoded as the BEAM writes it, and no deeper than one level.
    @Test func aMillionListTailsAreOneFlatList() throws {
        let n = 1_000_000
        var chain: [UInt8] = [131]
        for _ in 0..<n { chain += [108, 0, 0, 0, 1, 97, 7] }
        chain.append(106)
        var flat: [UInt8] = [131, 108, 0x00, 0x0F, 0x42, 0x40]  // LIST_EXT of 1,000,000
        for _ in 0..<n { flat += [97, 7] }
        flat.append(106)
        var options = TermDecoder.Options()
        options.maxDepth = 1
        let term = try TermDecoder(options: options).decode(chain)
        #expect(term.listElements?.count == n)
        #expect(Bool(term == (try TermDecoder().decode(flat))))
        #expect(Bool(try TermEncoder().encode(term) == flat))
        // A STRING_EXT or an improper tail at the end of the chain.
        #expect(try TermDecoder().decode([131, 108, 0, 0, 0, 1, 97, 1, 107, 0, 2, 2, 3]) == [1, 2, 3])
        #expect(try TermDecoder().decode([131, 108, 0, 0, 0, 1, 97, 1, 108, 0, 0, 0, 1, 97, 2, 97, 3])
            == .list(TermList([1, 2], tail: 3)))
        #expect(TermList([1], tail: .list(TermList([2], tail: 3))).elements == [1, 2])
        #expect(Term.list(TermList([1], tail: [2, 3])) == [1, 2, 3])
    }

    @Test func deepTermsBuiltInSwiftCompareEncodeAndFree() throws {
        var list: Term = .emptyList
        var tuple: Term = .tuple([])
        for i in 0..<1_000_000 {
            list = .list([list])
            tuple = .tuple([.integer(i & 7), tuple])
        }
        let again = try TermDecoder().decode(try TermEncoder().encode(list))
        #expect(Bool(again == list))
        #expect(Bool(try TermDecoder().decode(try TermEncoder(compressionLevel: 1).encode(tuple)) == tuple))
        #expect(!Bool(list == tuple))
    }

    // MARK: Truncation and corruption of real vectors

    @Test func everyTruncationOfEveryGoldenVectorIsATypedError() {
        var failures: [String] = []
        var checked = 0
        for v in Golden.vectors {
            // Every cut for small vectors; for large ones, 300 cuts spread over it and the last 40.
            let n = v.bytes.count
            let cuts: [Int] = n <= 2048 ? Array(0..<n) : Array(Set(stride(from: 0, to: n, by: n / 300 + 1)).union((n - 40)..<n)).sorted()
            for cut in cuts {
                checked += 1
                do {
                    _ = try TermDecoder().decode(v.bytes[..<cut])
                    failures.append("\(v) cut at \(cut) decoded")
                } catch {
                    if error.offset < 0 || error.offset > cut { failures.append("\(v) cut at \(cut): offset \(error.offset)") }
                }
            }
        }
        #expect(checked > 100_000)
        #expect(failures.isEmpty, "\(failures.prefix(20).joined(separator: "\n"))")
    }

    /// Small deterministic mutations of every small vector: a term (that survives a round trip) or a typed error.
    @Test func corruptedGoldenVectorsGiveATermOrATypedError() throws {
        var decoded = 0, rejected = 0
        for v in Golden.vectors where v.bytes.count <= 200 && (v.kind == "minor0" || v.kind == "minor2" || v.isCompressed) {
            for i in 1..<v.bytes.count {
                let original = v.bytes[i]
                for replacement in Set<UInt8>([0, 0xFF, original ^ 1, original ^ 0x80, original &+ 1, 106, 108]) where replacement != original {
                    var bytes = v.bytes
                    bytes[i] = replacement
                    guard let term = try? TermDecoder().decode(bytes) else { rejected += 1; continue }
                    decoded += 1
                    let again = try TermEncoder().encode(term)
                    #expect(Bool(try TermDecoder().decode(again) == term), "\(v) with byte \(i) = \(replacement)")
                }
            }
        }
        #expect(decoded > 1000 && rejected > 1000)
    }

    // MARK: Length fields that lie

    /// Each claims far more than the buffer holds; the error must come at the claim, before any allocation.
    @Test(arguments: [
        ("LIST_EXT of 2^32-1", [131, 108, 255, 255, 255, 255, 106], 1),
        ("LARGE_TUPLE_EXT of 2^32-1", [131, 105, 255, 255, 255, 255, 97, 1], 1),
        ("MAP_EXT of 2^32-1", [131, 116, 255, 255, 255, 255, 97, 1, 97, 2], 1),
        ("BINARY_EXT of 2^32-1", [131, 109, 255, 255, 255, 255, 1, 2, 3], 6),
        ("BIT_BINARY_EXT of 2^32-1", [131, 77, 255, 255, 255, 255, 3, 1, 2, 3], 7),
        ("LARGE_BIG_EXT of 2^32-1", [131, 111, 255, 255, 255, 255, 0, 1, 2], 7),
        ("STRING_EXT of 65535", [131, 107, 255, 255, 1, 2], 4),
        ("ATOM_UTF8_EXT of 65535", [131, 118, 255, 255, 97], 4),
        ("nested lists each claiming 5", [131, 108, 0, 0, 0, 5, 108, 0, 0, 0, 5, 108, 0, 0, 0, 5, 106], 6),
        ("list tails each claiming 5", [131, 108, 0, 0, 0, 1, 97, 1, 108, 0, 0, 0, 5, 108, 0, 0, 0, 5, 106], 13),
        ("tuple of 200 in 10 bytes", [131, 104, 200, 97, 1, 97, 2, 97, 3, 106], 1),
        ("NEW_FUN_EXT with 2^32-1 free variables",
         [131, 112, 0, 0, 0, 60, 1] + [UInt8](repeating: 7, count: 16) + [0, 0, 0, 1, 255, 255, 255, 255, 119, 1, 109, 97, 1, 97, 1,
          88, 119, 1, 110, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 97, 1], 1),
    ] as [(String, [UInt8], Int)])
    func lengthClaimsBeyondTheBufferFailAtTheClaim(_ name: String, _ bytes: [UInt8], _ offset: Int) {
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            do throws(TermDecodingError) {
                _ = try TermDecoder().decode(bytes)
                Issue.record("\(name) decoded")
            } catch {
                #expect(error.offset == offset, "\(name): \(error)")
                switch error.kind {
                case .truncated, .invalid: break
                default: Issue.record("\(name): unexpected \(error)")
                }
            }
        }
        // Microseconds when nothing is allocated for the claim; the bound leaves room for a loaded machine.
        #expect(elapsed < .milliseconds(500), "\(name) took \(elapsed): did it allocate for the claim?")
    }

    // MARK: Tags

    @Test func everyTagByteGivesATermOrTheRightTypedError() {
        let known = Set<UInt8>([70, 77, 80, 82, 88, 89, 90, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109,
                                110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121])
        for tag in UInt8.min...UInt8.max {
            let bytes: [UInt8] = [131, tag] + [UInt8](repeating: 0, count: 40)
            do {
                _ = try TermDecoder().decode(bytes)
            } catch {
                switch tag {
                case 121: #expect(error == TermDecodingError(.localEncoding, at: 1))
                case 82: #expect(error == TermDecodingError(.atomCacheReference, at: 1))
                case 117: #expect(error == TermDecodingError(.obsoleteFun, at: 1))
                case _ where !known.contains(tag): #expect(error == TermDecodingError(.unknownTag(tag), at: 1))
                default: break
                }
                continue
            }
            #expect(known.contains(tag) && ![121, 82, 117].contains(tag), "tag \(tag) decoded")
        }
        #expect(throws: TermDecodingError(.badVersion(130), at: 0)) { try TermDecoder().decode([130, 97, 1]) }
        #expect(throws: TermDecodingError(.truncated, at: 0)) { try TermDecoder().decode([]) }
        #expect(throws: TermDecodingError(.trailingBytes(count: 1), at: 3)) { try TermDecoder().decode([131, 97, 1, 0]) }
        // Without the version byte (inside distribution messages), an unknown tag at a given offset.
        var offset = 2
        #expect(throws: TermDecodingError(.unknownTag(3), at: 2)) { try TermDecoder().decodeBody([9, 9, 3][...], at: &offset) }
    }

    // MARK: Compression

    private func compressed(_ body: [UInt8], claiming size: Int? = nil, level: Int32 = 9) -> [UInt8] {
        let packed = Zlib.deflate(body[...], level: level)
        let n = UInt32(size ?? body.count)
        return [131, 80, UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + packed
    }

    @Test func zlibBombsAndLyingSizesAreErrors() throws {
        let hundredMB = 100 << 20
        var body: [UInt8] = [109, UInt8(hundredMB >> 24), UInt8(hundredMB >> 16 & 0xFF), 0, 0]
        body += [UInt8](repeating: 0, count: hundredMB)
        let bomb = compressed(body)
        #expect(bomb.count < 200_000)
        // Under a 1 MB limit, refused from the header alone.
        var options = TermDecoder.Options()
        options.maxUncompressedSize = 1 << 20
        #expect(throws: TermDecodingError.self) { try TermDecoder(options: options).decode(bomb) }
        do {
            _ = try TermDecoder(options: options).decode(bomb)
        } catch {
            guard case .compression = error.kind else { Issue.record("\(error)"); return }
            #expect(error.offset == 1)
        }
        // A genuine 100 MB term within the default limit decodes.
        #expect(try TermDecoder().decode(bomb).binaryValue?.count == hundredMB)

        let small: [UInt8] = [104, 2, 97, 1, 97, 2]
        let cases: [(String, [UInt8])] = [
            ("claims 4 GB from a few bytes", compressed(small, claiming: Int(UInt32.max))),
            ("claims more than it holds", compressed(small, claiming: small.count + 1)),
            ("claims less than it holds", compressed(small, claiming: small.count - 1)),
            ("claims zero", compressed(small, claiming: 0)),
            ("broken zlib", [131, 80, 0, 0, 0, 6, 0x78, 0x9C, 1, 2, 3, 4, 5]),
            ("zlib cut short", Array(compressed(small).dropLast(3))),
            ("header only", [131, 80, 0, 0, 0, 6]),
            ("header cut", [131, 80, 0, 0]),
            ("compressed inside compressed", compressed([80] + Array(compressed(small).dropFirst(2)))),
            ("trailing term inside", compressed(small + [97, 1])),
        ]
        for (name, bytes) in cases {
            #expect(throws: TermDecodingError.self, "\(name)") { try TermDecoder().decode(bytes) }
        }
        #expect(try TermDecoder().decode(compressed(small)) == .tuple([1, 2]))
        // A problem inside names both places: the compressed data in the input, the byte in the term.
        let badTag = TermDecodingError(.unknownTag(200), at: 6, uncompressedOffset: 4)
        #expect(throws: badTag) { try TermDecoder().decode(compressed([104, 2, 97, 1, 200])) }
        #expect(badTag.description == "unknown tag 200 (at byte 4 of the term compressed at byte 6)")
        // A bomb that inflates past its claim stops at the claim.
        #expect(throws: TermDecodingError.self) { try TermDecoder().decode(compressed(body, claiming: 1000)) }
    }

    // MARK: Memory

    /// Small terms that take 4 to 50 times their bytes once decoded: a slot in their list, and
    /// at least 64 bytes of their own.
    static let expanding: [(String, [UInt8])] = [
        ("{[]}", [104, 1, 106]), ("{[], []}", [104, 2, 106, 106]), ("\"A\"", [107, 0, 1, 65]),
        ("<<>>", [109, 0, 0, 0, 0]), ("[[]]", [108, 0, 0, 0, 1, 106, 106]), ("%{[] => []}", [116, 0, 0, 0, 1, 106, 106]),
        ("<<7:3>>", [77, 0, 0, 0, 1, 3, 0xE0]), ("2^64", [110, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
        ("#Ref", [90, 0, 1, 119, 0, 0, 0, 0, 0, 0, 0, 0, 1]), ("&:m.f/0", [113, 119, 1, 109, 119, 1, 102, 97, 0]),
        ("pid", [88, 119, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]),
        ("fun", [112, 0, 0, 0, 0, 0] + [UInt8](repeating: 0, count: 16) + [0, 0, 0, 0, 0, 0, 0, 0, 119, 1, 109, 97, 0, 97, 0,
                                                                          88, 119, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]),
    ]

    /// `[Item, Item, ...]` with `count` items.
    private func listOf(_ item: [UInt8], count: Int) -> [UInt8] {
        var out: [UInt8] = [131, 108, UInt8(count >> 24), UInt8(count >> 16 & 0xFF), UInt8(count >> 8 & 0xFF), UInt8(count & 0xFF)]
        out.reserveCapacity(out.count + item.count * count + 1)
        for _ in 0..<count { out += item }
        out.append(106)
        return out
    }

    /// A compressed term of a few kilobytes can stand for a gigabyte of terms; the memory limit
    /// stops the decoder before it allocates past the limit, whichever kind of term takes it.
    @Test func decodedMemoryIsBoundedByTheLimit() throws {
        #expect(TermDecoder.Options().maxTermMemory == 1 << 30)
        let limit = 4 << 20
        var options = TermDecoder.Options()
        options.maxTermMemory = limit
        let limited = TermDecoder(options: options)
        let slot = MemoryLayout<Term>.stride
        // A list whose slots alone take more is refused at its header, before anything is allocated.
        let nils = listOf([106], count: 2 * limit / slot)
        for bytes in [nils, compressed(Array(nils.dropFirst()))] {
            #expect(throws: TermDecodingError(.tooLarge(limit: limit), at: bytes == nils ? 1 : 6, uncompressedOffset: bytes == nils ? nil : 0)) {
                try limited.decode(bytes)
            }
        }
        #expect(throws: Never.self) { try limited.decode(listOf([106], count: limit / slot / 2)) }
        for (name, item) in Self.expanding {
            // A list of these that takes about a tenth of the limit decodes...
            #expect(throws: Never.self, "\(name)") { try limited.decode(listOf(item, count: 4_000)) }
            // ... and one whose slots take half the limit is refused at one of its items, compressed or not.
            let plain = listOf(item, count: limit / 2 / slot)
            let bomb = compressed(Array(plain.dropFirst()))
            #expect(bomb.count < plain.count / 50, "\(name)")
            for bytes in [plain, bomb] {
                do {
                    _ = try limited.decode(bytes)
                    Issue.record("\(name): decoded")
                } catch {
                    #expect(error.kind == .tooLarge(limit: limit), "\(name): \(error)")
                    #expect((error.uncompressedOffset ?? error.offset) >= 5, "\(name): \(error)")  // (past the list's header)
                }
            }
        }
        let error = TermDecodingError(.tooLarge(limit: 1 << 30), at: 7)
        #expect(error.description == "the term would take more than 1073741824 bytes of memory once decoded (at byte 7)")
    }

    // MARK: Atoms and maps

    @Test(arguments: [
        [0xC3, 0x28], [0xC0, 0x80], [0x80], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
        [0xF8, 0x88, 0x80, 0x80, 0x80], [0xFF], [0x61, 0xFE, 0x61],
    ] as [[UInt8]])
    func badUTF8AtomsAreErrors(_ text: [UInt8]) {
        let small: [UInt8] = [131, 119, UInt8(text.count)] + text
        let large: [UInt8] = [131, 118, 0, UInt8(text.count)] + text
        let inPid: [UInt8] = [131, 88, 119, UInt8(text.count)] + text + [UInt8](repeating: 0, count: 12)
        for bytes in [small, large, inPid] {
            #expect(throws: TermDecodingError.self) { try TermDecoder().decode(bytes) }
        }
        // The same bytes as a Latin-1 atom are fine: each byte is a code point.
        #expect(throws: Never.self) { try TermDecoder().decode([131, 115, UInt8(text.count)] + text) }
    }

    /// The decoder's atom cache compares the bytes read with an atom's own UTF-8: the same bytes
    /// in a Latin-1 atom and a UTF-8 atom are different atoms, and so are a Latin-1 `é` and the
    /// Latin-1 reading of its UTF-8 bytes, in any order and however often each repeats.
    @Test func latin1AndUTF8AtomsWithTheSameBytesStayApart() throws {
        let eUTF8: [UInt8] = [0xC3, 0xA9]
        let utf8Atom: [UInt8] = [119, 2] + eUTF8            // SMALL_ATOM_UTF8_EXT "é"
        let latin1OfThoseBytes: [UInt8] = [115, 2] + eUTF8  // SMALL_ATOM_EXT "Ã©"
        let latin1E: [UInt8] = [115, 1, 0xE9]               // SMALL_ATOM_EXT "é"
        let asciiUTF8: [UInt8] = [119, 2, 0x6F, 0x6B]       // ok, both ways
        let asciiLatin1: [UInt8] = [115, 2, 0x6F, 0x6B]
        let parts = [utf8Atom, latin1OfThoseBytes, latin1E, asciiUTF8, asciiLatin1]
        let names = ["é", "Ã©", "é", "ok", "ok"]
        // Every order of the five, each twice, past the two inline entries into the table.
        for rotation in 0..<parts.count {
            let order = (0..<parts.count).map { (rotation + $0) % parts.count }
            let elements = order + order
            var bytes: [UInt8] = [131, 104, UInt8(elements.count)]
            for i in elements { bytes += parts[i] }
            let term = try TermDecoder().decode(bytes)
            #expect(term == .tuple(elements.map { .atom(Atom(names[$0])) }), "order \(order)")
        }
    }

    /// Containers are put in their parent before they are filled, and a parent whose last slot
    /// is taken is finished at once: the shapes where that matters decode to the same terms as
    /// `binary_to_term` gives, and errors found after the early finish still free everything.
    @Test func containersFilledAfterTheirParentIsFinished() throws {
        let decode = { (bytes: [UInt8]) in try TermDecoder().decode([131] + bytes) }
        // A duplicate key is found although the map's last value is still being filled.
        let dupThenNested: [UInt8] = [116, 0, 0, 0, 2, 97, 1, 97, 1, 97, 1, 104, 2, 97, 7, 104, 1, 106]
        #expect(throws: TermDecodingError(.invalid("map has a duplicate key"), at: 1)) { try decode(dupThenNested) }
        // The same with distinct keys: #{1 => 1, 2 => {7, {[]}}}.
        var distinct = dupThenNested
        distinct[10] = 2
        #expect(try decode(distinct) == .map(TermMap([(1, 1), (2, .tuple([7, .tuple([[]])]))])))
        // A list that grows through LIST_EXT tails, as the last element of a tuple and as an element
        // of another list: its storage is replaced while its parent holds it.
        let growing: [UInt8] = [108, 0, 0, 0, 1, 97, 1, 108, 0, 0, 0, 3, 97, 2, 97, 3, 97, 4, 107, 0, 2, 5, 6]
        #expect(try decode([104, 2, 97, 0] + growing) == .tuple([0, [1, 2, 3, 4, 5, 6]]))
        #expect(try decode([108, 0, 0, 0, 2] + growing + growing + [106]) == [[1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6]])
        #expect(try decode([116, 0, 0, 0, 1] + growing + growing) == .map(TermMap([([1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6])])))
        // A tuple as an improper tail, itself holding an improper list: [1 | {[2 | 3]}].
        let improper: [UInt8] = [108, 0, 0, 0, 1, 97, 1, 104, 1, 108, 0, 0, 0, 1, 97, 2, 97, 3]
        #expect(try decode(improper) == .list(TermList([1], tail: .tuple([.list(TermList([2], tail: 3))]))))
        // A fun whose last free variable is a container.
        let fun = try TermEncoder().encode(.fun(Fun(
            arity: 0, uniq: Array(repeating: 9, count: 16), index: 1, module: "m", oldIndex: 1, oldUniq: 2,
            pid: Pid(node: "n@h", id: 1, serial: 0, creation: 3), freeVariables: [1, .tuple([2, .tuple([3])])])))
        #expect(try TermEncoder().encode(try TermDecoder().decode(fun)) == fun)
        // Cut anywhere, a 10,000-level chain of {N, {N, ...}} is an error, never a crash or a leak
        // of the part already built (checked under AddressSanitizer by the fuzzer's build).
        var chain: [UInt8] = [131]
        for n in 0..<10_000 { chain += [104, 2, 98] + withUnsafeBytes(of: UInt32(n).bigEndian, Array.init) }
        chain += [104, 0]
        #expect(try TermDecoder().decode(chain).tupleElements?.count == 2)
        for cut in [chain.count - 1, chain.count / 2, 9] {
            #expect(throws: TermDecodingError.self) { try TermDecoder().decode(Array(chain[..<cut])) }
        }
    }

    /// A run of small tuples, each the last element of the one before, is decoded by a loop of
    /// its own (`followTupleChain`). It makes the main loop's checks, with the same errors at the
    /// same offsets, and hands back to the main loop at any other term, wherever it comes.
    @Test func tupleChainsMeetEveryCheckOfTheMainLoop() throws {
        // {0, {1, {2, ... {}}}}: level k's tag at offset 1 + 4k.
        func pairChain(_ depth: Int) -> [UInt8] {
            var bytes: [UInt8] = [131]
            for k in 0..<depth { bytes += [104, 2, 97, UInt8(k & 0x7F)] }
            return bytes + [104, 0]
        }
        var options = TermDecoder.Options()
        options.maxDepth = 500
        #expect(try TermDecoder(options: options).decode(pairChain(499)).tupleElements?.count == 2)
        #expect(throws: TermDecodingError(.tooDeep(limit: 500), at: 1 + 4 * 500)) {
            try TermDecoder(options: options).decode(pairChain(501))
        }
        // A tuple in the chain that claims more terms than bytes are left.
        var lying = pairChain(100)
        lying[1 + 4 * 80 + 1] = 250
        #expect(throws: TermDecodingError(.invalid("claims 250 terms (a list's tail counts as one) with 80 bytes left"),
                                          at: 1 + 4 * 80)) {
            try TermDecoder().decode(lying)
        }
        // The memory limit, crossed part-way down the chain.
        options = TermDecoder.Options()
        let each = ContainerStorage.cost(capacity: 2)
        options.maxTermMemory = 100 * each + each / 2
        #expect(throws: TermDecodingError(.tooLarge(limit: options.maxTermMemory), at: 1 + 4 * 100)) {
            try TermDecoder(options: options).decode(pairChain(300))
        }
        // Chains whose tuples hold other terms before their last: each decodes to the term it encodes.
        var shapes: [Term] = []
        var chain: Term = .tuple([])
        let heads: [[Term]] = [
            [], [1], [.atom("a"), 2], [[1, 2]], [.float(1.5), .binary(Binary([1, 2]))], [.map(TermMap([(1, 2)]))],
            [.tuple([])], [.integer(1 << 40), .atom("b")], [.emptyList, .emptyList, .emptyList, 7],
            [.tuple([1, .tuple([2])])], [.list(TermList([1], tail: 2))], [.charlist("hi")],
        ]
        for round in 0..<60 {
            let head = heads[round % heads.count]
            chain = .tuple(TermArray(head + [chain]))
            shapes.append(chain)
        }
        shapes.append(.list(TermList([.tuple([1, .tuple([2, .tuple([])])])], tail: .tuple([3, .tuple([4])]))))
        shapes.append(.map(TermMap([(.tuple([1, .tuple([2])]), .tuple([3, .tuple([4, .tuple([])])]))])))
        shapes.append(.tuple(TermArray(Array(repeating: 0, count: 300) + [.tuple([1, .tuple([2])])])))  // LARGE_TUPLE_EXT
        for term in shapes {
            let bytes = try TermEncoder().encode(term)
            let decoded = try TermDecoder().decode(bytes)
            #expect(Bool(decoded == term))
            #expect(try TermEncoder().encode(decoded) == bytes)
        }
    }

    @Test func duplicateMapKeysAreErrorsEvenWhenEncodedDifferently() throws {
        let keyPairs: [(String, [UInt8], [UInt8])] = [
            ("same atom", [119, 1, 97], [119, 1, 97]),
            ("UTF-8 and Latin-1 atom", [119, 1, 97], [100, 0, 1, 97]),
            ("small and 32-bit integer", [97, 1], [98, 0, 0, 0, 1]),
            ("integer and non-canonical bignum", [97, 1], [110, 2, 0, 1, 0]),
            ("STRING_EXT and LIST_EXT", [107, 0, 2, 1, 2], [108, 0, 0, 0, 2, 97, 1, 97, 2, 106]),
            ("nested tuples", [104, 1, 104, 0], [105, 0, 0, 0, 1, 104, 0]),
        ]
        for (name, k1, k2) in keyPairs {
            let bytes: [UInt8] = [131, 116, 0, 0, 0, 2] + k1 + [97, 1] + k2 + [97, 2]
            #expect(throws: TermDecodingError(.invalid("map has a duplicate key"), at: 1), "\(name)") {
                try TermDecoder().decode(bytes)
            }
        }
        // 1 and 1.0 are different keys.
        let distinct: [UInt8] = [131, 116, 0, 0, 0, 2, 97, 1, 97, 1, 70, 63, 240, 0, 0, 0, 0, 0, 0, 97, 2]
        #expect(try TermDecoder().decode(distinct).mapValue?.count == 2)
        // A duplicate among 1000 keys.
        var big: [UInt8] = [131, 116, 0, 0, 3, 232]
        for k in 0..<1000 { big += [98] + withUnsafeBytes(of: UInt32(k == 999 ? 500 : k).bigEndian, Array.init) + [106] }
        #expect(throws: TermDecodingError.self) { try TermDecoder().decode(big) }
    }

    /// Big maps take the fast duplicate check (cheap hashes, open addressing) and fall back to
    /// a seeded `Set<Term>` when probes run long; both must agree with the plain set.
    @Test(arguments: [MapKeyCheck.maxProbe, 0])
    func duplicateKeysAmongManyAreFoundByEitherPath(maxProbe: Int) {
        let makers: [(String, (Int) -> Term)] = [
            ("binary", { .binary(Binary("key\($0)")) }),
            // 1 to 24 bytes (whole words and every tail length), differing in one byte anywhere.
            ("binary of every length", { i in
                let length = 1 + i % 24, k = i / 24
                var bytes = [UInt8](repeating: 0, count: length)
                bytes[k % length] = UInt8(k + 1)
                return .binary(Binary(bytes))
            }),
            ("atom", { .atom(Atom("atom_\($0)")) }),
            ("integer", { .integer($0 * 7_919 - 3_000_000) }),
            ("tuple", { .tuple([.integer($0), .atom("x")]) }),
            ("string list", { .list(TermList(Array("s\($0)".utf8).map { .integer(Int($0)) })) }),
            ("mixed", { i in [Term.integer(i), .binary(Binary("\(i)")), .atom(Atom("\(i)")), .float(Double(i))][i % 4] }),
        ]
        for (name, make) in makers {
            var keys = (0..<1000).map(make)
            let unique = keys.flatMap { [$0, .integer(0)] }
            #expect(!MapKeyCheck.hasDuplicateKey(unique, maxProbe: maxProbe), "\(name)")
            for position in [1, 500, 999] {
                keys[position] = make(position / 3)
                let repeated = keys.flatMap { [$0, .nil] }
                #expect(MapKeyCheck.hasDuplicateKey(repeated, maxProbe: maxProbe), "\(name) at \(position)")
                keys[position] = make(position)
            }
        }
        // Equal keys written in different encodings hash alike: 1000 keys, then the duplicate.
        var bytes: [UInt8] = [131, 116, 0, 0, 3, 233]
        for k in 0..<1000 { bytes += [119, 5] + Array("k\(1000 + k)".utf8) + [97, 1] }
        bytes += [100, 0, 5] + Array("k1500".utf8) + [97, 2]  // Latin-1 ATOM_EXT of an earlier key
        #expect(throws: TermDecodingError(.invalid("map has a duplicate key"), at: 1)) { try TermDecoder().decode(bytes) }
    }

    // MARK: Fuzz corpus

    /// Inputs kept from libFuzzer runs (scripts/fuzz-decoder): each gives a term or a typed error.
    @Test func fuzzCorpusInputsGiveATermOrATypedError() throws {
        #expect(Golden.fuzzCorpus.count >= 20, "keep the fuzz corpus in Golden/fuzz-corpus")
        for (name, bytes) in Golden.fuzzCorpus {
            guard let term = try? TermDecoder().decode(bytes) else { continue }
            let again = try TermEncoder().encode(term)
            #expect(Bool(try TermDecoder().decode(again) == term), "\(name)")
        }
    }
}
