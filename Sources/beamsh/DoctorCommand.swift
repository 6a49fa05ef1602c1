import ArgumentParser
import ErlangDistribution
import ErlangTerm
import NIOCore
import NIOPosix
import RemoteShell

extension Beamsh {
    /// `beamsh doctor NODE`: every step of connecting, with its result and timing, and the
    /// likely fix at the first that fails.
    struct Doctor: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "doctor",
            abstract: "Walk every step of connecting to NODE and report each result, its timing and the likely fix.")

        @Argument(help: ArgumentHelp("The node: name@host, or a bare name on this host (default: $RELEASE_NODE).", valueName: "node"))
        var node: String?

        @OptionGroup var connection: ConnectionOptions

        @Option(parsing: .unconditional, help: ArgumentHelp("Seconds to wait for each answer of the test RPC.", valueName: "seconds"))
        var timeout: Double = 10

        @Option(help: "Output format: text (each step as it runs) or json (one object at the end, for scripts).")
        var format: OutputFormat = .text

        func validate() throws {
            try checkSeconds(timeout, "--timeout")
        }

        func run() async throws {
            var report = DoctorReport(json: format == .json)
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

            // 0. The release whose settings are read, if any.
            if let release = ProcessEnvironment.release {
                let node = release.environment["RELEASE_NODE"].map { "; RELEASE_NODE \($0)" } ?? ""
                let said = release.warnings.map { "; warning: " + $0 }.joined()
                report.pass("release", "\(release.root) (\(release.name) \(release.version)): read as bin/app does\(node)\(said)")
            } else if let (problem, pointedAt) = ProcessEnvironment.releaseProblem {
                if pointedAt {
                    report.fail("release", problem.description,
                                fix: problem.isRelease ? "fix the release's env.sh or files (bin/app remote fails the same way)"
                                                       : "give the release's folder, the one that holds bin/ and releases/")
                    report.exit(problem.isRelease ? .connectFailure : .usage)
                }
                report.warn("release", "found one but did not use it: \(problem.description)")
            }

            // 1. The name.
            let target: NodeName
            do {
                target = try NodeName(parsing: nodeOrReleaseNode(node))
                report.pass("node name", "\(target) — \(target.mode.guessedDescription)\(target.isIPv6Address ? ", IPv6 (-proto_dist inet6_tcp)" : "")")
            } catch {
                report.fail("node name", "\(error)", fix: "write the node as name@host")
                report.exit(.usage)  // as every other command exits on a name it cannot read
            }

            // EPMD's port from the environment, when EPMD is to be asked: a bad one is a failed
            // step of its own (the other commands exit on it with a usage error).
            if !connection.settings.skipsEPMD, connection.epmdPort == nil, let text = ProcessEnvironment.current["ERL_EPMD_PORT"], !text.isEmpty,
               Int(text).map({ (1...65535).contains($0) }) != true {
                report.fail("EPMD port", "ERL_EPMD_PORT must be a port number (1 to 65535), not '\(text)'",
                            fix: "set ERL_EPMD_PORT to EPMD's port (as the nodes have it), or unset it for 4369")
                report.exit(.usage)
            }

            // 2. The cookie (its source only).
            let options: ConnectOptions
            do {
                let resolved = try connection.settings.resolveCookie()
                report.pass("cookie", "from \(resolved.source) (value not shown)"
                    + resolved.warnings.map { "; warning: " + $0 }.joined())
                options = connection.settings.connectOptions(cookie: resolved.cookie)
            } catch {
                report.fail("cookie", error.description,
                            fix: "set RELEASE_COOKIE, pass --cookie-file PATH, or create ~/.erlang.cookie (chmod 400)")
                report.exit(.connectFailure)
            }
            let ourName = options.ourName(for: target)
            // (A --name of the other form is said, not refused: a node accepts either form.)
            report.pass("our name", "\(ourName) (hidden)" + (ourName.mode != target.mode
                ? "; \(ourName.mode.guessedDescription), where the node's looks like \(target.mode.guessedDescription)" : ""))

            // 3. DNS.
            var host = target.host
            var fixedPort = options.port
            if let address = options.addressOverride {
                let split = AddressResolver.splitHostPort(address)
                host = split.host
                fixedPort = fixedPort ?? split.port
                report.pass("address", "reaching \(target) at \(address)")
            }
            let clock = ContinuousClock()
            var started = clock.now
            let addresses: [SocketAddress]
            do {
                addresses = try AddressResolver.resolve(host, port: fixedPort ?? options.epmdPort)
                let v6 = addresses.filter { $0.protocol == .inet6 }.compactMap(\.ipAddress)
                let v4 = addresses.filter { $0.protocol == .inet }.compactMap(\.ipAddress)
                report.pass("DNS", "\(host): AAAA \(v6.isEmpty ? "none" : v6.joined(separator: ", ")); A \(v4.isEmpty ? "none" : v4.joined(separator: ", "))",
                            took: clock.now - started)
            } catch {
                report.fail("DNS", error.description, fix: "check the host name, or use --address with an IP", took: clock.now - started)
                report.exit(.connectFailure)
            }

            // 4. EPMD.
            var route: NodeConnection.Route
            started = clock.now
            do {
                route = try await NodeConnection.findRoute(to: target, options: optionsWith(options, address: host, port: fixedPort), group: group)
                if let epmd = route.epmd {
                    report.pass("EPMD", "port \(options.epmdPort): \(target.alive) registered at port \(epmd.port), distribution versions \(epmd.lowestVersion)–\(epmd.highestVersion)",
                                took: clock.now - started)
                } else {
                    let given = options.port != nil || options.addressOverride == nil ? "--port \(route.port)" : "--address \(options.addressOverride ?? "")"
                    report.pass("EPMD", "skipped: \(given) names the distribution port")
                }
            } catch {
                let fix: String
                switch error.kind {
                case .epmdUnreachable:
                    fix = "EPMD must answer on port \(options.epmdPort) there: start it (`epmd -daemon`; a node started there starts it) "
                        + "or open the port; a node run without EPMD is reached with --port and its distribution port"
                case .notRegistered: fix = "check the name before '@' (the names EPMD has are in this step's message) or that the node is up"
                case .timeout: fix = "EPMD did not answer in time: a firewall dropping packets, or the host is overloaded"
                case .connectionRefused: fix = "nothing listens on the EPMD port there: start the node, or pass --port with the distribution port"
                default: fix = "see the reason on the FAIL line"
                }
                report.fail("EPMD", error.description, fix: fix, took: clock.now - started)
                report.exit(ExitStatus(error))
            }

            // 5. TCP to the distribution port, each address.
            var reachable: [SocketAddress] = []
            var refused = 0
            for address in route.addresses {
                started = clock.now
                do {
                    let channel = try await ClientBootstrap(group: group).connectTimeout(options.connectTimeout)
                        .connect(to: address).get()
                    try? await channel.close().get()
                    reachable.append(address)
                    report.pass("TCP", "\(address.ipAddress ?? "?") port \(route.port): connected", took: clock.now - started)
                } catch {
                    if (error as? IOError)?.errnoCode == ECONNREFUSED { refused += 1 }
                    report.warn("TCP", "\(address.ipAddress ?? "?") port \(route.port): \(EPMDClient.describe(error))", took: clock.now - started)
                }
            }
            guard !reachable.isEmpty else {
                // Refused: the host answered and nothing listens there. Otherwise (a timeout, no
                // route) something between here and there drops the packets.
                let fix: String
                if refused == route.addresses.count {
                    // The port came from EPMD, or from --port / --address HOST:PORT (EPMD skipped).
                    let given = options.port != nil ? "--port" : "--address's port"
                    fix = route.epmd == nil
                        ? "nothing listens on port \(route.port) there: the node is down or \(given) is not its distribution port (without it, EPMD says which it is)"
                        : "nothing listens on port \(route.port) there: the node stopped after registering, or listens on another address family (inet6_tcp?)"
                } else {
                    fix = "the port is firewalled, or the node listens on another interface or address family (inet6_tcp?)"
                }
                report.fail("TCP", "no address accepts connections on port \(route.port)", fix: fix)
                report.exit(.connectFailure)
            }
            route.addresses = reachable

            // 6. Handshake and authentication.
            started = clock.now
            let connected: NodeConnection
            do {
                var withName = options
                withName.localName = ourName
                connected = try await NodeConnection.connect(to: target, route: route, options: withName, group: group)
                report.pass("handshake", "accepted, version \(connected.peer.version), hidden; flags \(connected.peer.negotiatedFlags)",
                            took: clock.now - started)
                report.pass("authentication", "both digests verified (cookies match)")
            } catch {
                let fix: String
                switch error.kind {
                case .authenticationFailed: fix = "the cookie differs from the node's: check RELEASE_COOKIE / --cookie-file"
                // (dist_util answers not_allowed for the allow list or a missing mandatory
                // capability; beamsh announces every capability OTP 25-28 make mandatory.)
                case .notAllowed: fix = "the node accepts only the nodes on its allow list (net_kernel:allow/1): add \(ourName), "
                    + "or connect under a name it allows (--name)"
                case .nameMismatch:
                    let reached = error.reachedNode ?? "another node"
                    let reachedName = try? NodeName(parsing: reached)
                    if options.port != nil {
                        fix = "port \(route.port) is \(reached)'s: fix --port, or give \(reached) as the node"
                    } else if options.addressOverride != nil {
                        fix = "the address reaches \(reached): fix --address, or give \(reached) as the node"
                    } else if let reachedName, reachedName.alive == target.alive {
                        // The usual mistake: the right node, named by another form of its host.
                        let forms = reachedName.mode != target.mode
                            ? "; it runs with \(reachedName.mode), and \(target) is written for \(target.mode)" : ""
                        fix = "give the node's own name, \(reached): a node answers only to the exact name it was started "
                            + "with, not to another alias or address of its host\(forms)"
                    } else {
                        fix = "EPMD's port for \(target.alive) reaches \(reached): a node restarted in between? run doctor again"
                    }
                case .timeout: fix = "the node took the connection but did not answer: it is frozen or overloaded (or the port is not its distribution port)"
                case .alreadyConnected: fix = "a node with our name is connected to it already: pass another --name"
                case .connectionLost where route.epmd == nil && route.port == options.epmdPort:
                    fix = "port \(route.port) is EPMD's: --port takes the node's distribution port (`beamsh names` lists them)"
                case .connectionLost: fix = "the node closed the connection during the handshake: its log says why (e.g. a connection limit or net_kernel refusing us)"
                case .protocolViolation where error.answeredInTLS:
                    fix = "beamsh speaks distribution over plain TCP only: reach a node with -proto_dist inet_tls with its own "
                        + "`bin/app remote` (which reads its ssl_dist options); if this is not the node's port, check --port / --address"
                case .protocolViolation: fix = "the port does not speak the Erlang distribution protocol: check --port / --address"
                default: fix = "see the reason on the FAIL line"
                }
                let step = error.kind == .authenticationFailed ? "authentication" : "handshake"
                if error.kind == .authenticationFailed {
                    // The digests come last: the names, the status and the challenges went through.
                    report.pass("handshake", "status ok, challenges exchanged", took: clock.now - started)
                }
                // (The step's name already says what failed.)
                let detail = error.description.hasPrefix(step + " failed: ")
                    ? String(error.description.dropFirst((step + " failed: ").count)) : error.description
                // (After a passed handshake the time is on its line already.)
                report.fail(step, detail, fix: fix, took: error.kind == .authenticationFailed ? nil : clock.now - started)
                report.exit(ExitStatus(error))
            }

            // 7. A test RPC and the tick interval.
            started = clock.now
            do {
                let answerWithin = duration(timeout)
                let release = try await connected.rpc("erlang", "system_info", [.atom("otp_release")], timeout: answerWithin)
                report.pass("RPC", "erlang:system_info(otp_release) = \(release.stringValue ?? "?")", took: clock.now - started)
                let tick = try await connected.rpc("net_kernel", "get_net_ticktime", [], timeout: answerWithin)
                report.pass("ticks", "net_ticktime \(tick.intValue.map { "\($0) s" } ?? "changing"); beamsh answers every tick")
            } catch {
                // The call's own failure, or the connection's (the code the console would exit with).
                let error = error as? DistributionError ?? DistributionError(.remoteCallFailed, "\(error)")
                let fix: String
                switch error.kind {
                case .remoteCallFailed where error.isCallTimeout:
                    fix = "the node is connected but its rex did not answer in \(Human.seconds(timeout)): it is overloaded or stuck "
                        + "(`beamsh top` shows its busiest processes; --timeout waits longer)"
                case .remoteCallFailed: fix = "rex may be overloaded or the node is shutting down"
                case .protocolViolation:
                    fix = "the node sent what no Erlang node sends: something in between rewrites the bytes, or the port is not a node's"
                case .connectionLost: fix = "the connection ended during the call: the node stopped, or the network or a proxy cut it"
                default: fix = "see the reason on the FAIL line"
                }
                report.fail("RPC", "\(error)", fix: fix)
                report.exit(ExitStatus(error))
            }
            await connected.close()
            report.exit(.success)
        }

        private func optionsWith(_ options: ConnectOptions, address: String, port: Int?) -> ConnectOptions {
            var copy = options
            copy.addressOverride = address
            copy.port = port
            return copy
        }
    }
}

/// What `beamsh doctor` prints: a line per step as it runs, or with `--format json` one object
/// at the end (`ok`, `exit_code`, and the steps with their status, detail, time and likely fix).
struct DoctorReport {
    let json: Bool
    private var failed = false
    private var steps: [JSONValue] = []

    init(json: Bool = false) { self.json = json }

    mutating func pass(_ step: String, _ detail: String, took: Duration? = nil) { record("ok", step, detail, took) }
    mutating func warn(_ step: String, _ detail: String, took: Duration? = nil) { record("warn", step, detail, took) }
    mutating func fail(_ step: String, _ detail: String, fix: String, took: Duration? = nil) {
        failed = true
        record("fail", step, detail, took, fix: fix)
    }

    private mutating func record(_ status: String, _ step: String, _ detail: String, _ took: Duration?, fix: String? = nil) {
        if json {
            var fields: [(String, JSONValue)] = [("step", .string(step)), ("status", .string(status)), ("detail", .string(detail))]
            if let took { fields.append(("ms", .double(Self.ms(took)))) }
            if let fix { fields.append(("likely_fix", .string(fix))) }
            steps.append(.object(fields))
            return
        }
        let mark = status == "fail" ? "FAIL" : status == "ok" ? "ok  " : status
        let time = took.map { " (\(Self.milliseconds($0)))" } ?? ""
        let padded = step.count < 14 ? step + String(repeating: " ", count: 14 - step.count) : step
        print("\(mark)  \(padded) \(detail)\(time)")
        if let fix { print("      likely fix: \(fix)") }
    }

    private static func ms(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
    }

    static func milliseconds(_ d: Duration) -> String {
        let ms = ms(d)
        if ms >= 10 { return "\(Int(ms.rounded())) ms" }
        let hundredths = Int((ms * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction) ms"
    }

    func exit(_ status: ExitStatus = .connectFailure) -> Never {
        let final = failed ? status : .success
        if json {
            print(JSONValue.object([("ok", .bool(!failed)), ("exit_code", .number(Int(final.rawValue))),
                                    ("steps", .array(steps))]).serialized())
        }
        exitNow(final)
    }
}
