// Control messages of the connected phase (erl_dist_protocol, "Protocol between Connected
// Nodes"), and their pass-through framing: `112 | 131 Control | [131 Message]`.

import ErlangTerm

/// The operation codes of control messages (`enum dop` in erts/emulator/beam/dist.h).
public enum ControlOperation: Int, Sendable {
    case link = 1, send = 2, exit = 3, unlink = 4, nodeLink = 5, regSend = 6, groupLeader = 7, exit2 = 8
    case sendTT = 12, exitTT = 13, regSendTT = 16, exit2TT = 18
    case monitorProcess = 19, demonitorProcess = 20, monitorProcessExit = 21
    case sendSender = 22, sendSenderTT = 23
    case payloadExit = 24, payloadExitTT = 25, payloadExit2 = 26, payloadExit2TT = 27, payloadMonitorProcessExit = 28
    case spawnRequest = 29, spawnRequestTT = 30, spawnReply = 31, spawnReplyTT = 32
    case aliasSend = 33, aliasSendTT = 34, unlinkID = 35, unlinkIDAck = 36, altactSignalSend = 37
}

/// A control message with its payload, trace tokens dropped.
public enum ControlMessage: Sendable, Hashable {
    case link(from: Pid, to: Pid)
    case send(to: Pid, message: Term)
    case exit(from: Pid, to: Pid, reason: Term)
    case unlink(from: Pid, to: Pid)
    case regSend(from: Pid, to: Atom, message: Term)
    case groupLeader(from: Pid, to: Pid)
    case exit2(from: Pid, to: Pid, reason: Term)
    /// `to` is a pid or a registered name.
    case monitorProcess(from: Pid, to: Term, reference: Reference)
    case demonitorProcess(from: Pid, to: Term, reference: Reference)
    /// `from` is the monitored pid or name.
    case monitorProcessExit(from: Term, to: Pid, reference: Reference, reason: Term)
    case sendSender(from: Pid, to: Pid, message: Term)
    case spawnRequest(
        requestID: Reference, from: Pid, groupLeader: Pid, module: Atom, function: Atom, arity: Int,
        options: Term, arguments: Term)
    /// `result` is the new pid, or an error atom.
    case spawnReply(requestID: Reference, to: Pid, flags: Int, result: Term)
    case aliasSend(from: Pid, alias: Reference, message: Term)
    case unlinkID(id: Term, from: Pid, to: Pid)
    case unlinkIDAck(id: Term, from: Pid, to: Pid)

    /// The control tuple and optional message, for encoding.
    var terms: (control: Term, message: Term?) {
        func op(_ o: ControlOperation) -> Term { .integer(o.rawValue) }
        switch self {
        case .link(let f, let t): return (.tuple([op(.link), .pid(f), .pid(t)]), nil)
        case .send(let t, let m): return (.tuple([op(.send), .atom(""), .pid(t)]), m)
        case .exit(let f, let t, let r): return (.tuple([op(.exit), .pid(f), .pid(t), r]), nil)
        case .unlink(let f, let t): return (.tuple([op(.unlink), .pid(f), .pid(t)]), nil)
        case .regSend(let f, let t, let m): return (.tuple([op(.regSend), .pid(f), .atom(""), .atom(t)]), m)
        case .groupLeader(let f, let t): return (.tuple([op(.groupLeader), .pid(f), .pid(t)]), nil)
        case .exit2(let f, let t, let r): return (.tuple([op(.exit2), .pid(f), .pid(t), r]), nil)
        case .monitorProcess(let f, let t, let r): return (.tuple([op(.monitorProcess), .pid(f), t, .reference(r)]), nil)
        case .demonitorProcess(let f, let t, let r): return (.tuple([op(.demonitorProcess), .pid(f), t, .reference(r)]), nil)
        case .monitorProcessExit(let f, let t, let r, let reason):
            return (.tuple([op(.monitorProcessExit), f, .pid(t), .reference(r), reason]), nil)
        case .sendSender(let f, let t, let m): return (.tuple([op(.sendSender), .pid(f), .pid(t)]), m)
        case .spawnRequest(let id, let f, let gl, let m, let fn, let a, let opts, let args):
            return (.tuple([op(.spawnRequest), .reference(id), .pid(f), .pid(gl),
                            .tuple([.atom(m), .atom(fn), .integer(a)]), opts]), args)
        case .spawnReply(let id, let t, let fl, let r):
            return (.tuple([op(.spawnReply), .reference(id), .pid(t), .integer(fl), r]), nil)
        case .aliasSend(let f, let a, let m): return (.tuple([op(.aliasSend), .pid(f), .reference(a)]), m)
        case .unlinkID(let id, let f, let t): return (.tuple([op(.unlinkID), id, .pid(f), .pid(t)]), nil)
        case .unlinkIDAck(let id, let f, let t): return (.tuple([op(.unlinkIDAck), id, .pid(f), .pid(t)]), nil)
        }
    }

    /// Interprets a decoded control tuple. Returns nil for an operation beamsh does not
    /// handle (the caller logs and ignores it); throws when a known operation is malformed.
    static func parse(control: Term, message: Term?) throws(DistributionProtocolError) -> ControlMessage? {
        guard case .tuple(let t) = control, let first = t.first, case .integer(let code) = first else {
            throw DistributionProtocolError("control message is not a tuple starting with an operation: \(control)")
        }
        guard let operation = ControlOperation(rawValue: code) else { return nil }
        let f = t.elements
        func pid(_ i: Int) throws(DistributionProtocolError) -> Pid {
            guard i < f.count, case .pid(let p) = f[i] else { throw malformed(operation) }
            return p
        }
        func ref(_ i: Int) throws(DistributionProtocolError) -> Reference {
            guard i < f.count, case .reference(let r) = f[i] else { throw malformed(operation) }
            return r
        }
        func term(_ i: Int) throws(DistributionProtocolError) -> Term {
            guard i < f.count else { throw malformed(operation) }
            return f[i]
        }
        func payload() throws(DistributionProtocolError) -> Term {
            guard let message else { throw malformed(operation) }
            return message
        }
        switch operation {
        case .link: return .link(from: try pid(1), to: try pid(2))
        case .send, .sendTT: return .send(to: try pid(2), message: try payload())
        case .exit, .exitTT: return .exit(from: try pid(1), to: try pid(2), reason: try term(f.count - 1))
        case .unlink: return .unlink(from: try pid(1), to: try pid(2))
        case .regSend, .regSendTT:
            guard case .atom(let name) = try term(3) else { throw malformed(operation) }
            return .regSend(from: try pid(1), to: name, message: try payload())
        case .groupLeader: return .groupLeader(from: try pid(1), to: try pid(2))
        case .exit2, .exit2TT: return .exit2(from: try pid(1), to: try pid(2), reason: try term(f.count - 1))
        case .monitorProcess: return .monitorProcess(from: try pid(1), to: try term(2), reference: try ref(3))
        case .demonitorProcess: return .demonitorProcess(from: try pid(1), to: try term(2), reference: try ref(3))
        case .monitorProcessExit:
            return .monitorProcessExit(from: try term(1), to: try pid(2), reference: try ref(3), reason: try term(4))
        case .sendSender, .sendSenderTT: return .sendSender(from: try pid(1), to: try pid(2), message: try payload())
        case .payloadExit, .payloadExitTT: return .exit(from: try pid(1), to: try pid(2), reason: try payload())
        case .payloadExit2, .payloadExit2TT: return .exit2(from: try pid(1), to: try pid(2), reason: try payload())
        case .payloadMonitorProcessExit:
            return .monitorProcessExit(from: try term(1), to: try pid(2), reference: try ref(3), reason: try payload())
        case .spawnRequest, .spawnRequestTT:
            guard case .tuple(let mfa) = try term(4), mfa.count == 3, case .atom(let m) = mfa[0],
                case .atom(let fn) = mfa[1], case .integer(let a) = mfa[2]
            else { throw malformed(operation) }
            return .spawnRequest(requestID: try ref(1), from: try pid(2), groupLeader: try pid(3), module: m,
                                 function: fn, arity: a, options: try term(5), arguments: try payload())
        case .spawnReply, .spawnReplyTT:
            guard case .integer(let flags) = try term(3) else { throw malformed(operation) }
            return .spawnReply(requestID: try ref(1), to: try pid(2), flags: flags, result: try term(4))
        case .aliasSend, .aliasSendTT: return .aliasSend(from: try pid(1), alias: try ref(2), message: try payload())
        case .unlinkID: return .unlinkID(id: try term(1), from: try pid(2), to: try pid(3))
        case .unlinkIDAck: return .unlinkIDAck(id: try term(1), from: try pid(2), to: try pid(3))
        case .nodeLink, .altactSignalSend: return nil
        }
    }

    private static func malformed(_ op: ControlOperation) -> DistributionProtocolError {
        DistributionProtocolError("malformed \(op) control message")
    }
}

/// The peer broke the distribution protocol.
public struct DistributionProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    public let description: String
    /// The peer answered with a TLS record: distribution over TLS (`-proto_dist inet_tls`).
    public let answeredInTLS: Bool
    init(_ description: String, answeredInTLS: Bool = false) {
        self.description = description
        self.answeredInTLS = answeredInTLS
    }
}

/// One message of the connected phase: `112 | 131 Control | [131 Message]`.
public enum DistributionMessageCodec {
    static let passThrough: UInt8 = 112

    /// Marks the stand-in for a reply beamsh could not decode: `{Ref, {Marker, Why}}`, where Why
    /// is the decoder's error as a binary (see ``undecodableReason(_:)``).
    public static let undecodableMarker: Atom = "$beamsh_undecodable"

    /// Why a reply (the second element of `{Ref, Reply}`) could not be decoded, when it is the
    /// stand-in ``decode(_:decoder:)`` delivers in its place.
    public static func undecodableReason(_ reply: Term) -> String? {
        guard let t = reply.tupleElements, t.count == 2, t[0] == .atom(undecodableMarker) else { return nil }
        return t[1].stringValue
    }

    /// `{Ref, {Marker, Why}}` when `payload` (versioned) is a pair starting with a reference: the
    /// shape of every reply (rex's `{Ref, Result}`, an evaluator's `{Tag, Result}`).
    private static func undecodableReply(_ payload: ArraySlice<UInt8>, _ error: TermDecodingError, _ decoder: TermDecoder) -> Term? {
        let s = payload.startIndex
        guard payload.count > 3, payload[s] == 131, payload[s + 1] == ExternalTermTag.smallTuple.rawValue, payload[s + 2] == 2
        else { return nil }
        var offset = s + 3
        guard case .reference(let reference)? = try? decoder.decodeBody(payload, at: &offset) else { return nil }
        return .tuple([.reference(reference), .tuple([.atom(undecodableMarker), .binary(error.description)])])
    }

    /// Encodes a control message in pass-through form (no atom cache), without the length.
    public static func encode(_ message: ControlMessage) throws -> [UInt8] {
        let (control, payload) = message.terms
        var out: [UInt8] = [passThrough]
        try TermEncoder.encodeVersioned(control, into: &out)
        if let payload { try TermEncoder.encodeVersioned(payload, into: &out) }
        return out
    }

    /// Decodes one frame's payload. Returns the raw control term too, for logging unknown ones.
    public static func decode(_ frame: ArraySlice<UInt8>, decoder: TermDecoder = TermDecoder())
        throws -> (control: Term, message: ControlMessage?)
    {
        guard let first = frame.first else { throw DistributionProtocolError("empty distribution message") }
        guard first == passThrough else {
            throw DistributionProtocolError(
                "distribution message with header \(first): atom cache and fragments were not negotiated")
        }
        var offset = frame.startIndex + 1
        let control = try decoder.decodeVersioned(frame, at: &offset)
        var payload: Term?
        if offset < frame.endIndex {
            let start = offset
            do {
                payload = try decoder.decodeVersioned(frame, at: &offset)
            } catch {
                // Too large or too deep for this decoder, but well framed: a reply still reaches
                // the caller waiting for it, as an error, and the connection goes on.
                let aboutSize: Bool
                switch error.kind {
                case .tooLarge, .tooDeep: aboutSize = true
                default: aboutSize = false
                }
                guard aboutSize, let standIn = undecodableReply(frame[start...], error, decoder) else { throw error }
                payload = standIn
                offset = frame.endIndex
            }
        }
        guard offset == frame.endIndex else {
            throw DistributionProtocolError("\(frame.endIndex - offset) bytes after a distribution message")
        }
        return (control, try ControlMessage.parse(control: control, message: payload))
    }
}
