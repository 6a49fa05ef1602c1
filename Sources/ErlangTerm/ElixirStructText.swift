// `inspect/2`'s own forms for standard-library structs, where they read back to the same term.

/// Ranges (`1..3`, `1..9//2`), ISO dates and times (`~D[2024-01-02]`, `~T[10:11:12.5]`,
/// `~N[...]`, `~U[...Z]`) and MapSets (`MapSet.new([1, 2])`), as Elixir 1.14's `inspect` prints
/// them. Only where the text evaluates back to the identical struct: another calendar, a field out
/// of range, a time zone other than UTC, microseconds finer than their precision shows, or a
/// MapSet whose values are not `[]` keep the `%Name{...}` form, which does.
enum StandardStructText {
    /// Writes the special form of `module` with `fields` (the struct's keys but `__struct__`) and
    /// returns true, or returns false with nothing written.
    static func print(_ module: String, _ fields: [String: Term], into work: inout PrintWork) -> Bool {
        switch module {
        case "Elixir.Range":
            guard let text = range(fields) else { return false }
            work.write(text)
        case "Elixir.Date":
            guard isISO(fields), let date = date(fields) else { return false }
            work.write("~D[" + date + "]")
        case "Elixir.Time":
            guard isISO(fields), let time = time(fields) else { return false }
            work.write("~T[" + time + "]")
        case "Elixir.NaiveDateTime":
            guard isISO(fields), let date = date(fields), let time = time(fields) else { return false }
            work.write("~N[" + date + " " + time + "]")
        case "Elixir.DateTime":
            guard isISO(fields), fields["time_zone"] == .binary("Etc/UTC"), fields["zone_abbr"] == .binary("UTC"),
                  fields["utc_offset"] == .integer(0), fields["std_offset"] == .integer(0),
                  let date = date(fields), let time = time(fields)
            else { return false }
            work.write("~U[" + date + " " + time + "Z]")
        case "Elixir.MapSet":
            // Version 2 (Elixir 1.5 on) keeps each element as a key whose value is `[]`.
            guard fields.count == 2, fields["version"] == .integer(2), case .map(let set)? = fields["map"],
                  set.allSatisfy({ $0.value == .emptyList })
            else { return false }
            work.container(open: "MapSet.new([", set.map(\.key), separator: ", ", close: "])")
        default:
            return false
        }
        return true
    }

    /// `first..last`, or `first..last//step` when the step is not 1 or the range is empty, as
    /// `Inspect.Range` prints it.
    private static func range(_ fields: [String: Term]) -> String? {
        guard case .integer(let first)? = fields["first"], case .integer(let last)? = fields["last"],
              case .integer(let step)? = fields["step"], step != 0
        else { return nil }
        return step == 1 && last >= first ? "\(first)..\(last)" : "\(first)..\(last)//\(step)"
    }

    private static func isISO(_ fields: [String: Term]) -> Bool {
        fields["calendar"] == .atom("Elixir.Calendar.ISO")
    }

    private static func int(_ fields: [String: Term], _ name: String, _ range: ClosedRange<Int>) -> Int? {
        guard case .integer(let value)? = fields[name], range.contains(value) else { return nil }
        return value
    }

    private static func padded(_ value: Int, _ digits: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }

    /// `2024-01-02`, `-0005-01-02`: years -9999...9999, a day that exists in its month.
    private static func date(_ fields: [String: Term]) -> String? {
        guard let year = int(fields, "year", -9999...9999), let month = int(fields, "month", 1...12),
              let day = int(fields, "day", 1...31)
        else { return nil }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        guard day <= days else { return nil }
        return (year < 0 ? "-" : "") + padded(abs(year), 4) + "-" + padded(month, 2) + "-" + padded(day, 2)
    }

    /// `10:11:12`, `10:11:12.500`: the microseconds shown to their precision, which must lose
    /// nothing (`{5, 1}` would print `.0` and read back as `{0, 1}`).
    private static func time(_ fields: [String: Term]) -> String? {
        guard let hour = int(fields, "hour", 0...23), let minute = int(fields, "minute", 0...59),
              let second = int(fields, "second", 0...59),
              case .tuple(let micro)? = fields["microsecond"], micro.count == 2,
              case .integer(let value) = micro[0], (0...999_999).contains(value),
              case .integer(let precision) = micro[1], (0...6).contains(precision)
        else { return nil }
        var unit = 1
        for _ in 0..<(6 - precision) { unit *= 10 }
        guard value % unit == 0 else { return nil }
        let clock = padded(hour, 2) + ":" + padded(minute, 2) + ":" + padded(second, 2)
        return precision == 0 ? clock : clock + "." + padded(value, 6).prefix(precision)
    }
}
