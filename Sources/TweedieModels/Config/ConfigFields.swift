import TweedieCore

/// Config-reading helpers shared by the model configs. diffusers gives some keys different meanings when they are
/// absent (use the default) and when they are written as `null` (e.g. UNet2DModel's `attention_head_dim`: absent
/// means 8, null means "one head over all channels"), so these helpers tell the two apart.
extension JSONConfig {
    /// A three-way reading of an optional integer field.
    enum NullableInt: Equatable {
        case absent
        case null
        case value(Int)
    }

    /// Integer `key`, distinguishing an absent key from an explicit `null`.
    func nullableInt(_ key: String) throws -> NullableInt {
        if let v = try int(key) { return .value(v) }
        return keys.contains(key) ? .null : .absent
    }

    /// Whether `key` is written with an explicit JSON `null`.
    func isNull(_ key: String) -> Bool { !has(key) && keys.contains(key) }

    /// `badInput` naming this config file and `key`.
    func invalid(_ key: String, _ message: String) -> TweedieError {
        TweedieError.badInput("\(path): field '\(key)': \(message)")
    }

    /// String `key` (or `default` when absent/null) that must be one of `allowed`.
    func choice(_ key: String, default value: String, allowed: [String]) throws -> String {
        let s = try string(key, default: value)
        guard allowed.contains(s) else {
            throw invalid(key, "unsupported value \"\(s)\" (supported: \(allowed.joined(separator: ", ")))")
        }
        return s
    }

    /// Positive integer `key` (or `default`).
    func positiveInt(_ key: String, default value: Int) throws -> Int {
        let v = try int(key, default: value)
        guard v > 0 else { throw invalid(key, "must be positive, got \(v)") }
        return v
    }

    /// A sample size given as one int or as [h, w], returned as (height, width); nil when absent/null.
    func sampleSize(_ key: String) throws -> (height: Int, width: Int)? {
        guard has(key) else { return nil }
        if let list = try? ints(key) {
            guard list.count == 2, list[0] > 0, list[1] > 0 else {
                throw invalid(key, "expected one positive size or an [h, w] pair, got \(list)")
            }
            return (list[0], list[1])
        }
        let s = try requireInt(key)
        guard s > 0 else { throw invalid(key, "must be positive, got \(s)") }
        return (s, s)
    }

    /// The activation named by `key` (diffusers' get_activation names this engine runs).
    func activation(_ key: String, default value: String) throws -> Activation {
        let name = try string(key, default: value)
        guard let a = Activation(diffusersName: name) else {
            throw invalid(key, "unsupported activation \"\(name)\" (supported: silu, swish, gelu)")
        }
        return a
    }
}
