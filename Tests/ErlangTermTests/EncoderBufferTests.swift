import Testing
@testable import ErlangTerm

/// Appending encodings to a buffer that already holds bytes (as distribution messages do), and
/// the buffer's state when a term cannot be encoded.
@Suite struct EncoderBufferTests {
    let term: Term = .tuple([.atom("reply"), [1, 2, 300], .binary("payload"), .map(TermMap([(key: 1, value: 2)]))])

    @Test func appendingKeepsThePrefixAndAddsTheSameBytesAsAStandaloneEncoding() throws {
        let standalone = try TermEncoder().encode(term)
        var buffer: [UInt8] = [112]
        try TermEncoder.encodeVersioned(.atom("control"), into: &buffer)
        let prefix = buffer
        try TermEncoder.encodeVersioned(term, into: &buffer)
        #expect(Array(buffer.prefix(prefix.count)) == prefix)
        #expect(Array(buffer.dropFirst(prefix.count)) == standalone)

        var body: [UInt8] = [7]
        try TermEncoder.encodeBody(term, into: &body)
        #expect(body == [7] + standalone.dropFirst())
    }

    @Test(arguments: [[UInt8](), [112, 131, 100]])
    func aTermThatCannotBeEncodedLeavesTheBufferUnchanged(prefix: [UInt8]) {
        // Six id words: a reference has one to five. Nested, so the error comes mid-term.
        let bad: Term = .tuple([1, .reference(Reference(node: "a@b", creation: 1, ids: [1, 2, 3, 4, 5, 6]))])
        var buffer = prefix
        #expect(throws: TermEncodingError.self) { try TermEncoder.encodeVersioned(bad, into: &buffer) }
        #expect(buffer == prefix)
        #expect(throws: TermEncodingError.self) { try TermEncoder.encodeBody(bad, into: &buffer) }
        #expect(buffer == prefix)
    }

    @Test func listTailsInEveryEncodingBuildOneList() throws {
        // [1 | "\x02\x03"]: LIST_EXT of one element whose tail is a STRING_EXT.
        let stringTail: [UInt8] = [131, 108, 0, 0, 0, 1, 97, 1, 107, 0, 2, 2, 3]
        #expect(try TermDecoder().decode(stringTail) == .list([1, 2, 3]))
        // [1 | [2 | [3 | four]]]: LIST_EXT tails chained, ending improper.
        let chained: [UInt8] = [131, 108, 0, 0, 0, 1, 97, 1, 108, 0, 0, 0, 1, 97, 2,
                                108, 0, 0, 0, 1, 97, 3, 119, 4, 102, 111, 117, 114]
        let decoded = try TermDecoder().decode(chained)
        #expect(decoded == .list(TermList([1, 2, 3], tail: .atom("four"))))
        // Re-encoded the way the BEAM writes it: one LIST_EXT with an atom tail.
        #expect(try TermEncoder().encode(decoded) == [131, 108, 0, 0, 0, 3, 97, 1, 97, 2, 97, 3, 119, 4, 102, 111, 117, 114])
    }
}

/// Large binaries are spliced into the output rather than copied into the encoder's buffer; the
/// bytes around them, and a fun's size field after one, must come out where they belong.
@Suite struct LargeBinaryEncodingTests {
    func bytes(_ count: Int, seed: UInt8) -> Term {
        .binary(Binary((0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }))
    }

    @Test func largeBinariesAmongOtherTermsRoundTrip() throws {
        let term: Term = .tuple([bytes(70_000, seed: 1), 1, bytes(10, seed: 2),
                                 [bytes(100_000, seed: 3), .atom("between"), bytes(65_536, seed: 4)], 2.5])
        let encoded = try TermEncoder().encode(term)
        #expect(try TermDecoder().decode(encoded) == term)
        // 131, {5-tuple}, binary header + 70,000 bytes, then 1 as SMALL_INTEGER right after them.
        #expect(encoded.count == 1 + 2 + (5 + 70_000) + 2 + (5 + 10) + 5 + (5 + 100_000) + 9 + (5 + 65_536) + 1 + 9)
        #expect(Array(encoded[(3 + 5 + 70_000)...].prefix(2)) == [97, 1])

        var appended: [UInt8] = [112]
        try TermEncoder.encodeVersioned(term, into: &appended)
        #expect(Array(appended.dropFirst()) == encoded)
    }

    @Test func aFunAfterALargeBinaryGetsItsSizeRight() throws {
        let fun = Fun(arity: 1, uniq: Array(repeating: 7, count: 16), index: 3, module: "m", oldIndex: 3, oldUniq: 99,
                      pid: Pid(node: "a@b", id: 1, serial: 0, creation: 1),
                      freeVariables: [bytes(65_536, seed: 5), 42])
        let term: Term = .tuple([bytes(70_000, seed: 6), .fun(fun)])
        let encoded = try TermEncoder().encode(term)
        #expect(try TermDecoder().decode(encoded) == term)
        let tagAt = 1 + 2 + 5 + 70_000
        #expect(encoded[tagAt] == ExternalTermTag.newFun.rawValue)
        // The size counts from the size field itself to the end of the fun, here the end of all.
        let size = encoded[(tagAt + 1)..<(tagAt + 5)].reduce(0) { $0 << 8 | Int($1) }
        #expect(size == encoded.count - (tagAt + 1))
    }
}

/// The encoder copies a repeated atom's encoding from where it last wrote it.
@Suite struct RepeatedAtomEncodingTests {
    @Test func repeatedAndInterleavedAtomsEncodeAsTheBEAMWritesThem() throws {
        #expect(try TermEncoder().encode([.atom("x"), .atom("x")]) == [131, 108, 0, 0, 0, 2, 119, 1, 120, 119, 1, 120, 106])
        let pid = Pid(node: "node@host", id: 5, serial: 0, creation: 1)
        let term: Term = [.atom("node@host"), .pid(pid), .atom("y"), .pid(pid), .atom("y"), .atom("node@host"),
                          .tuple([.atom("y"), .binary(Binary(Array(repeating: 1, count: 70_000))), .atom("y")])]
        let encoded = try TermEncoder().encode(term)
        #expect(try TermDecoder().decode(encoded) == term)
        // Atoms: 2 + 9 bytes each; pids: tag + atom + 12.
        let atom = 2 + 9, y = 2 + 1, pidBytes = 1 + atom + 12
        #expect(encoded.count == 1 + 5 + atom + pidBytes + y + pidBytes + y + atom + (2 + y + 5 + 70_000 + y) + 1)
    }

    /// A pid whose node atom was just written is written whole from the earlier bytes: runs of
    /// one node's pids, nodes alternating, and enough pids that the buffer grows (and may move)
    /// between the atom's first writing and its copies. Checked byte for byte against NEW_PID_EXT
    /// written out by hand.
    @Test func runsOfOneNodesPidsEncodeByteForByte() throws {
        let nodes: [Atom] = ["a@h", "app@fd00::1234:5678:9abc", "node_with_a_longer_name@some.host.example"]
        var pids: [Term] = []
        var expected: [UInt8] = [131, 108] + withUnsafeBytes(of: UInt32(3_000).bigEndian, Array.init)
        for i in 0..<3_000 {
            let node = nodes[(i / 7 + i / 500) % nodes.count]  // runs of 7, shifted every 500
            let pid = Pid(node: node, id: UInt32(i), serial: UInt32(i % 13), creation: 0xDEAD_BEEF)
            pids.append(.pid(pid))
            expected += [88, 119, UInt8(node.name.utf8.count)] + Array(node.name.utf8)
            for word in [pid.id, pid.serial, pid.creation] { expected += withUnsafeBytes(of: word.bigEndian, Array.init) }
        }
        expected.append(106)
        let encoded = try TermEncoder().encode(.list(TermList(pids)))
        #expect(encoded == expected)
        #expect(try TermDecoder().decode(encoded) == .list(TermList(pids)))
    }
}

