// zlib for compressed terms (tag 80), through the system library.

import CZlib

struct ZlibError: Error {
    let message: String
}

enum Zlib {
    /// Inflates one zlib stream that must produce exactly `expectedSize` bytes.
    /// Returns the bytes and how many compressed bytes the stream used.
    static func inflate(_ input: ArraySlice<UInt8>, expectedSize: Int) throws(ZlibError) -> (bytes: [UInt8], consumed: Int) {
        var output = [UInt8](repeating: 0, count: expectedSize)
        var stream = z_stream()
        let status: Int32 = input.withUnsafeBytes { inBytes in
            output.withUnsafeMutableBytes { outBytes in
                stream.next_in = UnsafeMutablePointer(mutating: inBytes.bindMemory(to: Bytef.self).baseAddress)
                stream.avail_in = uInt(min(inBytes.count, Int(UInt32.max)))
                stream.next_out = outBytes.bindMemory(to: Bytef.self).baseAddress
                stream.avail_out = uInt(expectedSize)
                guard inflateInit_(&stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                    return Z_MEM_ERROR
                }
                defer { inflateEnd(&stream) }
                // Anything but a clean end with the buffer exactly full means the header lied.
                return CZlib.inflate(&stream, Z_FINISH)
            }
        }
        switch status {
        case Z_STREAM_END:
            let produced = Int(stream.total_out)
            guard produced == expectedSize else {
                throw ZlibError(message: "inflated to \(produced) bytes, header says \(expectedSize)")
            }
            return (output, Int(stream.total_in))
        case Z_BUF_ERROR, Z_OK:
            throw ZlibError(message: "zlib data ends early or is larger than its header says")
        case Z_MEM_ERROR:
            throw ZlibError(message: "zlib could not start")
        default:
            throw ZlibError(message: "invalid zlib data")
        }
    }

    /// Compresses with zlib at the given level (0...9), as `term_to_binary(T, [compressed])` does.
    static func deflate(_ input: ArraySlice<UInt8>, level: Int32) -> [UInt8] {
        var size = compressBound(uLong(input.count))
        var output = [UInt8](repeating: 0, count: Int(size))
        let status = output.withUnsafeMutableBufferPointer { out in
            input.withUnsafeBufferPointer { inp in
                compress2(out.baseAddress, &size, inp.baseAddress, uLong(inp.count), level)
            }
        }
        precondition(status == Z_OK, "compress2 failed with \(status)")
        output.removeSubrange(Int(size)...)
        return output
    }
}
