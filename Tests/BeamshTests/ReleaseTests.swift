// beamsh inside a real Mix release, as an operator runs it in the release's container: the
// release's settings (env.sh, releases/COOKIE) are read as its bin/app script reads them.

import BeamTestSupport
import Foundation
import Testing

@Suite(.serialized, .ownThreads) struct ReleaseTests {
    /// A release built by `mix release` from a fresh project, whose env.sh names the node the
    /// way a Fly.io release does (`RELEASE_DISTRIBUTION=name`, `RELEASE_NODE` built from the
    /// machine's environment), started with `bin/shop daemon`.
    @Test func beamshAloneReadsTheReleaseAsBinAppRemoteDoes() throws {
        _ = try #require(ErlangRuntime.system, "Debian's Erlang/Elixir is needed")
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
            if [ -n "$MARKER" ]; then echo "$0 $1 $RELEASE_COMMAND $RELEASE_ROOT $RELEASE_NAME $RELEASE_VSN" > "$MARKER"; fi
            if [ -n "$FAIL_ENV_SH" ]; then echo "env.sh: cannot read the machine's metadata" >&2; false; fi
            # As releases that keep the cookie in a secret store do; tracing must not show it.
            if [ -n "$COOKIE_IN_ENV_SH" ]; then export RELEASE_COOKIE="$(cat "$RELEASE_ROOT/releases/COOKIE")"; set -x; shift; fi

            """
        try envSh.write(toFile: "\(root)/releases/\(version)/env.sh", atomically: true, encoding: .utf8)
        // Written on Windows: bin/app's `$(cat ...)` keeps the "\r", and so must beamsh.
        let cookie = "shop" + TestNode.randomToken(16)
        try (cookie + "\r\n").write(toFile: root + "/releases/COOKIE", atomically: true, encoding: .utf8)
        let node = "shop_\(suffix)@127.0.0.1"

        // The operator's shell has none of the release's variables; only the machine's own.
        func beamsh(_ arguments: [String], in folder: String = "/", environment: [String: String] = [:],
                    binary: String = BeamshBinary.path) throws -> ProcessResult {
            let unset = ["RELEASE_COOKIE", "RELEASE_NODE", "RELEASE_ROOT", "RELEASE_DISTRIBUTION"].filter { environment[$0] == nil }
            // (A generous limit: on two cores shared with the suite's million-level decoding
            // tests, a run can take far longer than its usual second.)
            return try runProcess("/usr/bin/env", ["-C", folder] + unset.flatMap { ["-u", $0] } + ["NO_COLOR=1", "SHOP_SUFFIX=\(suffix)", binary] + arguments,
                                  environment: environment, timeout: 240)
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
        #expect(try String(contentsOfFile: marker, encoding: .utf8) == "\(root)/bin/shop remote remote \(root) shop \(version)\n",
                "env.sh saw bin/app's variables and arguments")
        // The shell's RELEASE_NODE gives way to env.sh's, as in bin/app.
        let shellNode = try beamsh(["--eval", "Node.self()"], in: root, environment: ["RELEASE_NODE": "elsewhere"])
        #expect(shellNode.status == 0 && shellNode.stdout == ":\"\(node)\"\n", "\(shellNode.stdout)\(shellNode.stderr)")
        // The same from anywhere with --release, or with RELEASE_ROOT.
        let given = try beamsh(["--release", root, "--eval", "Node.self()"])
        #expect(given.status == 0 && given.stdout == ":\"\(node)\"\n", "\(given.stdout)\(given.stderr)")
        let fromEnvironment = try beamsh(["info"], environment: ["RELEASE_ROOT": root])
        #expect(fromEnvironment.status == 0 && fromEnvironment.stdout.hasPrefix("\(node): OTP 25"), "\(fromEnvironment.stdout)\(fromEnvironment.stderr)")
        // Copied into the release's bin/, next to bin/shop: found from any folder.
        let copied = root + "/bin/beamsh"
        try BeamshBinary.copy(to: copied)
        let inBin = try beamsh(["--rpc", "erlang", "node"], binary: copied)
        #expect(inBin.status == 0 && inBin.stdout == "'\(node)'\n", "\(inBin.stdout)\(inBin.stderr)")
        // doctor names the release and where the cookie came from, never the cookie.
        let doctor = try beamsh(["doctor"], in: root)
        #expect(doctor.status == 0, "\(doctor.stdout)\(doctor.stderr)")
        #expect(doctor.stdout.contains("release        \(root) (shop \(version)): read as bin/app does; RELEASE_NODE \(node)"), "\(doctor.stdout)")
        #expect(doctor.stdout.contains("cookie         from \(root)/releases/COOKIE (value not shown)"), "\(doctor.stdout)")
        #expect(!doctor.stdout.contains(cookie) && !doctor.stderr.contains(cookie))

        // The shell's RELEASE_COOKIE comes before releases/COOKIE, as with bin/app...
        let wrongCookie = try beamsh(["--eval", "1"], in: root, environment: ["RELEASE_COOKIE": "not-the-cookie"])
        #expect(wrongCookie.status == 3 && wrongCookie.stderr.contains("$RELEASE_COOKIE"), "\(wrongCookie.stderr)")
        // ...and env.sh's RELEASE_COOKIE replaces the shell's; env.sh's tracing never shows it.
        let fromEnvSh = try beamsh(["--eval", "1 + 1"], in: root, environment: ["RELEASE_COOKIE": "not-the-cookie", "COOKIE_IN_ENV_SH": "1"])
        #expect(fromEnvSh.status == 0 && fromEnvSh.stdout == "2\n", "\(fromEnvSh.stdout)\(fromEnvSh.stderr)")
        #expect(!fromEnvSh.stderr.contains(cookie), "the trace shows the cookie")
        let envShDoctor = try beamsh(["doctor"], in: root, environment: ["COOKIE_IN_ENV_SH": "1"])
        #expect(envShDoctor.stdout.contains("cookie         from $RELEASE_COOKIE set by \(root)/releases/\(version)/env.sh"), "\(envShDoctor.stdout)")
        #expect(!envShDoctor.stdout.contains(cookie) && !envShDoctor.stderr.contains(cookie))
        // An explicit NODE with the release's cookie.
        let named = try beamsh([node, "--eval", "1 + 1"], in: root)
        #expect(named.status == 0 && named.stdout == "2\n", "\(named.stdout)\(named.stderr)")
        // A failing env.sh of a release pointed at fails as bin/app would (with a JSON document
        // when asked for one; doctor as its first step); one found by looking is passed over.
        let failing = try beamsh(["--release", root, "--format", "json", "--eval", "1"], environment: ["FAIL_ENV_SH": "1"])
        #expect(failing.status == 2 && failing.stderr.contains("env.sh: cannot read the machine's metadata")
                && failing.stderr.contains("the release's \(root)/releases/\(version)/env.sh failed (exit status 1)"), "\(failing.stderr)")
        #expect(failing.stdout.hasPrefix("{\"ok\":false,\"exit_code\":2,"), "\(failing.stdout)")
        let failingDoctor = try beamsh(["doctor", "--release", root], environment: ["FAIL_ENV_SH": "1"])
        #expect(failingDoctor.status == 2 && failingDoctor.stdout.hasPrefix("FAIL  release        the release's \(root)"), "\(failingDoctor.stdout)")
        let passedOver = try beamsh([node, "--eval", "1 + 1"], in: root, environment: ["FAIL_ENV_SH": "1", "RELEASE_COOKIE": cookie + "\r"])
        #expect(passedOver.status == 0 && passedOver.stdout == "2\n"
                && passedOver.stderr.contains("warning: the release in . is not used: the release's"), "\(passedOver.stderr)")
        // A folder that is no release is a usage error, named by --release or by RELEASE_ROOT.
        let notRelease = try beamsh(["--release", work, "--eval", "1"])
        #expect(notRelease.status == 64 && notRelease.stderr.contains("\(work) is not a Mix release"), "\(notRelease.stderr)")
        let wrongRoot = try beamsh(["--eval", "1"], in: root, environment: ["RELEASE_ROOT": work + "/typo"])
        #expect(wrongRoot.status == 64 && wrongRoot.stderr.contains("RELEASE_ROOT: \(work)/typo is not a Mix release"), "\(wrongRoot.stderr)")
        // Options before the command are the console's: the message says where they go.
        let before = try beamsh(["--release", root, "info"])
        #expect(before.status == 2 && before.stderr.contains("to run `beamsh info`, give its options after it"), "\(before.stderr)")
        let noDistribution = try beamsh(["--eval", "1"], in: root, environment: ["RELEASE_DISTRIBUTION": "none"])
        // env.sh sets RELEASE_DISTRIBUTION=name over the operator's none, as bin/app's sourcing does.
        #expect(noDistribution.status == 0, "\(noDistribution.stderr)")
    }
}
