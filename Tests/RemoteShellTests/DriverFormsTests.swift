// The evaluator drivers ship pre-parsed (DriverForms.swift). They must be exactly what each
// runtime's own erl_scan/erl_parse makes of the driver source: this test asks OTP 25 and OTP 28
// and compares. With BEAMSH_WRITE_DRIVER_FORMS=1 it rewrites DriverForms.swift from OTP 25 (and
// fails, so that a rewrite is never taken for a pass).

import BeamTestSupport
import ErlangDistribution
import ErlangTerm
import Foundation
@testable import RemoteShell
import Testing

@Suite(.serialized, .ownThreads) struct DriverFormsTests {
    @Test func shippedFormsAreWhatEveryRuntimeParses() async throws {
        let write = ProcessInfo.processInfo.environment["BEAMSH_WRITE_DRIVER_FORMS"] == "1"
        for runtime in try erlangRuntimes() {
            let node = try TestNode(runtime: runtime)
            defer { node.stop() }
            let connection = try await connect(node)
            defer { connection.closeNow() }
            let elixir = try await Evaluator.parseDriver(Evaluator.elixirDriver, on: connection)
            let erlang = try await Evaluator.parseDriver(Evaluator.erlangDriver, on: connection)
            let holder = try await Evaluator.parseDriver(Evaluator.holderDriver, on: connection)
            let bootstrap = try await Evaluator.parseDriver(Evaluator.bootstrapDriver, on: connection)
            let completion = try await Evaluator.parseDriver(Evaluator.completionSource, on: connection)
            let sampler = try await ProcessTop.parse(ProcessTop.sampler, on: connection)
            if write {
                // Written from the first runtime (OTP 25); a writing run is never a pass: rebuild
                // and run again to compare with every runtime.
                try Self.writeSource([("elixir", elixir), ("erlang", erlang), ("holder", holder), ("bootstrap", bootstrap),
                                      ("completion", completion), ("sampler", sampler)])
                Issue.record("DriverForms.swift rewritten from \(runtime); rebuild and run without BEAMSH_WRITE_DRIVER_FORMS to compare")
                return
            }
            #expect(try TermDecoder().decode(DriverForms.elixir) == elixir, "\(runtime): regenerate DriverForms.swift")
            #expect(try TermDecoder().decode(DriverForms.erlang) == erlang, "\(runtime): regenerate DriverForms.swift")
            #expect(try TermDecoder().decode(DriverForms.holder) == holder, "\(runtime): regenerate DriverForms.swift")
            #expect(try TermDecoder().decode(DriverForms.bootstrap) == bootstrap, "\(runtime): regenerate DriverForms.swift")
            #expect(try TermDecoder().decode(DriverForms.completion) == completion, "\(runtime): regenerate DriverForms.swift")
            #expect(try TermDecoder().decode(DriverForms.sampler) == sampler, "\(runtime): regenerate DriverForms.swift")
        }
    }

    static func writeSource(_ forms: [(name: String, forms: Term)]) throws {
        func literal(_ bytes: [UInt8]) -> String {
            stride(from: 0, to: bytes.count, by: 24).map { start in
                "        " + bytes[start..<min(start + 24, bytes.count)].map { String($0) }.joined(separator: ", ") + ","
            }.joined(separator: "\n")
        }
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Sources/RemoteShell/DriverForms.swift").standardized
        let header = try String(contentsOf: path, encoding: .utf8).components(separatedBy: "enum DriverForms").first ?? ""
        var text = header + "enum DriverForms {\n"
        for (name, term) in forms {
            text += "    static let \(name): [UInt8] = [\n" + literal(try TermEncoder().encode(term)) + "\n    ]\n"
        }
        text += "}\n"
        try text.write(to: path, atomically: true, encoding: .utf8)
    }
}
