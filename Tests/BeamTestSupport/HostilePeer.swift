// A peer that misbehaves on purpose (a rogue EPMD, something that is not a node on a node's
// port): the real BEAM never does these things, so this small Python server plays them. It
// stands in only for the attacker; every node a test talks to is real.

import Foundation

public final class HostilePeer {
    public enum Behaviour: String {
        /// EPMD whose NAMES reply never ends.
        case endlessNames = "endless-names"
        /// EPMD listing a name with terminal escape sequences in it.
        case namesWithEscapes = "names-with-escapes"
        /// EPMD that answers PORT_PLEASE2 with `port` and keeps the connection open for 20 s.
        case portReplyHeldOpen = "port-held-open"
        /// A "node" that says ok to our name, then sends a challenge naming `name` (hex-encoded bytes).
        case challengeNaming = "challenge-naming"
        /// An HTTP server where a node was expected: answers anything with a 400, keeps the connection.
        case http = "http"
        /// A "node" that knows the cookie (`COOKIE NAME`), completes the handshake as NAME, then
        /// announces a frame of 1.5 GB that starts with byte 0 (no distribution message does).
        case authenticatedThenUnreadable = "authenticated-then-unreadable"
    }

    public let port: Int
    private let process: Process

    public init(_ behaviour: Behaviour, argument: String = "") throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", Self.script, behaviour.rawValue, argument]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let line = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
        guard let port = Int(line.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.terminate()
            throw TestSetupError("the hostile peer did not start: '\(line)'")
        }
        self.port = port
    }

    /// Killed outright: Python may hold SIGTERM blocked in the thread that would take it.
    public func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    private static let script = """
        import hashlib, socket, struct, sys, threading, time
        mode, arg = sys.argv[1], sys.argv[2]
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        print(server.getsockname()[1], flush=True)

        def serve(c):
            try:
                request = c.recv(65536)
                if mode in ("endless-names", "names-with-escapes") and request[2:3] == b"z":
                    c.sendall(bytes([119, 1]))  # PORT_PLEASE2: not registered
                elif mode == "endless-names":
                    c.sendall(struct.pack(">I", 4369))
                    line = b"name " + b"a" * 200 + b" at port 1\\n"
                    while True:
                        c.sendall(line * 1000)
                elif mode == "names-with-escapes":
                    c.sendall(struct.pack(">I", 4369) + b"name \\x1b]0;PWNED\\x07\\x1b[31mevil at port 1234\\nname plain at port 1235\\n")
                elif mode == "port-held-open":
                    alive = request[3:]
                    c.sendall(bytes([119, 0]) + struct.pack(">HBBHHH", int(arg), 77, 0, 6, 5, len(alive)) + alive + struct.pack(">H", 0))
                    time.sleep(20)
                elif mode == "challenge-naming":
                    c.sendall(struct.pack(">H", 3) + b"sok")
                    name = bytes.fromhex(arg)
                    challenge = b"N" + struct.pack(">QIIH", 0x1_0000_0000 | 0x3_0F_BD_84, 1234, 1, len(name)) + name
                    c.sendall(struct.pack(">H", len(challenge)) + challenge)
                    time.sleep(20)
                elif mode == "http":
                    c.sendall(b"HTTP/1.1 400 Bad Request\\r\\nContent-Length: 0\\r\\n\\r\\n")
                    time.sleep(20)
                elif mode == "authenticated-then-unreadable":
                    cookie, name = arg.split(" ")
                    c.sendall(struct.pack(">H", 3) + b"sok")
                    name = name.encode()
                    challenge = b"N" + struct.pack(">QIIH", 0xD031F1FBD, 1234567, 1, len(name)) + name
                    c.sendall(struct.pack(">H", len(challenge)) + challenge)
                    reply = b""
                    while len(reply) < 2 + 21:
                        reply += c.recv(64)
                    theirs = struct.unpack(">I", reply[3:7])[0]
                    c.sendall(struct.pack(">H", 17) + b"a" + hashlib.md5(cookie.encode() + str(theirs).encode()).digest())
                    c.sendall(struct.pack(">I", 1_500_000_000) + b"\\x00" + b"x" * 65536)
                    time.sleep(20)
            except OSError:
                pass
            finally:
                c.close()

        while True:
            connection, _ = server.accept()
            threading.Thread(target=serve, args=(connection,), daemon=True).start()
        """
}
