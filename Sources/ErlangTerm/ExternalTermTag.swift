// Tags of the external term format, erl_ext_dist §"Tags".

/// The first byte of every encoded term.
public enum ExternalTermTag: UInt8, Sendable {
    case newFloat = 70
    case bitBinary = 77
    case compressed = 80
    case atomCacheReference = 82
    case local = 121
    case newPid = 88
    case newPort = 89
    case newerReference = 90
    case smallInteger = 97
    case integer = 98
    case float = 99
    case atom = 100
    case reference = 101
    case port = 102
    case pid = 103
    case smallTuple = 104
    case largeTuple = 105
    case `nil` = 106
    case string = 107
    case list = 108
    case binary = 109
    case smallBig = 110
    case largeBig = 111
    case newFun = 112
    case export = 113
    case newReference = 114
    case smallAtom = 115
    case map = 116
    case fun = 117
    case atomUTF8 = 118
    case smallAtomUTF8 = 119
    case v4Port = 120
}

/// The version byte that starts a standalone encoded term.
public let externalTermVersion: UInt8 = 131
