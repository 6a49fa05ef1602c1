// Spawning a process on the peer with SPAWN_REQUEST (erl_dist_protocol, "SPAWN_REQUEST";
// erts/emulator/beam/dist.c `DOP_SPAWN_REQUEST`/`DOP_SPAWN_REPLY`), as `erlang:spawn_request/5`
// does. Nothing is loaded on the peer: the new process runs a function that is already there.

import ErlangTerm

/// What a spawned process is tied to on our side.
public struct SpawnOptions: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    /// Link the new process to the parent: if either ends abnormally, the other gets an exit signal.
    public static let link = SpawnOptions(rawValue: 1)
    /// Monitor the new process: a `.down` signal whose reference is the request id follows its end.
    public static let monitor = SpawnOptions(rawValue: 2)
}

extension NodeConnection {
    /// SPAWN_REPLY flag bits (`ERTS_DIST_SPAWN_FLAG_LINK`, `..._MONITOR` in dist.h).
    static let spawnFlagLink = 1
    static let spawnFlagMonitor = 2

    /// Asks the peer to spawn `module:function(arguments...)` with `groupLeader` as its group
    /// leader, and returns the request id at once. The answer arrives at `parent`'s mailbox as
    /// ``Signal/spawnReply(requestID:result:)`` (the new pid, or an error atom such as `badopt`
    /// or `system_limit`), before any other signal from the new process. With ``SpawnOptions/monitor``
    /// the process's end arrives as ``Signal/down(reference:process:reason:)`` with the request id
    /// as reference; with ``SpawnOptions/link`` the link is recorded when the reply arrives.
    ///
    /// The peer checks the arity against the argument list only when the process starts: an
    /// undefined function ends the new process with `undef` (seen through the monitor).
    public func requestSpawn(
        _ module: Atom, _ function: Atom, _ arguments: [Term], parent: Pid, groupLeader: Pid,
        options: SpawnOptions = []
    ) throws -> Reference {
        let requestID = makeReference()
        var list: [Term] = []
        if options.contains(.link) { list.append(.atom("link")) }
        if options.contains(.monitor) { list.append(.atom("monitor")) }
        try send(.spawnRequest(
            requestID: requestID, from: parent, groupLeader: groupLeader, module: module, function: function,
            arity: arguments.count, options: .list(list), arguments: .list(arguments)))
        return requestID
    }

    /// Spawns and waits for the reply on `mailbox`, which must have no other traffic meanwhile
    /// (a fresh mailbox). Throws `remoteCallFailed` when the peer refuses.
    public func spawn(
        _ module: Atom, _ function: Atom, _ arguments: [Term], from mailbox: Mailbox, groupLeader: Pid? = nil,
        options: SpawnOptions = [], timeout: Duration = .seconds(10)
    ) async throws -> (pid: Pid, requestID: Reference) {
        let requestID = try requestSpawn(module, function, arguments, parent: mailbox.pid,
                                         groupLeader: groupLeader ?? mailbox.pid, options: options)
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            guard let signal = try await mailbox.receive(timeout: deadline - clock.now) else { break }
            guard case .spawnReply(let id, let result) = signal, id == requestID else { continue }
            if case .pid(let pid) = result { return (pid, requestID) }
            throw DistributionError(.remoteCallFailed, "\(peer.name) refused to spawn \(module):\(function)/\(arguments.count)",
                                    reason: result)
        }
        throw DistributionError(.remoteCallFailed, "\(peer.name) did not answer a spawn request within \(timeout)")
    }
}
