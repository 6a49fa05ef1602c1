// The beamsh executable: argument parsing, modes and exit codes only. Everything else lives
// in the library layers below.

import ArgumentParser
import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@main
enum Main {
    static func main() {
        // A closed pipe is a failed write (exit 74, see exitNow), in every command alike.
        signal(SIGPIPE, SIG_IGN)
        refuseArgumentsThatAreNotUTF8()
        let arguments = Array(CommandLine.arguments.dropFirst())
        ProcessEnvironment.useRelease(arguments: arguments)
        DiagnosticLogging.bootstrapFromEnvironment()
        if let invocation = ConsoleInvocation.fastPath(arguments) {
            consoleNodeArgument.withLockedValue { $0 = invocation.node }
            if !invocation.rpc.isEmpty {
                if invocation.format == "json" { FailureDocument.enable() }
                RPCOneShot.runOnCurrentThread(target: parseNodeName(invocation.node!), options: { invocation.connection.connectOptions().0 },
                                              call: invocation.rpc, settings: invocation.rpcSettings)
            }
            CoreCommandOneShot.runIfCoreCommand(invocation)  // exits when it answers
            Task { await invocation.run() }
            dispatchMain()
        }
        Task {
            // `beamsh NODE ...` is parsed by the console command alone: the same parse as
            // through the command tree (it is the default subcommand), without reflecting over
            // every other subcommand first. A first argument that is not a command's name nor
            // an option is a node name (`name@host`, or a bare `name`).
            // Help, a version request or a mistake goes through the whole tree, so usage and
            // messages name `beamsh`, not the console subcommand.
            if let first = arguments.first, Beamsh.isNodeArgument(first),
               let parsed = (try? Beamsh.Console.parseAsRoot(arguments)) as? any AsyncParsableCommand {
                do {
                    var command = parsed
                    try await command.run()
                } catch {
                    Beamsh.exit(withError: error)
                }
            } else if let parsed = Beamsh.parseSubcommandAlone(arguments) {
                do {
                    var command = parsed
                    try await command.run()
                } catch {
                    Beamsh.exit(withError: error)
                }
            } else {
                // `beamsh clustr app@host`: a command's name mistyped reads as a bare NODE, and the
                // parse then fails on what follows; say which command was meant instead.
                if let first = arguments.first, !first.hasPrefix("-"), let command = Beamsh.subcommandResembling(first), command != first,
                   (try? Beamsh.parseAsRoot(arguments)) == nil {
                    printError("'\(first)' is not a command; did you mean `beamsh \(command)`?")
                    exitNow(.usage)
                }
                Beamsh.refuseHelpForAnUnknownCommand(arguments)
                await Beamsh.main(arguments)
            }
            exitNow(.success)
        }
        dispatchMain()
    }
}

extension Beamsh {
    /// `beamsh SUBCOMMAND ...` parsed by that subcommand alone: the whole tree costs more to set
    /// up (every subcommand's options, and the default subcommand's, are reflected over) than
    /// this parse. nil for anything it does not accept as it is (help, a version request, an
    /// error), which then goes through the whole tree, so messages and usage come out as always.
    static func parseSubcommandAlone(_ arguments: [String]) -> (any AsyncParsableCommand)? {
        guard let first = arguments.first,
            let type = configuration.subcommands.first(where: { $0.configuration.commandName == first })
        else { return nil }
        return (try? type.parseAsRoot(Array(arguments.dropFirst()))) as? any AsyncParsableCommand
    }
}

struct Beamsh: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "beamsh",
        abstract: "A native remote console for running Erlang and Elixir nodes.",
        discussion: """
            Connects to NODE as a hidden distribution node (it never joins the cluster) using \
            the shared cookie, and evaluates on the node by RPC.

            Exit codes: 0 success, 1 the remote evaluation or call failed, 2 could not connect \
            (DNS, EPMD, refused, timeout, name mismatch, no cookie), 3 authentication rejected (cookie), \
            64 usage error, 74 the output could not be written.
            """,
        version: "0.1.0",
        subcommands: [Console.self, Names.self, Doctor.self, Discover.self, Cluster.self, Info.self, Top.self, Decode.self],
        defaultSubcommand: Console.self
    )
}

extension Beamsh {
    /// Whether a first argument is a NODE for the console (the default command): `name@host`,
    /// or a bare `name` (this host's) that is not a command's name nor an option.
    static func isNodeArgument(_ word: String) -> Bool {
        guard !word.isEmpty, !word.hasPrefix("-") else { return false }
        if word.utf8.contains(UInt8(ascii: "@")) { return true }
        return word != "help" && !configuration.subcommands.contains { $0.configuration.commandName == word }
    }

    /// `beamsh help tpo` is a usage error naming the command meant: swift-argument-parser would
    /// print the general help and exit 0.
    static func refuseHelpForAnUnknownCommand(_ arguments: [String]) {
        guard arguments.count >= 2, arguments[0] == "help", !arguments[1].hasPrefix("-") else { return }
        let names = configuration.subcommands.map { $0.configuration.commandName ?? "" }
        guard !names.contains(arguments[1]) else { return }
        let hint = subcommandResembling(arguments[1]).map { "did you mean `beamsh help \($0)`?" }
            ?? "the commands are \(names.joined(separator: ", "))"
        printError("no command '\(arguments[1])' to help with; \(hint)")
        exitNow(.usage)
    }

    /// The subcommand `word` is a slip of the hand for (at most two letters off), if any: a
    /// bare NODE argument that names no node may be one.
    static func subcommandResembling(_ word: String) -> String? {
        guard !word.contains(Character("@")) else { return nil }
        let names = configuration.subcommands.map { $0.configuration.commandName ?? "" }.filter { !$0.isEmpty && $0 != "console" }
        if names.contains(word) { return word }
        return names.first { editDistance(Array(word), Array($0)) <= 2 }
    }

    /// Levenshtein distance (small words only).
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1] + Array(repeating: 0, count: b.count)
            for (j, y) in b.enumerated() {
                current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}

/// beamsh reads its arguments as UTF-8 text: code (`--eval`), terms (`--rpc`) and names go to
/// the node as such, and a path is opened by the name the text spells. An argument in another
/// encoding (a Latin-1 "é", the byte 0xE9) is refused, not used with replacement characters in
/// its place (which would change the code, or name a file that is not there).
func refuseArgumentsThatAreNotUTF8() {
    let count = Int(CommandLine.argc)
    let argv = CommandLine.unsafeArgv
    var previous: String?
    for index in 1..<max(count, 1) {
        guard let raw = argv[index] else { continue }
        if let text = String(validatingCString: raw) {
            previous = text
            continue
        }
        let bytes = Array(UnsafeBufferPointer(start: UnsafeRawPointer(raw).assumingMemoryBound(to: UInt8.self), count: strlen(raw)))
        let bad = firstInvalidUTF8Offset(bytes).map { bytes[$0] } ?? 0
        printError("argument \(index)\(previous.map { " (after \($0))" } ?? "") is not valid UTF-8: it holds the byte "
            + "0x\(String(bad, radix: 16, uppercase: true)); beamsh reads its arguments as UTF-8 (convert it first, e.g. with "
            + "iconv -f latin1 -t utf8, or rename the file)")
        exitNow(.usage)
    }
}
