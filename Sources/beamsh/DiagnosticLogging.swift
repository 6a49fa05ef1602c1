// BEAMSH_LOG=LEVEL: the distribution layer's own log (swift-log) on standard error, for
// diagnosing beamsh itself. Off by default: an operator's output stays the command's.

import Logging

enum DiagnosticLogging {
    /// Installs a standard-error handler at the level `BEAMSH_LOG` names (trace, debug, info,
    /// notice, warning, error, critical); nothing when it is unset or empty. Nothing logged
    /// carries the cookie: the handshake is not logged, and control messages never hold it.
    static func bootstrapFromEnvironment() {
        guard let text = ProcessEnvironment.current["BEAMSH_LOG"], !text.isEmpty else { return }
        guard let level = Logger.Level(rawValue: text.lowercased()) else {
            printWarning("BEAMSH_LOG=\(text) is not a log level (trace, debug, info, notice, warning, error, critical): not logging")
            return
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
