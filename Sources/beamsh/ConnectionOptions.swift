// Options every command that talks to a node shares.

import ArgumentParser
import ErlangDistribution
import NIOCore

struct ConnectionOptions: ParsableArguments {
    @Option(name: .customLong("cookie-file"), help: ArgumentHelp("Read the cookie from this file (first line).", valueName: "path"))
    var cookieFile: String?

    @Option(help: ArgumentHelp("The cookie (visible to other users in the process list: prefer --cookie-file or RELEASE_COOKIE).", valueName: "cookie"))
    var cookie: String?

    @Option(help: ArgumentHelp("Read RELEASE_NODE, the cookie and the rest from this Mix release, as its bin/app does (default: $RELEASE_ROOT, else the release beamsh is in or is run from).", valueName: "dir"))
    var release: String?

    @Option(name: .customLong("name"), help: ArgumentHelp("Our own node name (default: a unique beamsh_<pid>_<random>@host in the target's naming mode).", valueName: "name@host"))
    var localName: String?

    @Option(help: ArgumentHelp("Reach the node at HOST[:PORT] (a tunnel or port-forward) while the handshake keeps the node's own name. PORT is the node's distribution port (no EPMD); without it, HOST's EPMD is asked.", valueName: "host[:port]"))
    var address: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("The node's distribution port: skips EPMD (EPMD-less releases).", valueName: "port"))
    var port: Int?

    @Option(name: .customLong("epmd-port"), parsing: .unconditional, help: ArgumentHelp("EPMD's port (default: $ERL_EPMD_PORT or 4369).", valueName: "port"))
    var epmdPort: Int?

    @Option(name: .customLong("connect-timeout"), parsing: .unconditional, help: ArgumentHelp("Seconds to wait for each connection step.", valueName: "seconds"))
    var connectTimeout: Double = 5

    func validate() throws {
        if let port { try checkPort(port, "--port") }
        if let epmdPort { try checkPort(epmdPort, "--epmd-port") }
        if let address { try checkAddress(address) }
        if let port, let address, let addressPort = AddressResolver.splitHostPort(address).port, addressPort != port {
            throw ValidationError("--port \(port) and --address \(address) name two different ports; give the port once")
        }
        try checkSeconds(connectTimeout, "--connect-timeout")
    }

    /// The parsed values, as plain data.
    var settings: ConnectionSettings {
        ConnectionSettings(cookieFile: cookieFile, cookie: cookie, localName: localName, address: address, port: port,
                           epmdPort: epmdPort, connectTimeout: connectTimeout)
    }

    /// Resolves the cookie (printing warnings) and builds connection options; exits on failure.
    func connectOptions(quietWarnings: Bool = false) -> (ConnectOptions, CookieSource) {
        settings.connectOptions(quietWarnings: quietWarnings)
    }
}

/// What `ConnectionOptions` parses, with the defaults a bare command line gets.
struct ConnectionSettings {
    var cookieFile: String?
    var cookie: String?
    var localName: String?
    var address: String?
    var port: Int?
    var epmdPort: Int?
    var connectTimeout: Double = 5

    /// Resolves the cookie (printing warnings) and builds connection options; exits on failure.
    func connectOptions(quietWarnings: Bool = false) -> (ConnectOptions, CookieSource) {
        let resolved: (cookie: Cookie, source: CookieSource, warnings: [String])
        do {
            resolved = try resolveCookie()
        } catch {
            printError(error.description)
            exitNow(.connectFailure)
        }
        if !quietWarnings { resolved.warnings.forEach(printWarning) }
        cookieSourceInUse.withLockedValue { $0 = resolved.source }
        return (connectOptions(cookie: resolved.cookie), resolved.source)
    }

    /// The cookie, its source and the warnings about it (never the value).
    func resolveCookie() throws(CookieError) -> (cookie: Cookie, source: CookieSource, warnings: [String]) {
        let release = ProcessEnvironment.release
        return try CookieResolver(cookieFile: cookieFile, commandLineCookie: cookie, environment: ProcessEnvironment.current,
                                  releaseRoot: release?.root, releaseCookie: release?.fileCookie,
                                  releaseCookieScript: release?.environment["RELEASE_COOKIE"] != nil ? release?.envScript : nil,
                                  releaseCookieProblem: release?.fileCookieProblem).resolve()
    }

    /// Whether the node's port is given (`--port`, `--address HOST:PORT`), so EPMD is not asked.
    var skipsEPMD: Bool { port != nil || address.flatMap { AddressResolver.splitHostPort($0).port } != nil }

    /// Connection options with `cookie`; exits on a bad `--name`.
    func connectOptions(cookie: Cookie) -> ConnectOptions {
        var options = ConnectOptions(cookie: cookie)
        options.notice = { printWarning($0) }
        if localName?.isEmpty == true {
            printError("--name is empty: give a name, or leave --name out for a unique one")
            exitNow(.usage)
        }
        if let localName {
            do {
                if localName.utf8.contains(UInt8(ascii: "@")) {
                    options.localName = try NodeName(parsing: localName)
                } else {
                    _ = try NodeName(alive: localName, host: "h")  // the alive part's checks
                    options.localAlive = localName
                }
            } catch {
                printError("--name: \(error)")
                exitNow(.usage)
            }
        }
        options.addressOverride = address
        options.port = port
        // With --port (or --address HOST:PORT) the node's EPMD is not asked: a bad ERL_EPMD_PORT is
        // then no mistake of this command (it still names the port where it is good: `cluster`
        // asks its members' EPMDs).
        options.epmdPort = resolvedEPMDPort(epmdPort, ignoringABadEnvironment: skipsEPMD)
        options.connectTimeout = .nanoseconds(Int64(connectTimeout * 1e9))
        // The handshake is part of connecting: a frozen node that accepts the TCP connection
        // (the kernel does that for it) must not hold the command longer than asked.
        options.handshakeTimeout = options.connectTimeout
        return options
    }
}

/// Parses a node name argument or exits with a clear error.
func parseNodeName(_ text: String) -> NodeName {
    do {
        return try NodeName(parsing: text)
    } catch {
        printError("invalid node name '\(text)': \(error)")
        exitNow(.usage)
    }
}
