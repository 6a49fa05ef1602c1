// What the binary links matters for a tool copied into release images: Foundation's NSString
// extensions (`range(of:)`, `components(separatedBy:)`...) link all of Foundation and ICU into
// the static release binary (about 40 MB). FoundationEssentials is fine.

import BeamTestSupport
import Testing

@Suite(.ownThreads) struct BinaryDependencyTests {
    /// The release binary (scripts/build-release; scripts/test sets BEAMSH_BINARY to it) loads
    /// nothing: no program interpreter, no shared library, no rpath (glibc's static-pie start-up
    /// refuses one); it is position-independent, its relocations are the compact DT_RELR form, and
    /// what they write turns read-only after start-up (RELRO).
    @Test(.enabled(if: BeamshBinary.isFromEnvironment)) func releaseBinaryIsSelfContained() throws {
        let result = try runProcess("/usr/bin/env", ["readelf", "--program-headers", "--dynamic", "--wide", BeamshBinary.path])
        try #require(result.status == 0, "readelf: \(result.stderr)")
        #expect(!result.stdout.contains("INTERP"), "has a program interpreter:\n\(result.stdout)")
        #expect(!result.stdout.contains("(NEEDED)"), "needs shared libraries:\n\(result.stdout)")
        #expect(result.stdout.contains("Elf file type is DYN"), "not position-independent (no ASLR):\n\(result.stdout)")
        #expect(!result.stdout.contains("RPATH)") && !result.stdout.contains("(RUNPATH)"), "has an rpath:\n\(result.stdout)")
        #expect(result.stdout.contains("(RELR)"), "relocations not packed (DT_RELR):\n\(result.stdout)")
        // Relocated pointers (the GOT, `.data.rel.ro`) turn read-only once start-up has applied
        // them, and read-only data is not in the writable segment.
        #expect(result.stdout.contains("GNU_RELRO"), "no RELRO segment:\n\(result.stdout)")
        let mapping = result.stdout.split(separator: "\n").filter { $0.contains(".rodata ") || $0.hasSuffix(".rodata") }
        let writableSegment = result.stdout.split(separator: "\n").first { $0.contains(".data ") && $0.contains(".bss") }
        #expect(!mapping.isEmpty && writableSegment.map { !$0.contains(" .rodata ") } == true,
                "read-only data is in the writable segment:\n\(result.stdout)")
    }

    /// The functions of scripts/hot-functions.txt sit together in `.text.beamsh_hot`, ahead of the
    /// rest of the code; if the list stopped matching the build's section names, the section would
    /// be small or missing and every session would map pages all over the binary again.
    @Test(.enabled(if: BeamshBinary.isFromEnvironment)) func releaseBinaryKeepsItsHotCodeTogether() throws {
        let result = try runProcess("/usr/bin/env", ["readelf", "--section-headers", "--wide", BeamshBinary.path])
        try #require(result.status == 0, "readelf: \(result.stderr)")
        // "[13] .text.beamsh_hot PROGBITS 0000000000004500 004500 108de2 ..."
        func section(_ name: String) -> (address: UInt64, size: UInt64)? {
            for line in result.stdout.split(separator: "\n") {
                let fields = line.replacing("[ ", with: "[").split(separator: " ")
                if fields.count > 5, fields[1] == name,
                   let address = UInt64(fields[3], radix: 16), let size = UInt64(fields[5], radix: 16) {
                    return (address, size)
                }
            }
            return nil
        }
        let hot = try #require(section(".text.beamsh_hot"), "no .text.beamsh_hot section:\n\(result.stdout)")
        let text = try #require(section(".text"), "no .text section:\n\(result.stdout)")
        #expect(hot.size >= 512 * 1024, "only \(hot.size) bytes of hot code: regenerate scripts/hot-functions.txt")
        #expect(hot.address < text.address, "hot code is not ahead of the rest")
    }

    /// Checked on the development build, which still has its symbols; the release build checks
    /// the same in its link map.
    @Test(.enabled(if: !BeamshBinary.isFromEnvironment)) func noFullFoundationAPIIsUsed() throws {
        let result = try runProcess("/usr/bin/env", ["nm", "-D", "--undefined-only", BeamshBinary.path])
        try #require(result.status == 0, "nm: \(result.stderr)")
        let symbols = result.stdout.split(separator: "\n").map { $0.split(separator: " ").last.map(String.init) ?? "" }
        // `10FoundationE`: an extension member defined in Foundation proper (its String APIs).
        let fromFoundation = symbols.filter { $0.contains("10FoundationE") || $0.contains("30FoundationInternationalization") }
        #expect(fromFoundation.isEmpty, "demangle with swift demangle: \(fromFoundation)")
    }
}
