// The one error type callers of the distribution layer see. Every message names the cause
// and, where there is one, the fix. None of them ever contains the cookie.

import ErlangTerm

public struct DistributionError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        case invalidName
        case noCookie
        /// The host name did not resolve.
        case resolveFailed
        case epmdUnreachable
        case notRegistered
        case connectionRefused
        case timeout
        case nameMismatch
        case notAllowed
        case alreadyConnected
        case authenticationFailed
        case connectionLost
        case protocolViolation
        /// The remote call ran and failed (`badrpc`, an exception, a timeout waiting for it).
        case remoteCallFailed
    }

    /// How a command line tool should exit for this error.
    public enum Category: Sendable {
        case remote, connect, authentication
    }

    public let kind: Kind
    public let description: String
    /// For `remoteCallFailed` from `badrpc`: the reason term.
    public let reason: Term?
    /// For `nameMismatch`: the node that answered at the address instead (its own name).
    public var reachedNode: String?
    /// For `protocolViolation`: the port answered in TLS (a node with `-proto_dist inet_tls`).
    public var answeredInTLS = false

    /// A call that got no answer in time (it may still be running on the node).
    public var isCallTimeout: Bool { kind == .remoteCallFailed && reason == .atom("timeout") }

    public init(_ kind: Kind, _ description: String, reason: Term? = nil) {
        self.kind = kind
        self.description = description
        self.reason = reason
    }

    public var category: Category {
        switch kind {
        case .authenticationFailed: return .authentication
        case .remoteCallFailed: return .remote
        case .invalidName, .noCookie, .resolveFailed, .epmdUnreachable, .notRegistered, .connectionRefused,
            .timeout, .nameMismatch, .notAllowed, .alreadyConnected, .connectionLost, .protocolViolation:
            return .connect
        }
    }
}

extension DistributionError {
    init(_ error: HandshakeError) {
        switch error.kind {
        case .cookieRejected, .peerAuthenticationFailed:
            self.init(.authenticationFailed, error.description + " (check RELEASE_COOKIE / --cookie-file)")
        case .notAllowed: self.init(.notAllowed, error.description)
        case .nameMismatch:
            self.init(.nameMismatch, error.description)
            reachedNode = error.reachedNode
        case .alreadyConnected, .nok: self.init(.alreadyConnected, error.description)
        case .closedEarly: self.init(.connectionLost, error.description)
        case .unexpectedMessage, .malformed: self.init(.protocolViolation, "handshake: " + error.description)
        }
    }
}
