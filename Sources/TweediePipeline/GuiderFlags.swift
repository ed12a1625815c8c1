import TweedieCore
import TweedieSamplers

/// Every registered guider parameter is a `tweedie generate` flag of its own (`apg_eta` is `--apg-eta`), without a
/// declaration here: before parsing, `--apg-eta 0.3` (or `--apg-eta=0.3`) becomes `--guidance-param apg_eta=0.3`,
/// so a guider added to `GuiderRegistry` brings its flags with it.
public enum GuiderFlags {
    /// The arguments with each guider-parameter flag rewritten to `--guidance-param KEY=VALUE`.
    public static func rewrite(_ arguments: [String]) -> [String] {
        let flags = Dictionary(uniqueKeysWithValues: GuiderRegistry.parameters.map { ($0.flag, $0.key) })
        var out: [String] = [], i = 0
        while i < arguments.count {
            let a = arguments[i]
            if a == "--" { out += arguments[i...]; break }
            let parts = a.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            if let key = flags[parts[0]] {
                if parts.count == 2 {
                    out += ["--guidance-param", "\(key)=\(parts[1])"]
                } else if i + 1 < arguments.count {
                    out += ["--guidance-param", "\(key)=\(arguments[i + 1])"]
                    i += 1
                } else {
                    out += ["--guidance-param", "\(key)="]  // reported by `values` as a flag without its value
                }
            } else {
                out.append(a)
            }
            i += 1
        }
        return out
    }

    /// The `--guidance-param` values as a key-to-number table; each failure names the flag.
    public static func values(_ items: [String]) throws -> [String: Float] {
        let known = GuiderRegistry.parameters
        var out: [String: Float] = [:]
        for item in items {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, let p = known.first(where: { $0.key == parts[0] }) else {
                throw TweedieError.badInput("--guidance-param \(item): expected KEY=VALUE with KEY one of "
                                            + known.map(\.key).joined(separator: ", "))
            }
            guard !parts[1].isEmpty else { throw TweedieError.badInput("\(p.flag) needs a value") }
            guard let v = Float(parts[1]) else {
                throw TweedieError.badInput("\(p.flag): '\(parts[1])' is not a number")
            }
            out[p.key] = v
        }
        return out
    }

    /// Help for `--guidance-param`: every guider's flags with their meaning.
    public static var help: String {
        "KEY=VALUE of a guider parameter; each is also a flag of its own: "
            + GuiderRegistry.parameters.map { "\($0.flag) \($0.help)" }.joined(separator: " ")
    }
}
