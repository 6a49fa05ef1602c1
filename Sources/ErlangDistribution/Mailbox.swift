// A local process: a pid on our node and the queue of signals sent to it.

import ErlangTerm
import NIOConcurrencyHelpers
import NIOCore

/// What can arrive at a local pid.
public enum Signal: Sendable, Hashable {
    /// A message; `from` is known when the peer used SEND_SENDER or REG_SEND.
    case message(from: Pid?, Term)
    /// An exit signal (from a link or `exit/2`).
    case exit(from: Pid, reason: Term)
    /// A monitor we set fired: the monitored process (pid or name) ended with `reason`.
    case down(reference: Reference, process: Term, reason: Term)
    /// The answer to a spawn request: the new pid, or an error atom.
    case spawnReply(requestID: Reference, result: Term)
}

/// A pid of ours with its signal queue. Receive from one task at a time.
public final class Mailbox: Sendable {
    public let pid: Pid
    private let state = NIOLockedValueBox(State())
    private let onClose: @Sendable (Mailbox, Term) -> Void
    /// Where a receive's timeout is scheduled: the connection's event loop, which is awake
    /// anyway, rather than a task sleeping on the global executor per wait.
    private let timers: EventLoop

    private struct State {
        var queue: [Signal] = []
        var head = 0
        var waiter: (id: UInt64, continuation: CheckedContinuation<Signal?, Error>)?
        var nextWaiterID: UInt64 = 0
        var failure: DistributionError?
        var closed = false
    }

    init(pid: Pid, timers: EventLoop, onClose: @escaping @Sendable (Mailbox, Term) -> Void) {
        self.pid = pid
        self.timers = timers
        self.onClose = onClose
    }

    /// How many signals wait to be received.
    public var queuedCount: Int { state.withLockedValue { $0.queue.count - $0.head } }

    /// Delivers a signal (called by the connection).
    func deliver(_ signal: Signal) {
        let waiter: CheckedContinuation<Signal?, Error>? = state.withLockedValue { s in
            if s.closed { return nil }
            if let w = s.waiter {
                s.waiter = nil
                return w.continuation
            }
            s.queue.append(signal)
            return nil
        }
        waiter?.resume(returning: signal)
    }

    /// Fails every waiting and later receive (the connection is gone).
    func fail(_ error: DistributionError) {
        let waiter = state.withLockedValue { s -> CheckedContinuation<Signal?, Error>? in
            s.failure = error
            defer { s.waiter = nil }
            return s.waiter?.continuation
        }
        waiter?.resume(throwing: error)
    }

    /// The next signal, or nil when `timeout` passes first. Throws when the connection is lost.
    public func receive(timeout: Duration? = nil) async throws -> Signal? {
        if let ready = try state.withLockedValue({ s throws -> Signal? in
            if s.head < s.queue.count {
                defer {
                    s.head += 1
                    if s.head > 1024 && s.head * 2 > s.queue.count {
                        s.queue.removeFirst(s.head)
                        s.head = 0
                    }
                }
                return s.queue[s.head]
            }
            if let failure = s.failure { throw failure }
            return nil
        }) {
            return ready
        }
        // Nothing queued: a zero timeout is an answer already, no wait to set up.
        if let timeout, timeout <= .zero { return nil }
        let id = state.withLockedValue { s -> UInt64 in
            s.nextWaiterID += 1
            return s.nextWaiterID
        }
        let timer = NIOLockedValueBox<Scheduled<Void>?>(nil)
        defer { timer.withLockedValue { $0?.cancel() } }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Signal?, Error>) in
                let immediate: Result<Signal?, Error>? = state.withLockedValue { s in
                    if s.head < s.queue.count {
                        s.head += 1
                        return .success(s.queue[s.head - 1])
                    }
                    if let failure = s.failure { return .failure(failure) }
                    if Task.isCancelled { return .success(nil) }
                    s.waiter = (id, continuation)
                    return nil
                }
                if let immediate {
                    continuation.resume(with: immediate)
                    return
                }
                if let timeout {
                    let scheduled = timers.scheduleTask(in: TimeAmount(timeout)) { [weak self] () -> Void in
                        self?.wakeWaiter(id)
                    }
                    timer.withLockedValue { $0 = scheduled }
                }
            }
        } onCancel: {
            wakeWaiter(id)
        }
    }

    /// Puts signals taken by ``receive(timeout:)`` back in front of everything queued, in their
    /// order, for a later receive: a reader that looks for some messages among others (a read
    /// serving output meanwhile) leaves the rest to the loop that owns the mailbox.
    public func putBack(_ signals: [Signal]) {
        guard !signals.isEmpty else { return }
        let woken: (CheckedContinuation<Signal?, Error>, Signal)? = state.withLockedValue { s in
            if s.closed { return nil }
            if let w = s.waiter {
                // Only when nothing was queued can a receive be waiting.
                s.waiter = nil
                s.queue.insert(contentsOf: signals.dropFirst(), at: s.head)
                return (w.continuation, signals[0])
            }
            s.queue.insert(contentsOf: signals, at: s.head)
            return nil
        }
        if let (continuation, first) = woken { continuation.resume(returning: first) }
    }

    /// Ends a wait with nil (timeout or cancellation) if that wait is still pending.
    private func wakeWaiter(_ id: UInt64) {
        let waiter = state.withLockedValue { s -> CheckedContinuation<Signal?, Error>? in
            guard let w = s.waiter, w.id == id else { return nil }
            s.waiter = nil
            return w.continuation
        }
        waiter?.resume(returning: nil)
    }

    /// Ends this process: linked and monitoring remote processes get `reason`.
    public func close(reason: Term = .atom("normal")) {
        let first = state.withLockedValue { s -> Bool in
            defer { s.closed = true }
            return !s.closed
        }
        guard first else { return }
        wakeAll()
        onClose(self, reason)
    }

    private func wakeAll() {
        let waiter = state.withLockedValue { s -> CheckedContinuation<Signal?, Error>? in
            defer { s.waiter = nil }
            return s.waiter?.continuation
        }
        waiter?.resume(returning: nil)
    }
}
