// `beamsh top`: the busiest processes of a node, cheaply, with nothing loaded on the node.
//
// Sampling design (measured on OTP 25 with 1,000,000 idle processes; README "Cluster operations"):
// - One process per refresh: `erl_eval:exprs/3` runs a fixed expression (parsed once per session
//   by the node's own `erl_scan`/`erl_parse`; the parse tree travels as data, nothing is loaded).
// - erl_eval only interprets the glue, O(processes / chunk) steps. Every per-process step runs
//   in compiled code: `lists:zipwith(fun erlang:process_info/2, Pids, Items)` samples a chunk,
//   `ets:match_spec_run/2` extracts the numbers and filters against the current N-th best,
//   `lists:zipwith(fun erlang:'-'/2, ...)` computes reduction deltas, and a match spec with
//   `lists:sum/1` turns a process's list of off-heap binaries into bytes (`binary` only: its
//   cost grows with the references a process holds, so no other view asks for it).
// - The pid list is split into chunks of 5,000 so temporaries stay small; the running top N
//   and a floor (the N-th best value) drop nearly every chunk in the match spec, so almost
//   nothing is sorted.
// - Reductions are a delta over the interval: the node samples, waits, samples again (like
//   recon's proc_window) and keeps only an integer per process (16 bytes each) in between.
//   For memory, message queues and binaries, only the top N are sampled again after the interval.
// - The reply is N rows. The sampler runs in a process of its own, linked to beamsh: when a
//   refresh takes longer than its timeout it is killed, and a beamsh that goes away (Ctrl-C, a
//   lost connection) takes it along, so nothing keeps sampling a node that is already busy.
//   Everything it held is freed when the refresh ends.

import ErlangDistribution
import ErlangTerm

/// What to rank processes by.
public enum TopOrder: String, Sendable, CaseIterable {
    case memory
    case reductions
    case messageQueue = "message_queue"
    /// Bytes of the off-heap (reference-counted) binaries a process references: what `memory`
    /// leaves out, and where a binary leak shows.
    case binary

    var processInfoItem: Atom {
        switch self {
        case .memory: return "memory"
        case .reductions: return "reductions"
        case .messageQueue: return "message_queue_len"
        case .binary: return "binary"
        }
    }
}

/// One process in the top list.
public struct TopProcess: Sendable {
    public var pid: Pid
    /// The registered name, or nil.
    public var registeredName: String?
    /// The initial call; for proc_lib processes (gen_servers, tasks) the real one from `proc_lib:translate_initial_call/1`.
    public var initialCall: String
    public var currentFunction: String
    public var memory: Int
    /// Reductions during the interval.
    public var reductionsDelta: Int
    public var messageQueueLength: Int
    /// Bytes of the off-heap binaries the process references (each counted in full by every
    /// process that references it, and once per reference, as `recon:proc_count(binary_memory, N)`
    /// counts them); nil unless the view is by binary.
    public var binaryMemory: Int? = nil

    /// The name column: the registered name, else the initial call.
    public var label: String { registeredName ?? initialCall }
}

/// One refresh.
public struct TopSample: Sendable {
    public var node: String
    public var order: TopOrder
    public var interval: Duration
    public var processCount: Int
    public var processes: [TopProcess]
    /// Time the node spent working for this refresh (the interval's wait excluded), as the node measured it.
    public var nodeCost: Duration
    /// The pause due after this refresh, beyond the interval its sampler waited anyway, so
    /// that refreshes one after another take at most half of one scheduler's time on the node.
    public var restBeforeNext: Duration { max(.zero, nodeCost - interval) }
    /// Memory the node's evaluating process held at the end of the refresh (freed right after).
    public var nodeMemory: Int
    /// Wall time of the whole refresh seen from beamsh, the interval included.
    public var wallTime: Duration

    /// The printable view, cut to `width` columns when given.
    public func render(width: Int? = nil) -> String {
        let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
        let ranked = processes.isEmpty ? "by" : "top \(processes.count) by"
        // A quantity and its unit ("1.0 s", "74 KiB") are held together while lines are broken
        // (a no-break space, made a space again after).
        func unbroken(_ quantity: String) -> String { String(quantity.map { $0 == " " ? "\u{00A0}" : $0 }) }
        let what = "\(node): \(Human.count(processCount)) processes; \(ranked) \(order.rawValue), reductions over \(unbroken(Human.seconds(seconds)))"
        let cost = "this refresh cost the node \(unbroken(Human.milliseconds(nodeCost))) and \(unbroken(Human.bytes(nodeMemory))) (temporary)"
        // One line, or two where a terminal is too narrow for it (the terminal would wrap it mid-word).
        var lines = width.map { what.count + 2 + cost.count > $0 } == true ? [what, cost] : [what + "; " + cost]
        // Each of the two still too wide: broken between words, never inside one.
        if let width { lines = lines.flatMap { TextTable.wrappingWords($0, width: width) } }
        lines = lines.map { String($0.map { $0 == "\u{00A0}" ? " " : $0 }) }
        // The numbers before the current function, as etop orders them. A narrow terminal cuts
        // the current function, then drops it, then cuts the name, then drops the numbers the
        // view is not sorted by; a number is never cut (110,000,000 cut to "110," misleads).
        // The binary column only where it was sampled (`--by binary`).
        let byBinary = order == .binary
        var table = TextTable(header: ["pid", "name or initial call", "memory"] + (byBinary ? ["binary"] : [])
                                  + ["reductions", "msg queue", "current function"],
                              rightAligned: byBinary ? [2, 3, 4, 5] : [2, 3, 4])
        for p in processes {
            table.add([Term.localPidText(p.pid), p.label, Human.bytes(p.memory)] + (byBinary ? [Human.bytes(p.binaryMemory ?? 0)] : [])
                      + [Human.count(p.reductionsDelta), Human.count(p.messageQueueLength), p.currentFunction])
        }
        if processes.isEmpty {
            // Only processes that did something rank: an idle node has nothing to show.
            switch order {
            case .reductions: lines.append("(no process ran during the \(Human.seconds(seconds)))")
            case .messageQueue: lines.append("(no process has messages waiting)")
            case .memory: lines.append("(no process answered)")
            case .binary: lines.append("(no process references off-heap binaries)")
            }
        } else {
            // Columns: pid, name, memory, [binary], reductions, msg queue, current function.
            let shift = byBinary ? 1 : 0
            let sortedColumn: Int
            switch order {
            case .memory: sortedColumn = 2
            case .binary: sortedColumn = 3
            case .reductions: sortedColumn = 3 + shift
            case .messageQueue: sortedColumn = 4 + shift
            }
            let numbers = Array(2...(4 + shift)).reversed()
            let others = numbers.filter { $0 != sortedColumn }.map(TextTable.Narrowing.drop)
            lines.append(table.render(maxWidth: width, narrowing: [.drop(5 + shift), .shrink(1, minimum: 12)] + others + [.shrink(1, minimum: 4)]))
        }
        return lines.joined(separator: "\n")
    }

    public var json: JSONValue {
        .object([
            ("node", .string(node)), ("by", .string(order.rawValue)), ("processes", .number(processCount)),
            ("node_cost_us", .number(Int(nodeCost.components.seconds) * 1_000_000 + Int(nodeCost.components.attoseconds / 1_000_000_000_000))),
            ("node_memory", .number(nodeMemory)),
            ("top", .array(processes.map { p in
                .object([
                    ("pid", .string(Term.localPidText(p.pid))), ("registered_name", JSONValue(p.registeredName)),
                    ("initial_call", .string(p.initialCall)), ("current_function", .string(p.currentFunction)),
                    ("memory", .number(p.memory)), ("reductions_delta", .number(p.reductionsDelta)),
                    ("message_queue_len", .number(p.messageQueueLength)),
                ] + (p.binaryMemory.map { [("binary", .number($0))] } ?? []))
            })),
        ])
    }
}

/// Samples a node's busiest processes. Keeps the parsed sampler for the session.
public final class ProcessTop: Sendable {
    public let connection: NodeConnection
    /// Pids per chunk on the node.
    public let chunk: Int
    private let parsed: Term

    /// The sampler ships as the abstract forms the node's own `erl_scan`/`erl_parse` make of it
    /// (``DriverForms``, checked against OTP 25 and 28 by a test), which saves `top` two round
    /// trips before its first frame; if that copy ever failed to decode, the node parses it.
    public init(connection: NodeConnection, chunk: Int = 5000, timeout: Duration = .seconds(30)) async throws {
        self.connection = connection
        self.chunk = chunk
        if let shipped = try? TermDecoder().decode(DriverForms.sampler) {
            parsed = shipped
            return
        }
        parsed = try await Self.parse(Self.sampler, on: connection, timeout: timeout)
    }

    /// `source` scanned and parsed by the node's own `erl_scan` and `erl_parse`.
    static func parse(_ source: String, on connection: NodeConnection, timeout: Duration = .seconds(30)) async throws -> Term {
        let scanned = try await connection.rpcOfOurs("erl_scan", "string", [.charlist(source)], timeout: timeout,
                                                     purpose: "to read the sampler")
        guard let s = scanned.tupleElements, s.count == 3, s[0] == .ok else {
            throw DistributionError(.remoteCallFailed, "the node could not scan the sampler: \(scanned)")
        }
        let exprs = try await connection.rpcOfOurs("erl_parse", "parse_exprs", [s[1]], timeout: timeout,
                                                   purpose: "to read the sampler")
        guard let p = exprs.tupleElements, p.count == 2, p[0] == .ok else {
            throw DistributionError(.remoteCallFailed, "the node could not parse the sampler: \(exprs)")
        }
        return p[1]
    }

    /// The longest interval: the node waits it in one `receive ... after`, at most 2^32-1 ms.
    public static let maxIntervalSeconds: Double = 4_294_967

    /// One refresh: the node samples, waits `interval` (at most ``maxIntervalSeconds``), samples
    /// again, and returns the top `count`. A sampler still running after `interval + timeout` is
    /// killed (a timeout error).
    public func sample(by order: TopOrder, count: Int, interval: Duration, timeout: Duration = .seconds(60)) async throws -> TopSample {
        let clock = ContinuousClock()
        let started = clock.now
        let ms = min(Int(interval.components.seconds) * 1000 + Int(interval.components.attoseconds / 1_000_000_000_000_000),
                     Int(UInt32.max))
        let mailbox = connection.makeMailbox()
        defer { mailbox.close() }
        let tag = connection.makeReference()
        // erl_eval bindings: an orddict, sorted by variable name.
        let bindings: Term = [
            .tuple([.atom("Chunk"), .integer(chunk)]),
            .tuple([.atom("Interval"), .integer(ms)]),
            .tuple([.atom("Key"), .atom(order.processInfoItem)]),
            .tuple([.atom("N"), .integer(max(1, count))]),
            .tuple([.atom("ReplyTo"), .pid(mailbox.pid)]),
            .tuple([.atom("Tag"), .reference(tag)]),
        ]
        let deadline = clock.now + interval + timeout
        // The spawn's reply is awaited within the same deadline: a node too slow to start the
        // sampler in time gets the same answer as one too slow to finish it (and a sampler
        // started after we gave up finds its parent gone and is ended at once).
        let request = try connection.requestSpawn("erl_eval", "exprs", [parsed, bindings, .atom("none")], parent: mailbox.pid,
                                                  groupLeader: mailbox.pid, options: [.link])
        var worker: Pid?
        // Done or not, the sampler ends with the refresh (a no-op when it has finished).
        defer { if let worker { try? connection.exit(worker, reason: .atom("kill"), from: mailbox.pid) } }
        var reply: Term?
        while reply == nil {
            let left = deadline - clock.now
            guard left > .zero, let signal = try await mailbox.receive(timeout: left) else {
                // A remote failure (exit 1), not a connection one: the node answers, slowly.
                // (memory is the dearest item to sample, message_queue the cheapest.)
                let cheaper: String
                switch order {
                case .memory: cheaper = "try --by reductions or message_queue, or a longer --timeout"
                case .reductions, .binary: cheaper = "try --by message_queue, or a longer --timeout"
                case .messageQueue: cheaper = "try a longer --timeout"
                }
                throw DistributionError(.remoteCallFailed,
                    "the sampler on \(connection.peer.name) did not finish within \(Human.seconds(interval + timeout)); it was stopped "
                    + "(a busy node answers process_info slowly: \(cheaper))")
            }
            switch signal {
            case .spawnReply(let id, let result) where id == request:
                guard case .pid(let pid) = result else {
                    throw DistributionError(.remoteCallFailed, "\(connection.peer.name) refused to start the sampler", reason: result)
                }
                worker = pid
            case .message(_, let message):
                if let t = message.tupleElements, t.count == 2, t[0] == .reference(tag) { reply = t[1] }
            case .exit(let from, let reason) where from == worker:
                throw DistributionError(.remoteCallFailed, "the sampler on \(connection.peer.name) failed", reason: reason)
            default:
                continue
            }
        }
        guard let parts = reply?.tupleElements, parts.count == 4,
              let total = parts[0].intValue, let micros = parts[1].intValue, let memory = parts[2].intValue,
              let rows = parts[3].listElements else {
            throw DistributionError(.remoteCallFailed, "unexpected sampler reply from \(connection.peer.name)")
        }
        var processes = rows.compactMap(Self.process)
        switch order {
        case .memory: processes.sort { ($0.memory, $0.reductionsDelta) > ($1.memory, $1.reductionsDelta) }
        case .reductions: processes.sort { ($0.reductionsDelta, $0.memory) > ($1.reductionsDelta, $1.memory) }
        case .messageQueue: processes.sort { ($0.messageQueueLength, $0.memory) > ($1.messageQueueLength, $1.memory) }
        case .binary: processes.sort { ($0.binaryMemory ?? 0, $0.memory) > ($1.binaryMemory ?? 0, $1.memory) }
        }
        // The node ranks ten more than asked: a process that ends before its details are read
        // leaves its place to the next, not a shorter table.
        processes = Array(processes.prefix(max(1, count)))
        return TopSample(node: connection.peer.name, order: order, interval: interval, processCount: total,
                         processes: processes, nodeCost: .microseconds(micros), nodeMemory: memory,
                         wallTime: clock.now - started)
    }

    /// `{Pid, ReductionsDelta, Info, InitialCall}`.
    static func process(_ row: Term) -> TopProcess? {
        guard let t = row.tupleElements, t.count == 4, let pid = t[0].pidValue, let delta = t[1].intValue else { return nil }
        let info = t[2].proplist
        let name = info["registered_name"]?.atomValue?.name
        return TopProcess(
            pid: pid, registeredName: name.map { $0.hasPrefix("Elixir.") ? String($0.dropFirst(7)) : $0 },
            initialCall: t[3].cellText, currentFunction: info["current_function"]?.cellText ?? "?",
            memory: info["memory"]?.intValue ?? 0, reductionsDelta: delta,
            messageQueueLength: info["message_queue_len"]?.intValue ?? 0, binaryMemory: info["binary"]?.intValue)
    }

    /// The sampler, evaluated by the node's erl_eval with `Chunk`, `Interval` (ms), `Key`
    /// (a process_info item), `N`, `ReplyTo` and `Tag` bound. It details the best N + 10. Sends `{Tag, {ProcessCount,
    /// MicrosecondsSpent, MemoryOfThisProcess, [{Pid, ReductionsDelta, Info, InitialCall}]}}`.
    static let sampler = """
        T0 = erlang:monotonic_time(microsecond),
        Keep = N + 10,
        Split = fun Split(L, Left, Acc) when Left > Chunk -> {H, T} = lists:split(Chunk, L), Split(T, Left - Chunk, [H | Acc]);
                    Split(L, _, Acc) -> lists:reverse([L | Acc]) end,
        Chunks = (fun(Ps) -> Split(Ps, length(Ps), []) end)(lists:delete(self(), erlang:processes())),
        SizeSpec = ets:match_spec_compile([{{'_', '$1', '_'}, [], ['$1']}]),
        Sums = fun(Lists) -> lists:map(fun lists:sum/1, lists:zipwith(fun ets:match_spec_run/2, Lists, lists:duplicate(length(Lists), SizeSpec))) end,
        Values = fun(Pids, binary) ->
                        Sums(ets:match_spec_run(lists:zipwith(fun erlang:process_info/2, Pids, lists:duplicate(length(Pids), binary)),
                                                ets:match_spec_compile([{{'_', '$1'}, [], ['$1']}, {'_', [], [{const, []}]}])));
                    (Pids, Item) ->
                        ets:match_spec_run(lists:zipwith(fun erlang:process_info/2, Pids, lists:duplicate(length(Pids), Item)),
                                           ets:match_spec_compile([{{'_', '$1'}, [], ['$1']}, {'_', [], [-1]}])) end,
        Merge = fun(Pairs, {Floor, Top}) ->
            case ets:match_spec_run(Pairs, ets:match_spec_compile([{{'$1', '_'}, [{'>', '$1', Floor}], ['$_']}])) of
                [] -> {Floor, Top};
                Better ->
                    New = lists:sublist(lists:reverse(lists:sort(Better ++ Top)), Keep),
                    case length(New) < Keep of true -> {Floor, New}; false -> {element(1, lists:last(New)), New} end
            end end,
        Details = fun(Pids, Before, Deltas) ->
            lists:zipwith3(fun(P, B, D) ->
                Items = [registered_name, current_function, initial_call, memory, reductions, message_queue_len],
                case erlang:process_info(P, case Key of binary -> [binary | Items]; _ -> Items end) of
                    undefined -> undefined;
                    Info0 ->
                        Info = case Info0 of
                            [{binary, Bins} | Rest] -> [{binary, lists:sum(ets:match_spec_run(Bins, SizeSpec))} | Rest];
                            _ -> Info0
                        end,
                        Delta = case D of undefined -> element(2, lists:keyfind(reductions, 1, Info)) - B; _ -> D end,
                        Initial = case lists:keyfind(initial_call, 1, Info) of
                            {_, {proc_lib, init_p, 5}} -> proc_lib:translate_initial_call(P);
                            {_, {erl_eval, exprs, 3} = Call} ->
                                case erlang:process_info(P, dictionary) of
                                    {dictionary, Dict} ->
                                        case lists:keyfind('$beamsh', 1, Dict) of
                                            {_, {holder, Node}} -> <<"beamsh session holder (", (atom_to_binary(Node, utf8))/binary, ")">>;
                                            _ -> Call
                                        end;
                                    _ -> Call
                                end;
                            {_, Call} -> Call
                        end,
                        {P, Delta, Info, Initial}
                end end, Pids, Before, Deltas) end,
        {Rows, Spent} = case Key of
            reductions ->
                Before = [Values(C, reductions) || C <- Chunks],
                Spent0 = erlang:monotonic_time(microsecond) - T0,
                receive after Interval -> ok end,
                T1 = erlang:monotonic_time(microsecond),
                {_, Top} = lists:foldl(fun({C, B}, Acc) ->
                        Merge(lists:zip(lists:zipwith(fun erlang:'-'/2, Values(C, reductions), B), C), Acc) end,
                    {0, []}, lists:zip(Chunks, Before)),
                {Details([P || {_, P} <- Top], [0 || _ <- Top], [D || {D, _} <- Top]),
                 Spent0 + erlang:monotonic_time(microsecond) - T1};
            _ ->
                {_, Top} = lists:foldl(fun(C, Acc) -> Merge(lists:zip(Values(C, Key), C), Acc) end,
                    {case Key of memory -> -1; _ -> 0 end, []}, Chunks),
                TopPids = [P || {_, P} <- Top],
                Before = Values(TopPids, reductions),
                Spent0 = erlang:monotonic_time(microsecond) - T0,
                receive after Interval -> ok end,
                T1 = erlang:monotonic_time(microsecond),
                {Details(TopPids, Before, [undefined || _ <- TopPids]), Spent0 + erlang:monotonic_time(microsecond) - T1}
        end,
        {memory, Memory} = erlang:process_info(self(), memory),
        ReplyTo ! {Tag, {lists:sum([length(C) || C <- Chunks]) + 1, Spent, Memory, [R || R <- Rows, R =/= undefined]}}.
        """
}
