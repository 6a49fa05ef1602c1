// The benchmark payloads, the same terms scripts/bench-codec makes with `erl`.

import ErlangTerm

public enum Payload: String, CaseIterable, Sendable {
    /// `[X rem 1000 || X <- lists:seq(1, 1000000)]`: SMALL_INTEGER_EXT and INTEGER_EXT elements.
    case smallIntegers = "list_1m_small_ints"
    /// `[list_to_pid("<0.(X rem 32768).(X div 32768)>") || X <- lists:seq(1, 100000)]` (OTP 25 pid numbers are 15 bits)
    case pids = "list_100k_pids"
    /// `maps:from_list([{integer_to_binary(X), X} || X <- lists:seq(1, 100000)])`
    case binaryKeyMap = "map_100k_binary_keys"
    /// `binary:copy(<<"0123456789abcdef">>, 6553600)`: 100 MiB.
    case bigBinary = "binary_100mb"
    /// `lists:foldl(fun(X, A) -> {X, A} end, {}, lists:seq(1, 10000))`
    case deepTuple = "tuple_10k_deep"

    public var term: Term {
        switch self {
        case .smallIntegers:
            return .list((1...1_000_000).map { .integer($0 % 1000) })
        case .pids:
            return .list((1...100_000).map {
                .pid(Pid(node: "nonode@nohost", id: UInt32($0 % 32768), serial: UInt32($0 / 32768), creation: 0))
            })
        case .binaryKeyMap:
            return .map((1...100_000).map { (key: .binary(String($0)), value: .integer($0)) })
        case .bigBinary:
            let pattern = Array("0123456789abcdef".utf8)
            var bytes: [UInt8] = []
            bytes.reserveCapacity(100 << 20)
            for _ in 0..<((100 << 20) / 16) { bytes.append(contentsOf: pattern) }
            return .binary(Binary(bytes))
        case .deepTuple:
            var t: Term = .tuple([])
            for i in 1...10_000 { t = .tuple([.integer(i), t]) }
            return t
        }
    }

    /// The term's encoding (131 first), as `term_to_binary/1` writes it.
    public var bytes: [UInt8] { try! TermEncoder().encode(term) }
}
