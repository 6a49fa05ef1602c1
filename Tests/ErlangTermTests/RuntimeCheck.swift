// Runs printed terms through real `erl` / Elixir and reports which ones did not read back
// to the term the Swift encoder wrote. Files, not command-line text, carry the terms, so no
// quoting of the printed text can hide a mistake.

import BeamTestSupport
import ErlangTerm
import Foundation

///
/// `ErlangRuntime.eval` appends ` halt().` to its argument, and `erl -eval` accepts a single
/// expression sequence, so the expressions here end with a comma rather than a full stop.
enum RuntimeCheck {
    /// A fresh temporary folder for one check.
    static func temporaryFolder() throws -> String {
        let path = NSTemporaryDirectory() + "beamsh-fmt-" + TestNode.randomToken(10)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Writes `terms` (one Swift-encoded list) and `lines` (one printed term per line).
    private static func writeInputs(_ terms: [Term], _ lines: [String], in folder: String) throws {
        precondition(terms.count == lines.count)
        let bytes = try TermEncoder().encode(.list(terms))
        try Data(bytes).write(to: URL(fileURLWithPath: folder + "/terms.bin"))
        try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: folder + "/text.txt"))
    }

    /// Indices of the lines that `erl_parse:parse_term/1` does not read back as the same term.
    static func erlangMismatches(_ terms: [Term], _ lines: [String], on runtime: ErlangRuntime) throws -> [Int] {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try writeInputs(terms, lines, in: folder)
        let output = try runtime.eval("""
            {ok, B} = file:read_file("\(folder)/terms.bin"), Terms = binary_to_term(B), \
            {ok, T} = file:read_file("\(folder)/text.txt"), \
            Lines = binary:split(T, <<"\\n">>, [global]), \
            Parse = fun(L) -> try {ok, Toks, _} = erl_scan:string(unicode:characters_to_list(L)), \
                {ok, V} = erl_parse:parse_term(Toks ++ [{dot, 1}]), {ok, V} catch C:E -> {C, E} end end, \
            Bad = [I || {I, L, Want} <- lists:zip3(lists:seq(0, length(Terms) - 1), Lines, Terms), \
                Parse(L) =/= {ok, Want}], \
            io:format("RESULT~wEND", [Bad]),
            """)
        return try indices(output)
    }

    /// Indices of the lines that `Code.eval_string/1` does not evaluate to the same term.
    static func elixirMismatches(_ terms: [Term], _ lines: [String], on runtime: ErlangRuntime) throws -> [Int] {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try writeInputs(terms, lines, in: folder)
        let output = try runtime.eval("""
            {ok, _} = application:ensure_all_started(elixir), \
            {ok, B} = file:read_file("\(folder)/terms.bin"), Terms = binary_to_term(B), \
            {ok, T} = file:read_file("\(folder)/text.txt"), \
            Lines = binary:split(T, <<"\\n">>, [global]), \
            Eval = fun(L) -> try {V, _} = 'Elixir.Code':eval_string(L), {ok, V} catch C:E -> {C, E} end end, \
            Bad = [I || {I, L, Want} <- lists:zip3(lists:seq(0, length(Terms) - 1), Lines, Terms), \
                Eval(L) =/= {ok, Want}], \
            io:format("RESULT~wEND", [Bad]),
            """)
        return try indices(output)
    }

    /// Pids, ports, references and export funs the runtime makes itself, and its own printing of
    /// each (`~p`, or Elixir's `inspect/2`): identifiers of its own node, which print with a
    /// leading 0.
    static func runtimeOwnIdentifiers(elixir: Bool, on runtime: ErlangRuntime) throws -> (terms: [Term], lines: [String]) {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        return try printedByRuntime("""
            Terms = [self(), whereis(init), hd(erlang:ports()), lists:last(erlang:ports()), make_ref(), \
                     erlang:monitor(process, self()), fun erlang:abs/1, fun lists:map/2, {self(), [make_ref()]}]
            """, elixir: elixir, on: runtime, in: folder)
    }

    /// The terms as the runtime re-encodes them (so maps come back in the BEAM's key order)
    /// and the runtime's own printing of each: `~p` (or `~tp` with `unicode`) on one line, or
    /// Elixir's `inspect/2`.
    static func runtimePrinting(
        _ terms: [Term], elixir: Bool, unicode: Bool = false, on runtime: ErlangRuntime
    ) throws -> (terms: [Term], lines: [String]) {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try writeInputs(terms, terms.map { _ in "" }, in: folder)
        return try printedByRuntime("{ok, B} = file:read_file(\"\(folder)/terms.bin\"), Terms = binary_to_term(B)",
                                    elixir: elixir, unicode: unicode, on: runtime, in: folder)
    }

    /// Runs `bindTerms` (Erlang that binds `Terms`, a list) on the runtime, which prints each term
    /// on one line and sends the list back re-encoded; returns both.
    private static func printedByRuntime(
        _ bindTerms: String, elixir: Bool, unicode: Bool = false, on runtime: ErlangRuntime, in folder: String
    ) throws -> (terms: [Term], lines: [String]) {
        let encoding = unicode ? "unicode" : "latin1"
        let printer = elixir
            ? "fun(X) -> 'Elixir.Kernel':inspect(X, [{limit, infinity}, {printable_limit, infinity}, {width, infinity}]) end"
            : """
              fun(X) -> unicode:characters_to_binary(io_lib_pretty:print(X, [{column, 1}, {line_length, 100000000}, \
              {depth, -1}, {encoding, \(encoding)}])) end
              """
        try runtime.eval("""
            \(elixir ? "{ok, _} = application:ensure_all_started(elixir)," : "") \
            \(bindTerms), \
            Print = \(printer), \
            ok = file:write_file("\(folder)/printed.txt", lists:join(<<"\\n">>, [Print(X) || X <- Terms])), \
            ok = file:write_file("\(folder)/again.bin", term_to_binary(Terms)),
            """)
        let again = try [UInt8](Data(contentsOf: URL(fileURLWithPath: folder + "/again.bin")))
        let printed = try String(decoding: Data(contentsOf: URL(fileURLWithPath: folder + "/printed.txt")), as: UTF8.self)
        let decoded = try TermDecoder().decode(again)
        guard let terms = decoded.listElements else { throw TestSetupError("the runtime sent back no list: \(decoded)") }
        return (terms, printed.components(separatedBy: "\n"))
    }

    private static func indices(_ output: String) throws -> [Int] {
        guard let start = output.range(of: "RESULT["), let end = output.range(of: "]END") else {
            throw TestSetupError("unexpected runtime output: \(output)")
        }
        let body = output[start.upperBound..<end.lowerBound]
        return body.split(separator: ",").compactMap { Int($0) }
    }
}
