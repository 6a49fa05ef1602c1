// A live distribution connection to one node, as a hidden node: local pids and refs,
// routing of incoming signals to mailboxes, links and monitors, and RPC through `rex`.

import ErlangTerm
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// A hidden-node connection to one remote node. Thread-safe.
public final class NodeConnection: Sendable {
    /// The node we are connected to.
    public let peer: PeerInfo
    /// Our own node name and creation on this connection.
    public let localName: NodeName
    public let creation: UInt32
    let channel: Channel
    /// The event loop this connection's futures complete on.
    public var eventLoop: EventLoop { channel.eventLoop }
    let logger: Logger
    private let state = NIOLockedValueBox(RoutingState())
    private let closedPromise: EventLoopPromise<DistributionError>

    struct RoutingState {
        var mailboxes: [UInt32: Mailbox] = [:]
        var registered: [Atom: UInt32] = [:]
        var nextPidID: UInt32 = 1
        var nextReference: UInt64 = 1
        /// Remote processes linked to each local pid.
        var links: [UInt32: Set<Pid>] = [:]
        /// Remote monitors on each local pid: (monitoring pid, reference, what it monitors: our
        /// pid or the registered name it named, which its MONITOR_P_EXIT must carry back).
        var monitors: [UInt32: [(Pid, Reference, Term)]] = [:]
        var lost: DistributionError?
        /// RPC replies awaited on the shared reply pid, by the call's reference.
        var pendingCalls: [Reference: EventLoopPromise<Term>] = [:]
    }

    /// The pid every RPC of this connection names as its caller: replies `{Ref, Result}` to
    /// it complete the call with that reference, with no mailbox or task per call.
    public let replyPid: Pid

    init(channel: Channel, peer: PeerInfo, localName: NodeName, creation: UInt32, logger: Logger) {
        self.channel = channel
        self.peer = peer
        self.localName = localName
        self.creation = creation
        self.logger = logger
        self.closedPromise = channel.eventLoop.makePromise()
        self.replyPid = Pid(node: Atom(localName.description), id: 0, serial: 0, creation: creation)
    }

    /// When the node was last heard from (any byte, ticks included), and how long it may be silent.
    let hearing = NIOLockedValueBox<(last: NIODeadline, deadAfter: TimeAmount)>((.now(), .seconds(75)))

    /// How long the node has been silent, when that is more than two of its tick intervals (a
    /// node ticks five times within the time it is given): the node is frozen or the link is
    /// stalled (a tunnel or network that holds the connection open but carries nothing), not
    /// the node slow, since a node busy evaluating still ticks. Nil otherwise.
    public var stalledFor: TimeAmount? {
        let (last, deadAfter) = hearing.withLockedValue { $0 }
        let silent = NIODeadline.now() - last
        return silent.nanoseconds * 5 > deadAfter.nanoseconds * 2 ? silent : nil
    }

    /// Said after a call's time ran out when the node has been silent for more than one tick
    /// interval but not yet two (see ``stalledFor``): maybe frozen, maybe between ticks.
    public var silenceNote: String? {
        let (last, deadAfter) = hearing.withLockedValue { $0 }
        let silent = NIODeadline.now() - last
        guard silent.nanoseconds * 5 > deadAfter.nanoseconds, stalledFor == nil else { return nil }
        return "nothing came from \(peer.name) for \(silent.spokenSeconds), not even a tick: it may be frozen "
            + "(a node that answers can be silent for up to \(TimeAmount.nanoseconds(deadAfter.nanoseconds * 2 / 5).spokenSeconds) between ticks)"
    }

    /// The error for a wait that ran out on a stalled link (see ``stalledFor``), if it is one:
    /// a connection problem, not the call's.
    public func stalledError(waitingFor what: String) -> DistributionError? {
        guard let silent = stalledFor else { return nil }
        return DistributionError(.connectionLost,
            "\(peer.name) stopped answering while \(what): nothing came for \(silent.spokenSeconds), not even its ticks "
            + "(the node is frozen, or the network or a tunnel on the way is stalled; what the node did meanwhile is unknown)")
    }

    /// The node name as an atom, as it appears in our pids and refs.
    public var localNodeAtom: Atom { Atom(localName.description) }
    public var peerNodeAtom: Atom { Atom(peer.name) }

    /// Completes with the reason once the connection is gone.
    public var closeFuture: EventLoopFuture<DistributionError> { closedPromise.futureResult }

    public var isConnected: Bool { state.withLockedValue { $0.lost == nil } }

    // MARK: - Local processes

    /// A new local process (pid) with its mailbox. Close it when done.
    public func makeMailbox(registeredAs name: Atom? = nil) -> Mailbox {
        state.withLockedValue { s in
            let id = s.nextPidID
            s.nextPidID &+= 1
            let pid = Pid(node: localNodeAtom, id: id & 0x7FFF, serial: id >> 15, creation: creation)
            let mailbox = Mailbox(pid: pid, timers: channel.eventLoop) { [weak self] mailbox, reason in
                self?.processEnded(mailbox, reason: reason)
            }
            if let lost = s.lost { mailbox.fail(lost) }
            s.mailboxes[Self.key(pid)] = mailbox
            if let name { s.registered[name] = Self.key(pid) }
            return mailbox
        }
    }

    /// A fresh reference on our node.
    public func makeReference() -> Reference {
        let n = state.withLockedValue { s -> UInt64 in
            defer { s.nextReference &+= 1 }
            return s.nextReference
        }
        return Reference(node: localNodeAtom, creation: creation,
                         ids: [UInt32(truncatingIfNeeded: n) & 0x3FFFF, UInt32(truncatingIfNeeded: n >> 18), 0])
    }

    private static func key(_ pid: Pid) -> UInt32 { pid.id | pid.serial << 15 }

    /// The local process a MONITOR_P or DEMONITOR_P names: a pid, or a registered name.
    private static func key(of target: Term, in s: RoutingState) -> UInt32? {
        switch target {
        case .pid(let p): key(p)
        case .atom(let a): s.registered[a]
        default: nil
        }
    }

    // MARK: - Sending

    /// Sends a control message.
    public func send(_ message: ControlMessage) throws {
        if let lost = state.withLockedValue({ $0.lost }) { throw lost }
        let body = try DistributionMessageCodec.encode(message)
        var buffer = channel.allocator.buffer(capacity: body.count + 4)
        buffer.writeInteger(UInt32(body.count))
        buffer.writeBytes(body)
        channel.writeAndFlush(buffer, promise: nil)
    }

    /// `To ! Message` for a remote pid.
    public func send(_ message: Term, to pid: Pid, from: Pid) throws {
        try send(.sendSender(from: from, to: pid, message: message))
    }

    /// `{Name, Node} ! Message` for a process registered on the peer.
    public func send(_ message: Term, toRegistered name: Atom, from: Pid) throws {
        try send(.regSend(from: from, to: name, message: message))
    }

    /// Links a local pid to a remote one: if either ends, the other gets an exit signal.
    public func link(_ local: Pid, to remote: Pid) throws {
        state.withLockedValue { s in _ = s.links[Self.key(local), default: []].insert(remote) }
        try send(.link(from: local, to: remote))
    }

    /// Monitors a remote process (pid or registered name); a `.down` signal follows its end.
    public func monitor(_ remote: Term, from local: Pid) throws -> Reference {
        let reference = makeReference()
        try send(.monitorProcess(from: local, to: remote, reference: reference))
        return reference
    }

    public func demonitor(_ remote: Term, reference: Reference, from local: Pid) throws {
        try send(.demonitorProcess(from: local, to: remote, reference: reference))
    }

    /// Sends an exit signal to a remote process, as `exit(Pid, Reason)` does.
    public func exit(_ remote: Pid, reason: Term, from local: Pid) throws {
        try send(.exit2(from: local, to: remote, reason: reason))
    }

    // MARK: - RPC

    /// Calls `module:function(arguments...)` on the peer through its `rex` server and returns
    /// what the function returned. A failure on the peer comes back as `{badrpc, Reason}`,
    /// which this returns as a term; see ``rpc(_:_:_:groupLeader:timeout:)`` to get an error.
    /// - parameters:
    ///   - groupLeader: where the call's I/O goes: a pid of ours, or `user` (the peer's console).
    ///   - timeout: nil waits as long as the connection lives.
    public func call(
        _ module: Atom, _ function: Atom, _ arguments: [Term], groupLeader: Term = .atom("user"),
        timeout: Duration? = nil
    ) async throws -> Term {
        try await awaitDistribution(submitCall(module, function, arguments, groupLeader: groupLeader, timeout: timeout))
    }

    /// Asks the node for its `net_ticktime` and judges the connection by it: given up after
    /// 1.25 times that without a byte from the node, as a node judges its peers (75 s for the
    /// default 60 s, which is also what applies until this is called). A node that ticks
    /// rarely (`-kernel net_ticktime 300`, set for a flaky network) then keeps a quiet session,
    /// and one that ticks often (10 s) is found gone in 12.5 s. Returns the ticktime, or nil
    /// when the node did not say.
    @discardableResult
    public func followPeerTickTime(timeout: Duration = .seconds(10)) async -> Int? {
        guard let reply = try? await call("net_kernel", "get_net_ticktime", [], timeout: timeout) else { return nil }
        var seconds: Int?
        switch reply {
        case .integer(let n): seconds = n
        case .tuple(let t) where t.count == 2: seconds = t[1].intValue  // {ongoing_change_to, New}
        default: break
        }
        guard let seconds, seconds > 0 else { return nil }
        channel.pipeline.fireUserInboundEventTriggered(PeerTickTime(seconds: seconds))
        return seconds
    }

    /// ``call(_:_:_:groupLeader:timeout:)`` as a future completed on the connection's event loop.
    public func submitCall(
        _ module: Atom, _ function: Atom, _ arguments: [Term], groupLeader: Term = .atom("user"),
        timeout: Duration? = nil
    ) -> EventLoopFuture<Term> {
        let eventLoop = channel.eventLoop
        let promise = eventLoop.makePromise(of: Term.self)
        let reference = makeReference()
        let failure = state.withLockedValue { s -> DistributionError? in
            if let lost = s.lost { return lost }
            s.pendingCalls[reference] = promise
            return nil
        }
        if let failure {
            promise.fail(failure)
            return promise.futureResult
        }
        let request: Term = .tuple([
            .atom("$gen_call"),
            .tuple([.pid(replyPid), .reference(reference)]),
            .tuple([.atom("call"), .atom(module), .atom(function), .list(arguments), groupLeader]),
        ])
        do {
            try send(request, toRegistered: "rex", from: replyPid)
        } catch {
            _ = state.withLockedValue { $0.pendingCalls.removeValue(forKey: reference) }
            promise.fail(error)
            return promise.futureResult
        }
        if let timeout {
            let peerName = peer.name
            let timer = eventLoop.scheduleTask(in: TimeAmount(timeout)) { [weak self] in
                guard let self, let waiting = self.state.withLockedValue({ $0.pendingCalls.removeValue(forKey: reference) })
                else { return }
                if let stalled = self.stalledError(waitingFor: "\(module):\(function)/\(arguments.count) ran") {
                    waiting.fail(stalled)
                    return
                }
                // Reason `timeout`, as `rpc:call/5` reports it (`{badrpc, timeout}`).
                let silence = self.silenceNote.map { "; " + $0 } ?? ""
                waiting.fail(DistributionError(.remoteCallFailed,
                    "\(module):\(function)/\(arguments.count) on \(peerName) did not answer within \(timeout)\(silence)",
                    reason: .atom("timeout")))
            }
            promise.futureResult.whenComplete { _ in timer.cancel() }
        }
        return promise.futureResult
    }

    /// A reply to the shared reply pid: completes the call it answers.
    private func completeCall(_ reply: Term) {
        guard case .tuple(let t) = reply, t.count == 2, case .reference(let reference) = t[0],
            let promise = state.withLockedValue({ $0.pendingCalls.removeValue(forKey: reference) })
        else {
            logger.debug("reply for no pending call")
            return
        }
        if let why = DistributionMessageCodec.undecodableReason(t[1]) {
            promise.fail(DistributionError(.remoteCallFailed, "the reply from \(peer.name) is beyond what beamsh decodes: \(why)"))
            return
        }
        promise.succeed(t[1])
    }

    /// Like ``call(_:_:_:groupLeader:timeout:)``, but `{badrpc, Reason}` throws a
    /// ``DistributionError`` of kind `remoteCallFailed` carrying the reason.
    public func rpc(
        _ module: Atom, _ function: Atom, _ arguments: [Term], groupLeader: Term = .atom("user"),
        timeout: Duration? = nil
    ) async throws -> Term {
        try await awaitDistribution(submitRPC(module, function, arguments, groupLeader: groupLeader, timeout: timeout))
    }

    /// ``rpc(_:_:_:groupLeader:timeout:)`` as a future completed on the connection's event loop.
    public func submitRPC(
        _ module: Atom, _ function: Atom, _ arguments: [Term], groupLeader: Term = .atom("user"),
        timeout: Duration? = nil
    ) -> EventLoopFuture<Term> {
        let peerName = peer.name
        return submitCall(module, function, arguments, groupLeader: groupLeader, timeout: timeout).flatMapThrowing { result in
            if case .tuple(let t) = result, t.count == 2, t[0] == .atom("badrpc") {
                throw DistributionError(.remoteCallFailed, "\(module):\(function)/\(arguments.count) failed on \(peerName)",
                                        reason: t[1])
            }
            return result
        }
    }

    // MARK: - Closing

    /// Closes the connection.
    public func close() async {
        try? await channel.close().get()
    }

    /// Closes the connection without waiting.
    public func closeNow() {
        channel.close(promise: nil)
    }

    // MARK: - Incoming (event loop)

    /// Routes one incoming control message.
    func handle(_ message: ControlMessage) {
        switch message {
        case .send(let to, let m):
            deliver(.message(from: nil, m), to: to)
        case .sendSender(let from, let to, let m):
            deliver(.message(from: from, m), to: to)
        case .regSend(let from, let name, let m):
            let mailbox = state.withLockedValue { s in s.registered[name].flatMap { s.mailboxes[$0] } }
            mailbox?.deliver(.message(from: from, m))
        case .aliasSend:
            break  // beamsh creates no aliases
        case .exit(let from, let to, let reason), .exit2(let from, let to, let reason):
            state.withLockedValue { s in _ = s.links[Self.key(to)]?.remove(from) }
            deliver(.exit(from: from, reason: reason), to: to)
        case .link(let from, let to):
            let known = state.withLockedValue { s -> Bool in
                guard s.mailboxes[Self.key(to)] != nil else { return false }
                s.links[Self.key(to), default: []].insert(from)
                return true
            }
            if !known { try? send(.exit(from: to, to: from, reason: .atom("noproc"))) }
        case .unlink(let from, let to):
            state.withLockedValue { s in _ = s.links[Self.key(to)]?.remove(from) }
        case .unlinkID(let id, let from, let to):
            state.withLockedValue { s in _ = s.links[Self.key(to)]?.remove(from) }
            try? send(.unlinkIDAck(id: id, from: to, to: from))
        case .unlinkIDAck:
            break
        case .monitorProcess(let from, let target, let reference):
            let known = state.withLockedValue { s -> Bool in
                guard let key = Self.key(of: target, in: s), s.mailboxes[key] != nil else { return false }
                s.monitors[key, default: []].append((from, reference, target))
                return true
            }
            if !known {
                try? send(.monitorProcessExit(from: target, to: from, reference: reference, reason: .atom("noproc")))
            }
        case .demonitorProcess(_, let target, let reference):
            state.withLockedValue { s in
                if let key = Self.key(of: target, in: s) { s.monitors[key]?.removeAll { $0.1 == reference } }
            }
        case .monitorProcessExit(let from, let to, let reference, let reason):
            deliver(.down(reference: reference, process: from, reason: reason), to: to)
        case .spawnReply(let id, let to, let flags, let result):
            // A spawn with `link` made the new process linked to `to` on the peer's side;
            // record it so our end of the link sends the exit signal when `to` ends.
            if flags & Self.spawnFlagLink != 0, case .pid(let child) = result {
                let alive = state.withLockedValue { s -> Bool in
                    guard s.mailboxes[Self.key(to)] != nil else { return false }
                    s.links[Self.key(to), default: []].insert(child)
                    return true
                }
                if !alive { try? send(.exit(from: to, to: child, reason: .atom("noproc"))) }
            }
            deliver(.spawnReply(requestID: id, result: result), to: to)
        case .spawnRequest(let id, let from, _, _, _, _, _, _):
            // Nothing runs code here: refuse like a node that cannot spawn.
            try? send(.spawnReply(requestID: id, to: from, flags: 0, result: .atom("notsup")))
        case .groupLeader:
            break
        }
    }

    private func deliver(_ signal: Signal, to pid: Pid) {
        if pid == replyPid {
            if case .message(_, let reply) = signal { completeCall(reply) }
            return
        }
        let mailbox = state.withLockedValue { $0.mailboxes[Self.key(pid)] }
        if let mailbox {
            mailbox.deliver(signal)
        } else {
            logger.debug("signal for a pid that is gone", metadata: ["pid": "\(pid.id).\(pid.serial)"])
        }
    }

    /// A local process ended: tell everything linked to it or monitoring it.
    private func processEnded(_ mailbox: Mailbox, reason: Term) {
        let key = Self.key(mailbox.pid)
        let (links, monitors) = state.withLockedValue { s -> (Set<Pid>, [(Pid, Reference, Term)]) in
            s.mailboxes[key] = nil
            s.registered = s.registered.filter { $0.value != key }
            return (s.links.removeValue(forKey: key) ?? [], s.monitors.removeValue(forKey: key) ?? [])
        }
        for remote in links { try? send(.exit(from: mailbox.pid, to: remote, reason: reason)) }
        for (remote, reference, target) in monitors {
            try? send(.monitorProcessExit(from: target, to: remote, reference: reference, reason: reason))
        }
    }

    /// The connection is gone: every waiting receive fails with `error`.
    func connectionLost(_ error: DistributionError) {
        let (mailboxes, calls) = state.withLockedValue { s -> ([Mailbox], [EventLoopPromise<Term>]) in
            guard s.lost == nil else { return ([], []) }
            s.lost = error
            defer { s.pendingCalls = [:] }
            return (Array(s.mailboxes.values), Array(s.pendingCalls.values))
        }
        for mailbox in mailboxes { mailbox.fail(error) }
        for call in calls { call.fail(error) }
        closedPromise.succeed(error)
    }
}
