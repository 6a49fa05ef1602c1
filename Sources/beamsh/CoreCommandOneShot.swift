// `beamsh NODE --eval 'Node.list()'`: a lone read-only core command, the health check scripts
// run in loops, answered like `--rpc`: on the calling thread, which becomes the only event loop.

import ErlangDistribution
import ErlangTerm
import NIOCore
import NIOPosix
import RemoteShell

enum CoreCommandOneShot {
    /// Answers `invocation`'s one `--eval` when it is a lone read-only core command (see
    /// `OneShotEvaluator.submitLoneCoreCommand`) and exits; returns at once, having done
    /// nothing, for anything else. No Swift concurrency thread is started and no call hops
    /// between threads: connect, the BIF calls and `inspect` follow one another on this thread.
    static func runIfCoreCommand(_ invocation: ConsoleInvocation) {
        let options = invocation.shellOptions(interactive: false)
        guard invocation.eval.count == 1, invocation.rpc.isEmpty, invocation.format == "text", let node = invocation.node,
              OneShotEvaluator.answersAlone(invocation.eval[0], options: options)
        else { return }
        let source = invocation.eval[0]
        let target = parseNodeName(node)
        let (connectOptions, _) = invocation.connection.connectOptions()
        MultiThreadedEventLoopGroup.withCurrentThreadAsEventLoop { loop in
            NodeConnection.connect(to: target, options: connectOptions, on: loop).flatMap { connection in
                // answersAlone said it answers this line.
                OneShotEvaluator.submitLoneCoreCommandAlone(source, connection: connection, options: options)!
            }.whenComplete { result in
                switch result {
                case .success(let result):
                    switch result {
                    case .value(let text, _):
                        StandardOutput().write(text + "\n")
                        exitNow(.success)
                    case .failure(let text):
                        StandardOutput.error.write(text + "\n")
                        exitNow(.remoteFailure)
                    }
                case .failure(let error):
                    fail(error)
                }
            }
        }
        exitNow(.remoteFailure)  // the loop only ends through the exits above
    }
}
