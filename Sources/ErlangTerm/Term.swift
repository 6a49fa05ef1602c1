// The value model of the Erlang external term format.
// https://www.erlang.org/doc/apps/erts/erl_ext_dist.html

import BigInt

/// An Erlang term as it travels between nodes.
///
/// `Term` is a value type. Containers (tuples, lists, maps) share immutable storage that
/// is freed iteratively, so even a term nested a million levels deep is released without
/// recursion. Equality and hashing follow Erlang's exact equality (`=:=`): `1` and `1.0`
/// differ, map equality ignores the order of pairs, and a list encoded as `STRING_EXT`
/// equals the same list of integers.
public enum Term: Sendable {
    /// An integer that fits in a machine word. Larger integers are ``bigInteger(_:)``;
    /// the decoder normalises, so a value has exactly one representation.
    case integer(Int)
    /// An integer outside the range of `Int`.
    indirect case bigInteger(BigInt)
    case float(Double)
    case atom(Atom)
    case tuple(TermArray)
    /// A list. ``TermList/empty`` is `[]`; a non-`nil` tail makes the list improper.
    case list(TermList)
    case map(TermMap)
    indirect case binary(Binary)
    /// A bitstring whose last byte holds `bitsInLastByte` (1...7) significant high bits.
    indirect case bitstring(Bitstring)
    indirect case pid(Pid)
    indirect case port(Port)
    indirect case reference(Reference)
    indirect case fun(Fun)
    indirect case export(ExportFun)
}

// MARK: - Atoms

/// An Erlang atom. Stored as its UTF-8 text; at most 255 characters on a real node.
public struct Atom: Hashable, Sendable, Comparable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let name: String
    public init(_ name: String) { self.name = name }
    public init(stringLiteral value: String) { self.name = value }
    public var description: String { name }
    public static func < (lhs: Atom, rhs: Atom) -> Bool { lhs.name < rhs.name }

    public static let `true`: Atom = "true"
    public static let `false`: Atom = "false"
    public static let `nil`: Atom = "nil"
    public static let ok: Atom = "ok"
    public static let error: Atom = "error"
    public static let undefined: Atom = "undefined"
}

// MARK: - Binaries

/// The bytes of an Erlang binary. Shares the decoded buffer instead of copying it,
/// as the BEAM does with sub-binaries; indices are zero-based.
public struct Binary: Hashable, Sendable, RandomAccessCollection {
    public let bytes: ArraySlice<UInt8>

    public init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }
    public init(_ bytes: [UInt8]) { self.bytes = bytes[...] }
    public init(_ string: String) { self.bytes = Array(string.utf8)[...] }

    public var startIndex: Int { 0 }
    public var endIndex: Int { bytes.count }
    public subscript(position: Int) -> UInt8 { bytes[bytes.startIndex + position] }

    /// The bytes as UTF-8 text, or `nil` when they are not valid UTF-8.
    public var utf8String: String? {
        bytes.withUnsafeBufferPointer { String(validating: $0, as: UTF8.self) }
    }

    public static func == (lhs: Binary, rhs: Binary) -> Bool { lhs.bytes.elementsEqual(rhs.bytes) }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(bytes.count)
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}

/// A bitstring whose length is not a whole number of bytes.
public struct Bitstring: Hashable, Sendable {
    /// The bytes; the last one holds `bitsInLastByte` significant bits, the rest are zero.
    public let bytes: Binary
    /// 1...8; 8 would be a plain binary and is normalised to one by the decoder.
    public let bitsInLastByte: UInt8
    public init(bytes: Binary, bitsInLastByte: UInt8) {
        self.bytes = bytes
        self.bitsInLastByte = bitsInLastByte
    }
    public var bitCount: Int { bytes.isEmpty ? 0 : (bytes.count - 1) * 8 + Int(bitsInLastByte) }
}

// MARK: - Identifiers

/// A process identifier.
public struct Pid: Hashable, Sendable {
    public var node: Atom
    public var id: UInt32
    public var serial: UInt32
    public var creation: UInt32
    public init(node: Atom, id: UInt32, serial: UInt32, creation: UInt32) {
        self.node = node
        self.id = id
        self.serial = serial
        self.creation = creation
    }
}

/// A port identifier. Ids above 32 bits travel as `V4_PORT_EXT`.
public struct Port: Hashable, Sendable {
    public var node: Atom
    public var id: UInt64
    public var creation: UInt32
    public init(node: Atom, id: UInt64, creation: UInt32) {
        self.node = node
        self.id = id
        self.creation = creation
    }
}

/// A reference: up to five 32-bit words, least significant first, as on the wire.
public struct Reference: Hashable, Sendable {
    public var node: Atom
    public var creation: UInt32
    public var ids: [UInt32]
    public init(node: Atom, creation: UInt32, ids: [UInt32]) {
        self.node = node
        self.creation = creation
        self.ids = ids
    }
}

// MARK: - Funs

/// A local fun (`NEW_FUN_EXT`): only meaningful to a node that has its module loaded.
public struct Fun: Hashable, Sendable {
    public var arity: UInt8
    public var uniq: [UInt8]  // 16 bytes, MD5 of the module
    public var index: UInt32
    public var module: Atom
    public var oldIndex: Int
    public var oldUniq: Int
    /// The process that created the fun.
    public var pid: Pid
    public var freeVariables: TermArray
    public init(
        arity: UInt8, uniq: [UInt8], index: UInt32, module: Atom,
        oldIndex: Int, oldUniq: Int, pid: Pid, freeVariables: TermArray
    ) {
        self.arity = arity
        self.uniq = uniq
        self.index = index
        self.module = module
        self.oldIndex = oldIndex
        self.oldUniq = oldUniq
        self.pid = pid
        self.freeVariables = freeVariables
    }
}

/// An external fun, `fun Module:Function/Arity` (`EXPORT_EXT`).
public struct ExportFun: Hashable, Sendable {
    public var module: Atom
    public var function: Atom
    public var arity: UInt8
    public init(module: Atom, function: Atom, arity: UInt8) {
        self.module = module
        self.function = function
        self.arity = arity
    }
}
