// Latin-1 text, as atoms without the UTF-8 tags and the handshake's node names arrive: each byte
// is the code point of its value.

extension String {
    /// The text whose Latin-1 encoding is `bytes`. Written as UTF-8 in one pass: appending mapped
    /// scalars (`unicodeScalars.append(contentsOf: bytes.lazy.map(...))`) runs the standard
    /// library's unspecialized generic code, whose first use costs runtime type lookups that scan
    /// every conformance record in the binary (two full scans at each start-up).
    public init(latin1 bytes: UnsafeRawBufferPointer) {
        var high = 0
        for byte in bytes where byte >= 0x80 { high += 1 }
        self.init(unsafeUninitializedCapacity: bytes.count + high) { utf8 in
            var end = 0
            for byte in bytes {
                if byte < 0x80 {
                    utf8[end] = byte
                    end += 1
                } else {
                    utf8[end] = 0xC0 | (byte >> 6)
                    utf8[end + 1] = 0x80 | (byte & 0x3F)
                    end += 2
                }
            }
            return end
        }
    }
}
