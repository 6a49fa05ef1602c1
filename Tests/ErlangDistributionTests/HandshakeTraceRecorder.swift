// Records a real handshake: our messages from `Handshake` with a fixed challenge and
// creation, the node's answers from a real BEAM, over a plain blocking socket.

import BeamTestSupport
import ErlangDistribution
import Foundation

struct HandshakeTrace: Equatable {
    var localName: String
    var peerName: String
    var cookie: String
    var challenge: UInt32
    var creation: UInt32
    /// (sent by us?, message body without its 2-byte length)
    var messages: [(outbound: Bool, body: [UInt8])]

    static func == (a: HandshakeTrace, b: HandshakeTrace) -> Bool {
        a.localName == b.localName && a.peerName == b.peerName && a.cookie == b.cookie && a.challenge == b.challenge
            && a.creation == b.creation && a.messages.map(\.outbound) == b.messages.map(\.outbound)
            && a.messages.map(\.body) == b.messages.map(\.body)
    }

    /// `key value` header lines, then `> hex` (ours) and `< hex` (the node's).
    var text: String {
        var lines = ["local \(localName)", "peer \(peerName)", "cookie \(cookie)", "challenge \(challenge)", "creation \(creation)"]
        for m in messages { lines.append((m.outbound ? "> " : "< ") + m.body.map { String(format: "%02x", $0) }.joined()) }
        return lines.joined(separator: "\n") + "\n"
    }

    init(localName: String, peerName: String, cookie: String, challenge: UInt32, creation: UInt32,
         messages: [(outbound: Bool, body: [UInt8])]) {
        self.localName = localName
        self.peerName = peerName
        self.cookie = cookie
        self.challenge = challenge
        self.creation = creation
        self.messages = messages
    }

    init(parsing text: String) throws {
        var fields: [String: String] = [:]
        var messages: [(Bool, [UInt8])] = []
        for line in text.split(separator: "\n") {
            if line.hasPrefix("> ") || line.hasPrefix("< ") {
                let hex = Array(line.dropFirst(2))
                var bytes: [UInt8] = []
                var i = 0
                while i + 1 < hex.count {
                    guard let b = UInt8(String(hex[i...i + 1]), radix: 16) else { throw TestSetupError("bad hex") }
                    bytes.append(b)
                    i += 2
                }
                messages.append((line.hasPrefix(">"), bytes))
            } else if let space = line.firstIndex(of: " ") {
                fields[String(line[..<space])] = String(line[line.index(after: space)...])
            }
        }
        guard let l = fields["local"], let p = fields["peer"], let c = fields["cookie"],
            let ch = fields["challenge"].flatMap(UInt32.init), let cr = fields["creation"].flatMap(UInt32.init)
        else { throw TestSetupError("trace header incomplete") }
        self.init(localName: l, peerName: p, cookie: c, challenge: ch, creation: cr, messages: messages)
    }

    /// Performs a handshake with `node` on a blocking socket and records every message.
    static func record(with node: TestNode, localName: String, challenge: UInt32, creation: UInt32) throws -> HandshakeTrace {
        let portText = try node.eval("element(2, erl_epmd:port_please(\"\(node.alive)\", \"127.0.0.1\")).")
        guard let port = UInt16(portText) else { throw TestSetupError("no port for \(node.name): \(portText)") }
        let socket = try BlockingSocket(port: port)
        defer { socket.close() }
        var machine = Handshake(localName: localName, expectedPeer: node.name, cookie: Cookie(node.cookie),
                                creation: creation, challenge: challenge)
        var messages: [(outbound: Bool, body: [UInt8])] = []
        var pending = machine.start()
        while true {
            var done = false
            for action in pending {
                switch action {
                case .send(let body):
                    messages.append((true, body))
                    try socket.send([UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body)
                case .completed:
                    done = true
                }
            }
            if done { break }
            let header = try socket.receive(2)
            let body = try socket.receive(Int(header[0]) << 8 | Int(header[1]))
            messages.append((false, body))
            pending = try machine.receive(body)
        }
        return HandshakeTrace(localName: localName, peerName: node.name, cookie: node.cookie, challenge: challenge,
                              creation: creation, messages: messages)
    }
}

/// Just enough of a blocking TCP client for recording.
final class BlockingSocket {
    private let fd: Int32

    init(port: UInt16) throws {
        fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard status == 0 else { throw TestSetupError("connect failed: \(errno)") }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ bytes: [UInt8]) throws {
        guard Glibc.send(fd, bytes, bytes.count, 0) == bytes.count else { throw TestSetupError("send failed") }
    }

    func receive(_ count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = out.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + got, count - got, 0) }
            guard n > 0 else { throw TestSetupError("connection closed after \(got) of \(count) bytes") }
            got += n
        }
        return out
    }

    func close() { _ = Glibc.close(fd) }
}
