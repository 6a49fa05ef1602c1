// The history file: one entry per line, shared by every beamsh session of a user.
//
// Format: UTF-8, one entry per line, oldest first. A backslash is written `\\`, a newline inside
// an entry `\n` and a carriage return `\r`, so multi-line entries survive a round trip.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads and merges the history file. Saving is merge-safe: under an exclusive `flock` on the
/// file it re-reads what other sessions wrote, appends this session's new entries, keeps the
/// newest `maxEntries`, and replaces the file atomically (temporary file + `rename`).
struct HistoryFile {
    let path: String
    let maxEntries: Int

    /// The entries in the file, oldest first; empty when the file is missing or unreadable.
    func load() -> [String] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        return Self.decode(Self.readAll(fd))
    }

    /// Appends `newEntries` to what the file holds now, and rewrites it bounded to `maxEntries`.
    ///
    /// Two sessions saving at the same time are serialized by the lock; neither loses the other's
    /// entries. Entries equal to the one before them are dropped while merging.
    /// - returns: the merged entries, as written.
    @discardableResult
    func merge(appending newEntries: [String]) throws(HistoryFileError) -> [String] {
        try Self.makeParentDirectory(of: path)
        let fd = try lockCurrentFile()
        defer { close(fd) }  // releases the lock, after the rename

        var merged: [String] = []
        for entry in Self.decode(Self.readAll(fd)) + newEntries where entry != merged.last {
            merged.append(entry)
        }
        if merged.count > maxEntries { merged.removeFirst(merged.count - maxEntries) }
        removeStaleTemporaries()
        try writeAtomically(Self.encode(merged))
        return merged
    }

    /// Removes what a session killed while saving left behind (`history.<pid>.<n>.tmp`). Every
    /// writer holds the lock while its temporary exists, so under the lock any is stale.
    private func removeStaleTemporaries() {
        let directory = Self.parent(of: path)
        let prefix = String(path.dropFirst(directory.count).drop { $0 == "/" }) + "."
        guard let dir = opendir(directory.isEmpty ? "." : directory) else { return }
        defer { closedir(dir) }
        var stale: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasPrefix(prefix), name.hasSuffix(".tmp") { stale.append(name) }
        }
        for name in stale { unlink((directory.isEmpty ? "" : directory + "/") + name) }
    }

    // MARK: - Locking and writing

    /// Opens and locks the file at `path`. If another session replaced the file while we waited
    /// for the lock, the lock we hold is on the old inode: start again on the new one.
    private func lockCurrentFile() throws(HistoryFileError) -> Int32 {
        while true {
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw HistoryFileError(operation: "open", path: path, errno: errno) }
            var result: Int32
            repeat { result = flock(fd, LOCK_EX) } while result != 0 && errno == EINTR
            guard result == 0 else {
                let code = errno
                close(fd)
                throw HistoryFileError(operation: "lock", path: path, errno: code)
            }
            var held = stat()
            var current = stat()
            if fstat(fd, &held) == 0, stat(path, &current) == 0, held.st_ino == current.st_ino, held.st_dev == current.st_dev {
                return fd
            }
            close(fd)
        }
    }

    private func writeAtomically(_ bytes: [UInt8]) throws(HistoryFileError) {
        let temporary = "\(path).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw HistoryFileError(operation: "create", path: temporary, errno: errno) }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                let code = errno
                close(fd)
                unlink(temporary)
                throw HistoryFileError(operation: "write", path: temporary, errno: code)
            }
            written += n
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw HistoryFileError(operation: "rename", path: path, errno: code)
        }
    }

    /// Creates the missing parent directories of `file`, private to the user (0700).
    static func makeParentDirectory(of file: String) throws(HistoryFileError) {
        var directories: [String] = []
        var directory = parent(of: file)
        while !directory.isEmpty, directory != "/", !isDirectory(directory) {
            directories.append(directory)
            directory = parent(of: directory)
        }
        for directory in directories.reversed() where mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw HistoryFileError(operation: "mkdir", path: directory, errno: errno)
        }
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    private static func readAll(_ fd: Int32) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return bytes
    }

    // MARK: - Encoding

    static func encode(_ entries: [String]) -> [UInt8] {
        var bytes: [UInt8] = []
        for entry in entries {
            for byte in entry.utf8 {
                switch byte {
                case UInt8(ascii: "\\"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
                case UInt8(ascii: "\n"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
                case UInt8(ascii: "\r"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
                default: bytes.append(byte)
                }
            }
            bytes.append(UInt8(ascii: "\n"))
        }
        return bytes
    }

    static func decode(_ bytes: [UInt8]) -> [String] {
        var entries: [String] = []
        for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
            var entry: [UInt8] = []
            var escaped = false
            for byte in line {
                if escaped {
                    switch byte {
                    case UInt8(ascii: "n"): entry.append(UInt8(ascii: "\n"))
                    case UInt8(ascii: "r"): entry.append(UInt8(ascii: "\r"))
                    default: entry.append(byte)
                    }
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else {
                    entry.append(byte)
                }
            }
            entries.append(String(decoding: entry, as: UTF8.self))
        }
        return entries
    }
}

/// Saving the history file failed.
public struct HistoryFileError: Error, CustomStringConvertible, Sendable {
    /// The system call that failed (`open`, `lock`, `write`, `rename`, `mkdir`...).
    public var operation: String
    /// The file or directory it was called on.
    public var path: String
    /// The `errno` it set.
    public var errno: Int32

    public var description: String {
        "history: \(operation) \(path): \(String(cString: strerror(errno)))"
    }
}

// MARK: - Default location

extension LineEditor {
    /// Where the history is kept when the user did not choose a file.
    ///
    /// 1. `$XDG_STATE_HOME/beamsh/history` when `XDG_STATE_HOME` is set to an absolute path (the XDG
    ///    Base Directory specification says relative values are ignored);
    /// 2. otherwise `~/.local/state/beamsh/history`;
    /// 3. `~/.beamsh_history` when the directory of 1 or 2 cannot be created: its nearest existing
    ///    ancestor is not a writable directory (a read-only home, `~/.local` being a file...).
    ///
    /// `~` is `HOME` from `environment`, or the user's home in the password database when `HOME`
    /// is unset or empty, or the temporary directory as a last resort. Nothing is created here.
    /// - parameters:
    ///   - environment: the process environment (injectable for tests).
    public static func defaultHistoryPath(environment: [String: String]) -> String {
        let home = homeDirectory(environment: environment)
        let state: String
        if let xdg = environment["XDG_STATE_HOME"], xdg.hasPrefix("/") {
            state = xdg
        } else {
            state = join(home, ".local/state")
        }
        let directory = join(state, "beamsh")
        if canCreateDirectory(directory) { return join(directory, "history") }
        return join(home, ".beamsh_history")
    }

    static func homeDirectory(environment: [String: String]) -> String {
        if let home = environment["HOME"], !home.isEmpty { return home }
        if let entry = getpwuid(getuid()), let dir = entry.pointee.pw_dir, dir.pointee != 0 {
            return String(cString: dir)
        }
        return environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
    }

    /// `directory` exists, or its nearest existing ancestor is a directory we may write into.
    static func canCreateDirectory(_ directory: String) -> Bool {
        var path = directory
        while !path.isEmpty {
            var info = stat()
            if stat(path, &info) == 0 {
                guard (info.st_mode & S_IFMT) == S_IFDIR else { return false }
                return access(path, W_OK | X_OK) == 0
            }
            if path == "/" { return false }
            path = HistoryFile.parent(of: path)
        }
        return false
    }

    private static func join(_ base: String, _ component: String) -> String {
        base.hasSuffix("/") ? base + component : base + "/" + component
    }
}
