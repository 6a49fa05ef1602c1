// A varied set of terms without pids, ports, references or funs: everything that must print
// as text the runtimes read back.

import BigInt
import ErlangTerm

enum TermCorpus {
    static func bytes(_ values: [UInt8]) -> Term { .binary(Binary(values)) }
    static func chars(_ values: [Int]) -> Term { .list(values.map { .integer($0) }) }
    static func pairs(_ pairs: [(Term, Term)]) -> Term { .map(pairs.map { (key: $0.0, value: $0.1) }) }

    /// Terms whose printing matches the runtimes' own (`~p` on OTP 25, `inspect/2` on Elixir 1.14).
    static let common: [Term] = [
        0, 1, -1, 255, 256, -256, 2_147_483_647, -2_147_483_648, .integer(Int.max), .integer(Int.min),
        .integer(BigInt(1) << 64), .integer(-(BigInt(1) << 70) + 1), .integer(BigInt(10).power(40)),
        0.0, -0.0, 1.0, 0.1, 0.5, 1e-5, 1e20, 1e21, 1e15, 1e16, 123456.0, 1234567.0, 12345678901234567.0,
        1.5e300, .float(.leastNonzeroMagnitude), .float(.greatestFiniteMagnitude), 100.0, 1000.0, 0.000123, 0.00123, 0.0001,
        9007199254740992.0, 9007199254740990.0, -1000.0, 3.14159, .float(1.0 / 3.0), 2.5e-7, -1.5e-300,
        .atom("ok"), .atom(""), .atom("a b"), .atom("Elixir.Foo"), .atom("Elixir.Foo.Bar"), .atom("Elixir"),
        .atom("Elixir.Elixir"), .atom("Elixir.Elixir.Foo"), .atom("query"),
        .atom("Elixir.foo"), .atom("Elixir."), .true, .false, .nil, .atom("end"), .atom("case"), .atom("Foo"),
        .atom("_"), .atom("_foo"), .atom("foo?"), .atom("foo!"), .atom("a@b"), .atom("+"), .atom("::"),
        .atom("<|>"), .atom("a'b"), .atom("a\"b"), .atom("a\\b"), .atom("#{x}"), .atom("\n"), .atom("\u{1}"),
        .atom("\u{7f}"), .atom("nonode@nohost"), .atom("app@host.domain"), .atom("..."), .atom("%{}"),
        .atom("//"), .atom("when"), .atom("A"), .atom("1a"), .atom("&&&"), .atom("\\\\"), .atom("|"),
        .binary(""), .binary("abc"), .binary("a\nb\tc"), .binary("\"q\""), .binary("\\"), .binary("#{x}"),
        .binary("#a"), .binary("a#"), .binary("\\#{"), bytes([0, 1, 2]), bytes([255]), bytes([128]), bytes([200]),
        bytes([0x7f]), .binary("a\u{7}b"), .binary("\u{1b}[1m"), .binary("\u{FEFF}"),
        .bitstring(Bitstring(bytes: Binary([0b1010_0000]), bitsInLastByte: 3)),
        .bitstring(Bitstring(bytes: Binary([97, 98, 0b1010_0000]), bitsInLastByte: 3)),
        .charlist("abc"), .charlist("hello world"), .charlist("a\"b"), .charlist("a'b"), .charlist("#{x}"),
        chars([7]), chars([127]), chars([8, 9, 10, 11, 12, 13, 27]), chars([0x100]), chars([97, 0]), .emptyList,
        .tuple([]), .tuple([1]), .tuple([1, .tuple([2, .tuple([3])])]), .tuple([.ok, .binary("x"), 2.5]),
        [1, 2, 3], .list(TermList([1], tail: 2)), .list(TermList([1, 2], tail: .atom("a"))),
        [.tuple([.atom("a"), 1])], [.tuple([.atom("a"), 1]), .tuple([.atom("b"), [2, 3]])],
        [.tuple([.atom("Elixir.Foo"), 1])], [.tuple([.atom("a b"), 1])], [.tuple([.atom("+"), 1])],
        [.tuple([.atom("Elixir"), 1])], [.tuple([.atom("Foo"), 1])], [.tuple([.atom("foo?"), 1])],
        .list(TermList([.tuple([.atom("a"), 1])], tail: 2)), [.tuple([.atom("a"), 1, 2])],
        .map([]), pairs([(.atom("a"), 1)]), pairs([(.binary("k"), 1), (.atom("a"), 2)]),
        pairs([(.tuple([1]), 2)]), pairs([(1, 2), (1.0, 3)]), pairs([(.emptyList, .map([]))]),
        pairs([(.atom("a b"), 1), (.atom("b"), [.tuple([.atom("c"), .nil])])]),
        pairs([(.atom("Elixir.Foo"), 1), (.atom("a"), 2)]), pairs([(.atom("__struct__"), .atom("foo")), (.atom("a"), 1)]),
        [[[[]]]], .tuple([.tuple([.tuple([])])]), [.charlist("ab"), .binary("cd"), .tuple([.charlist("ef")])],
    ]

    /// Terms that read back in both languages where the runtimes' own printing differs from ours
    /// on purpose (non-ASCII atoms quoted in Elixir, `maybe`/`else` quoted for OTP 27+).
    static let readBackOnly: [Term] = [
        .atom("é"), .atom("日本"), .atom("ßx"), .atom("aÀ"), .atom("\u{85}"), .atom("maybe"), .atom("else"),
        .binary("é"), .binary("日本"), .binary("\u{85}"), .binary("\u{a0}"), chars([160, 255]),
        pairs([(.atom("é"), 1)]), [.tuple([.atom("日本"), 1])],
        .export(ExportFun(module: "erlang", function: "abs", arity: 1)),
        .export(ExportFun(module: "Elixir.Enum", function: "map", arity: 2)),
    ]

    static var all: [Term] { common + readBackOnly }
}
