// Capability flags exchanged in the handshake (lib/kernel/include/dist.hrl).

/// Distribution capability flags.
public struct DistributionFlags: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public static let published = Self(rawValue: 0x1)
    public static let atomCache = Self(rawValue: 0x2)
    public static let extendedReferences = Self(rawValue: 0x4)
    public static let distMonitor = Self(rawValue: 0x8)
    public static let funTags = Self(rawValue: 0x10)
    public static let distMonitorName = Self(rawValue: 0x20)
    public static let hiddenAtomCache = Self(rawValue: 0x40)
    public static let newFunTags = Self(rawValue: 0x80)
    public static let extendedPidsPorts = Self(rawValue: 0x100)
    public static let exportPtrTag = Self(rawValue: 0x200)
    public static let bitBinaries = Self(rawValue: 0x400)
    public static let newFloats = Self(rawValue: 0x800)
    public static let unicodeIO = Self(rawValue: 0x1000)
    public static let distHeaderAtomCache = Self(rawValue: 0x2000)
    public static let smallAtomTags = Self(rawValue: 0x4000)
    public static let utf8Atoms = Self(rawValue: 0x10000)
    public static let mapTag = Self(rawValue: 0x20000)
    public static let bigCreation = Self(rawValue: 0x40000)
    public static let sendSender = Self(rawValue: 0x80000)
    public static let bigSeqtraceLabels = Self(rawValue: 0x100000)
    public static let exitPayload = Self(rawValue: 0x400000)
    public static let fragments = Self(rawValue: 0x800000)
    public static let handshake23 = Self(rawValue: 0x1000000)
    public static let unlinkID = Self(rawValue: 0x2000000)
    public static let mandatory25Digest = Self(rawValue: 0x4000000)
    public static let spawn = Self(rawValue: 1 << 32)
    public static let nameMe = Self(rawValue: 1 << 33)
    public static let v4NC = Self(rawValue: 1 << 34)
    public static let alias = Self(rawValue: 1 << 35)

    /// What OTP 25 requires of a peer (`DFLAG_DIST_MANDATORY_25`).
    public static let mandatory25: Self = [
        .extendedReferences, .funTags, .newFunTags, .extendedPidsPorts, .exportPtrTag, .bitBinaries,
        .newFloats, .utf8Atoms, .mapTag, .bigCreation, .handshake23,
    ]
    /// What OTP 26, 27 and 28 require (`DFLAG_DIST_MANDATORY`).
    public static let mandatory26: Self = mandatory25.union([.unlinkID, .v4NC])

    /// What a peer must offer to be sent MONITOR_P_EXIT at all. ERTS sends it only when both
    /// flags are set and otherwise drops it without a word (erts/emulator/beam/dist.c,
    /// `erts_dsig_send_m_exit`: `if (~dflags & (DFLAG_DIST_MONITOR | DFLAG_DIST_MONITOR_NAME))
    /// return ERTS_DSIG_SEND_OK;`), both for a monitored process's end and for the `noproc`
    /// answer to a MONITOR_P of a process that is already gone, although it accepts and
    /// registers the MONITOR_P itself either way.
    public static let monitorExit: Self = [.distMonitor, .distMonitorName]

    /// The flags beamsh offers: every mandatory flag, no `published` (a hidden node), and
    /// neither the atom cache nor fragments, so every message arrives whole in pass-through form.
    public static let beamshDefault: Self = mandatory26.union(monitorExit).union([
        .unicodeIO, .sendSender, .bigSeqtraceLabels, .spawn, .alias,
    ])

    public var description: String { "0x" + String(rawValue, radix: 16) }
}
