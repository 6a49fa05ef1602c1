// IEx's default colors (IEx.Config): results in yellow, errors in red, and inspect/2's
// syntax colors, so a console in a terminal looks like `iex --remsh`.

import ErlangTerm

enum IEXColors {
    static let result = "\u{1B}[33m"
    static let error = "\u{1B}[31m"
    static let interrupt = "\u{1B}[33m"
    static let reset = "\u{1B}[0m"

    /// IEx's `:syntax_colors`, with `reset` going back to the result color as IEx does.
    static let syntaxColors: Term = .list([
        .tuple([.atom("reset"), .list([.atom("reset"), .atom("yellow")])]),
        .tuple([.atom("atom"), .atom("cyan")]),
        .tuple([.atom("string"), .atom("green")]),
        .tuple([.atom("list"), .atom("default_color")]),
        .tuple([.atom("boolean"), .atom("magenta")]),
        .tuple([.atom("nil"), .atom("magenta")]),
        .tuple([.atom("tuple"), .atom("default_color")]),
        .tuple([.atom("binary"), .atom("default_color")]),
        .tuple([.atom("map"), .atom("default_color")]),
    ])
}
