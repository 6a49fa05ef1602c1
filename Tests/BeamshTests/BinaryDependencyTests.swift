// What the binary links matters for a tool copied into release images: Foundation's NSString
// extensions (`range(of:)`, `components(separatedBy:)`...) link all of Foundation and ICU into
// the static release binary (about 40 MB). FoundationEssentials is fine.

import BeamTestSupport
import Testing

struct BinaryDependencyTests {
    @Test func noFullFoundationAPIIsUsed() throws {
        let result = try runProcess("/usr/bin/env", ["nm", "-D", "--undefined-only", BeamshBinary.path])
        try #require(result.status == 0, "nm: \(result.stderr)")
        let symbols = result.stdout.split(separator: "\n").map { $0.split(separator: " ").last.map(String.init) ?? "" }
        // `10FoundationE`: an extension member defined in Foundation proper (its String APIs).
        let fromFoundation = symbols.filter { $0.contains("10FoundationE") || $0.contains("30FoundationInternationalization") }
        #expect(fromFoundation.isEmpty, "demangle with swift demangle: \(fromFoundation)")
    }
}
