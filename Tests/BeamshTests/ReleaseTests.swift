// beamsh inside a real Mix release, as an operator runs it in the release's container: the
// release's settings (env.sh, releases/COOKIE) are read as its bin/app script reads them.

import BeamTestSupport
import Foundation
import Testing

@Suite(.serialized) struct ReleaseTests {
    /// A release built by `mix release` from a fresh project, whose env.sh names the node the
    /// way a Fly.io release does (`RELEASE_DISTRIBUTION=name`, `RELEASE_NODE` built from the
    /// machine's environment), started with `bin/shop daemon`.
    @Test func beamshAloneReadsTheReleaseAsBinAppRemoteDoes() throws {
        let runtime = try #require(ErlangRuntime.system, "Debian's Erlang/Elixir is needed")
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("beamsh-release-\(TestNode.randomToken(6))").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let home = ["HOME": work, "MIX_HOME": work + "/.mix", "MIX_ENV": "prod"]
        let created = try runProcess("/usr/bin/env", ["-C", work, "mix", "new", "shop"], environment: home, timeout: 120)
        try #require(created.status == 0, "\(created.stdout)\(created.stderr)")
        let project = work + "/shop"
        let built = try runProcess("/usr/bin/env", ["-C", project, "mix", "release", "--quiet"], environment: home, timeout: 300)
        try #require(built.status == 0, "\(built.stdout)\(built.stderr)")
        let root = project + "/_build/prod/rel/shop"
        let version = "0.1.0"
        // The node's name comes from the machine's environment, as Fly's env.sh builds it from
        // FLY_APP_NAME and FLY_PRIVATE_IP; a marker shows what bin/app's variables were.
        let suffix = TestNode.randomToken(8)
        let marker = work + "/env-sh-saw"
        let envSh = try String(contentsOfFile: "\(root)/releases/\(version)/env.sh", encoding: .utf8) + """

            export RELEASE_DISTRIBUTION=name
            export RELEASE_NODE="shop_${SHOP_SUFFIX}@127.0.0.1"
            if [ -n "$MARKER" ]; then echo "$RELEASE_COMMAND $RELEASE_ROOT $RELEASE_NAME $RELEASE_VSN" > "$MARKER"; fi
            if [ -n "$FAIL_ENV_SH" ]; then echo "env.sh: cannot read the machine's metadata" >&2; false; fi

            """
        try envSh.write(toFile: "\(root)/releases/\(version)/env.sh", atomically: true, encoding: .utf8)
        let cookie = try String(contentsOfFile: root + "/releases/COOKIE", encoding: .utf8)
        let node = "shop_\(suffix)@127.0.0.1"

        // The operator's shell has none of the release's variables; only the machine's own.
        func beamsh(_ arguments: [String], in folder: String = "/", environment: [String: String] = [:],
                    binary: String = BeamshBinary.path) throws -> ProcessResult {
            let unset = ["RELEASE_COOKIE", "RELEASE_NODE", "RELEASE_ROOT", "RELEASE_DISTRIBUTION"].filter { environment[$0] == nil }
            return try runProcess("/usr/bin/env", ["-C", folder] + unset.flatMap { ["-u", $0] } + ["NO_COLOR=1", "SHOP_SUFFIX=\(suffix)", binary] + arguments,
                                  environment: environment)
        }
        let start = try runProcess("/usr/bin/env", [root + "/bin/shop", "daemon"], environment: ["SHOP_SUFFIX": suffix])
        try #require(start.status == 0, "\(start.stdout)\(start.stderr)")
        defer {
            _ = try? runProcess("/usr/bin/env", [root + "/bin/shop", "stop"], environment: ["SHOP_SUFFIX": suffix])
        }
        // Booted when init says so (the node registers with EPMD before its applications start).
        var ready = false
        for _ in 0..<150 where !ready {
            ready = try beamsh(["--release", root, "--rpc", "init", "get_status"]).stdout == "{started,started}\n"
            if !ready { Thread.sleep(forTimeInterval: 0.2) }
        }
        try #require(ready, "the release did not start")
        // Stopped by its OS pid too, should `bin/shop stop` not reach it.
        let osPid = Int32(try beamsh(["--release", root, "--rpc", "os", "getpid"]).stdout.filter(\.isNumber)) ?? 0
        defer { if osPid > 0 { kill(osPid, SIGKILL) } }

        // `beamsh` alone, in the release's folder: env.sh's node, the release's cookie.
        let inFolder = try beamsh(["--eval", "Node.self()"], in: root, environment: ["MARKER": marker])
        #expect(inFolder.status == 0 && inFolder.stdout == ":\"\(node)\"\n", "\(inFolder.stdout)\(inFolder.stderr)")
        #expect(try String(contentsOfFile: marker, encoding: .utf8) == "remote \(root) shop \(version)\n", "env.sh saw bin/app's variables")
        // The same from anywhere with --release, or with RELEASE_ROOT.
        let given = try beamsh(["--release", root, "--eval", "Node.self()"])
        #expect(given.status == 0 && given.stdout == ":\"\(node)\"\n", "\(given.stdout)\(given.stderr)")
        let fromEnvironment = try beamsh(["info"], environment: ["RELEASE_ROOT": root])
        #expect(fromEnvironment.status == 0 && fromEnvironment.stdout.hasPrefix("\(node): OTP 25"), "\(fromEnvironment.stdout)\(fromEnvironment.stderr)")
        // Copied into the release's bin/, next to bin/shop: found from any folder.
        let copied = root + "/bin/beamsh"
        try FileManager.default.copyItem(atPath: BeamshBinary.path, toPath: copied)
        let inBin = try beamsh(["--rpc", "erlang", "node"], binary: copied)
        #expect(inBin.status == 0 && inBin.stdout == "'\(node)'\n", "\(inBin.stdout)\(inBin.stderr)")
        // doctor names the release and where the cookie came from, never the cookie.
        let doctor = try beamsh(["doctor"], in: root)
        #expect(doctor.status == 0, "\(doctor.stdout)\(doctor.stderr)")
        #expect(doctor.stdout.contains("release        \(root) (shop \(version)): read as bin/app does; RELEASE_NODE \(node)"), "\(doctor.stdout)")
        #expect(doctor.stdout.contains("cookie         from \(root)/releases/COOKIE (value not shown)"), "\(doctor.stdout)")
        #expect(!doctor.stdout.contains(cookie) && !doctor.stderr.contains(cookie))

        // What the operator sets still wins, as with bin/app: RELEASE_COOKIE over the release's.
        let wrongCookie = try beamsh(["--eval", "1"], in: root, environment: ["RELEASE_COOKIE": "not-the-cookie"])
        #expect(wrongCookie.status == 3 && wrongCookie.stderr.contains("$RELEASE_COOKIE"), "\(wrongCookie.stderr)")
        // An explicit NODE with the release's cookie.
        let named = try beamsh([node, "--eval", "1 + 1"], in: root)
        #expect(named.status == 0 && named.stdout == "2\n", "\(named.stdout)\(named.stderr)")
        // A failing env.sh fails as bin/app would; a folder that is no release is a usage error.
        let failing = try beamsh(["--eval", "1"], in: root, environment: ["FAIL_ENV_SH": "1"])
        #expect(failing.status == 2 && failing.stderr.contains("env.sh: cannot read the machine's metadata")
                && failing.stderr.contains("the release's \(root)/releases/\(version)/env.sh failed (exit status 1)"), "\(failing.stderr)")
        let notRelease = try beamsh(["--release", work, "--eval", "1"])
        #expect(notRelease.status == 64 && notRelease.stderr.contains("\(work) is not a Mix release"), "\(notRelease.stderr)")
        let noDistribution = try beamsh(["--eval", "1"], in: root, environment: ["RELEASE_DISTRIBUTION": "none"])
        // env.sh sets RELEASE_DISTRIBUTION=name over the operator's none, as bin/app's sourcing does.
        #expect(noDistribution.status == 0, "\(noDistribution.stderr)")
    }
}
