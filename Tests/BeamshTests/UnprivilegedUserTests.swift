// beamsh as an operator runs it: an ordinary user, not root. The test suite itself often runs as
// root (CI, containers), where a privileged system call succeeds that fails for everyone else, as
// setting SO_DEBUG on the distribution socket once did (every connection failed with EACCES).

import BeamTestSupport
import Foundation
import Testing

@Suite struct UnprivilegedUserTests {
    static let setpriv = "/usr/bin/setpriv"
    static var canDropPrivileges: Bool { geteuid() == 0 && FileManager.default.isExecutableFile(atPath: setpriv) }

    @Test(.enabled(if: canDropPrivileges)) func anUnprivilegedUserConnects() throws {
        // A copy the user `nobody` can reach: the checkout may sit in root's home.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("beamsh-nobody-\(TestNode.randomToken(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(at: directory) }
        let binary = directory.appendingPathComponent("beamsh").path
        try FileManager.default.copyItem(atPath: BeamshBinary.path, toPath: binary)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: binary)

        let (a, b) = try TestNode.connectedPair(runtime: try ErlangRuntime.requireAll()[0])
        defer { a.stop(); b.stop() }
        let cookie = a.cookie

        func asNobody(_ arguments: [String]) throws -> ProcessResult {
            try runProcess(Self.setpriv, ["--reuid=65534", "--regid=65534", "--clear-groups", "--", binary] + arguments,
                           environment: ["RELEASE_COOKIE": cookie, "HOME": directory.path, "NO_COLOR": "1"])
        }
        #expect(try asNobody(["--version"]).status == 0, "nobody cannot run the copy")
        let rpc = try asNobody([a.name, "--rpc", "erlang", "node"])
        #expect(rpc.status == 0, "\(rpc.stderr)")
        #expect(rpc.stdout == "\(a.name)\n")
        let eval = try asNobody([a.name, "--eval", "lists:sum([1, 2, 3])."])
        #expect(eval.status == 0, "\(eval.stderr)")
        #expect(eval.stdout.contains("6"))
        let cluster = try asNobody(["cluster", a.name])
        #expect(cluster.status == 0, "\(cluster.stdout)\(cluster.stderr)")
    }
}
