// Prompts with ANSI colours: libedit must not count escape sequences as printed columns.

/// Turns a prompt that may contain ANSI escape sequences into what libedit and a plain
/// stream need.
enum PromptText {
    /// The character libedit is given with `EL_PROMPT_ESC`: text between two of them is written
    /// to the terminal as is and takes no column in the cursor arithmetic.
    static let ignoreMarker: Character = "\u{01}"

    /// `prompt` with every escape sequence enclosed in ``ignoreMarker``s. A prompt that already
    /// contains the marker is taken as marked by the caller and returned unchanged.
    static func markingEscapes(_ prompt: String) -> String {
        guard !prompt.contains(ignoreMarker) else { return prompt }
        var result = ""
        forEachPiece(of: prompt) { piece, isEscape in
            if isEscape {
                result.append(ignoreMarker)
                result += piece
                result.append(ignoreMarker)
            } else {
                result += piece
            }
        }
        return result
    }

    /// `prompt` without escape sequences or markers: what is written when the output is not a
    /// terminal.
    static func plain(_ prompt: String) -> String {
        var result = ""
        forEachPiece(of: prompt.filter { $0 != ignoreMarker }) { piece, isEscape in
            if !isEscape { result += piece }
        }
        return result
    }

    /// libedit draws a prompt on one line and drops its control characters, so a prompt such as
    /// `"Choose:\n 1) a\n> "` is split: the lines before the last are written as they are, the
    /// last is the prompt libedit draws (and redraws under background output), with its tabs
    /// expanded to spaces (stops every 8 columns).
    static func splitForEditing(_ prompt: String) -> (above: String, line: String) {
        var above = ""
        var line = prompt
        if let newline = prompt.lastIndex(of: "\n") {
            above = String(prompt[...newline])
            line = String(prompt[prompt.index(after: newline)...])
        }
        guard line.contains("\t") else { return (above, line) }
        var expanded = ""
        var column = 0
        forEachPiece(of: line) { piece, isEscape in
            if isEscape {
                expanded += piece
                return
            }
            for character in piece {
                if character == "\t" {
                    let spaces = 8 - column % 8
                    expanded += String(repeating: " ", count: spaces)
                    column += spaces
                } else {
                    expanded.append(character)
                    if character != PromptText.ignoreMarker { column += 1 }
                }
            }
        }
        return (above, expanded)
    }

    /// Splits `text` into runs of printable text and single escape sequences: CSI (`ESC [` ...
    /// final byte `@`–`~`), OSC (`ESC ]` ... `BEL` or `ESC \`), and two-character `ESC x`.
    private static func forEachPiece(of text: String, _ body: (Substring, Bool) -> Void) {
        let scalars = text.unicodeScalars
        var index = scalars.startIndex
        var textStart = index
        while index < scalars.endIndex {
            guard scalars[index] == "\u{1B}" else {
                index = scalars.index(after: index)
                continue
            }
            if textStart < index { body(Substring(scalars[textStart..<index]), false) }
            let escapeStart = index
            index = scalars.index(after: index)
            if index < scalars.endIndex {
                let introducer = scalars[index]
                index = scalars.index(after: index)
                if introducer == "[" {
                    while index < scalars.endIndex {
                        let value = scalars[index].value
                        index = scalars.index(after: index)
                        if (0x40...0x7E).contains(value) { break }
                    }
                } else if introducer == "]" {
                    while index < scalars.endIndex {
                        let scalar = scalars[index]
                        index = scalars.index(after: index)
                        if scalar == "\u{07}" { break }
                        if scalar == "\u{1B}", index < scalars.endIndex, scalars[index] == "\\" {
                            index = scalars.index(after: index)
                            break
                        }
                    }
                }
            }
            body(Substring(scalars[escapeStart..<index]), true)
            textStart = index
        }
        if textStart < scalars.endIndex { body(Substring(scalars[textStart..<scalars.endIndex]), false) }
    }
}
