// beamsh as an operator runs it: an ordinary user, not root. The test suite itself often runs as
// root (CI, containers), where a privileged system call succeeds that fails for everyone else, as
// setting SO_DEBUG on the distribution socket once did (every connection failed with EACCES).

import BeamTestSupport
import Foundation
import Testing

@Suite(.ownThreads) struct UnprivilegedUserTests {
    static let setpriv = "/usr/bin/setpriv"
    static var canDropPrivileges: Bool { geteuid() == 0 && FileManager.default.isExecutableFile(atPath: setpriv) }

    @Test(.enabled(if: canDropPrivileges)) func anUnprivilegedUserConnects() throws {
        // A copy the user `nobody` can reach: the checkout may sit in root's home.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("beamsh-nobody-\(TestNode.randomToken(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(at: directory) }
        let binary = directory.appendingPathComponent("beamsh").path
        try BeamshBinary.copy(to: binary)

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

    /// A release whose `releases/COOKIE` the user may not read: that file is named with the
    /// reason, as bin/app's `cat` would say, not "no cookie found" with a fix that does not apply.
    @Test(.enabled(if: canDropPrivileges)) func anUnreadableReleaseCookieIsNamed() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("beamsh-nobody-\(TestNode.randomToken(8))")
        let releases = directory.appendingPathComponent("rel/releases")
        try FileManager.default.createDirectory(at: releases.appendingPathComponent("0.1.0"), withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(at: directory) }
        for folder in [directory, directory.appendingPathComponent("rel"), releases] {
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder.path)
        }
        try "13.0 0.1.0\n".write(to: releases.appendingPathComponent("start_erl.data"), atomically: true, encoding: .utf8)
        try "".write(to: releases.appendingPathComponent("0.1.0/shop.rel"), atomically: true, encoding: .utf8)
        let cookieFile = releases.appendingPathComponent("COOKIE").path
        try "secret\n".write(toFile: cookieFile, atomically: true, encoding: .utf8)
        for path in [releases.appendingPathComponent("start_erl.data").path, releases.appendingPathComponent("0.1.0/shop.rel").path] {
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: cookieFile)
        let binary = directory.appendingPathComponent("beamsh").path
        try BeamshBinary.copy(to: binary)
        let result = try runProcess(Self.setpriv, ["--reuid=65534", "--regid=65534", "--clear-groups", "--", binary,
                                                   "--release", directory.appendingPathComponent("rel").path, "--eval", "1"],
                                    environment: ["HOME": "/nonexistent", "NO_COLOR": "1"])
        #expect(result.status == 2 && result.stderr.contains("cannot read \(cookieFile): Permission denied"), "\(result.stderr)")
        #expect(!result.stderr.contains("no cookie found") && !result.stderr.contains("secret"), "\(result.stderr)")
    }
}
