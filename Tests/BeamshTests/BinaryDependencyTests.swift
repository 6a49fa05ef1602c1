// What the binary links matters for a tool copied into release images: Foundation's NSString
// extensions (`range(of:)`, `components(separatedBy:)`...) link all of Foundation and ICU into
// the static release binary (about 40 MB). FoundationEssentials is fine.

import BeamTestSupport
import Testing

struct BinaryDependencyTests {
    /// The release binary (scripts/build-release; scripts/test sets BEAMSH_BINARY to it) loads
    /// nothing: no program interpreter, no shared library, no rpath (glibc's static-pie start-up
    /// refuses one); it is position-independent, and its relocations are the compact DT_RELR form.
    @Test(.enabled(if: BeamshBinary.isFromEnvironment)) func releaseBinaryIsSelfContained() throws {
        let result = try runProcess("/usr/bin/env", ["readelf", "--program-headers", "--dynamic", "--wide", BeamshBinary.path])
        try #require(result.status == 0, "readelf: \(result.stderr)")
        #expect(!result.stdout.contains("INTERP"), "has a program interpreter:\n\(result.stdout)")
        #expect(!result.stdout.contains("(NEEDED)"), "needs shared libraries:\n\(result.stdout)")
        #expect(result.stdout.contains("Elf file type is DYN"), "not position-independent (no ASLR):\n\(result.stdout)")
        #expect(!result.stdout.contains("RPATH)") && !result.stdout.contains("(RUNPATH)"), "has an rpath:\n\(result.stdout)")
        #expect(result.stdout.contains("(RELR)"), "relocations not packed (DT_RELR):\n\(result.stdout)")
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
