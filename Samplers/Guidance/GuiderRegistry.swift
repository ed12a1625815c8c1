import Foundation
import TweedieCore

/// One setting of a guider beyond the shared scale w. Its `key` is the recipe and PNG-metadata key (snake_case)
/// and, with dashes, the `tweedie generate` flag (`apg_eta` is `--apg-eta`); bounds are inclusive.
public struct GuiderParameter: Sendable {
    public let key: String
    /// The name in the A1111-style parameters text ("APG eta").
    public let label: String
    public let defaultValue: Float
    public let minimum: Float?
    public let maximum: Float?
    public let help: String

    public init(key: String, label: String, defaultValue: Float, minimum: Float? = nil, maximum: Float? = nil,
                help: String) {
        self.key = key
        self.label = label
        self.defaultValue = defaultValue
        self.minimum = minimum
        self.maximum = maximum
        self.help = help
    }

    /// The command-line flag, e.g. `--apg-eta`.
    public var flag: String { "--" + key.replacingOccurrences(of: "_", with: "-") }

    /// Fails on a non-finite or out-of-range value, naming the flag and the accepted range.
    public func validate(_ v: Float) throws {
        let inRange = v.isFinite && (minimum.map { v >= $0 } ?? true) && (maximum.map { v <= $0 } ?? true)
        guard !inRange else { return }
        let accepted: String
        switch (minimum, maximum) {
        case let (lo?, hi?): accepted = "in [\(GuiderParameter.text(lo)), \(GuiderParameter.text(hi))]"
        case let (lo?, nil): accepted = "a finite number >= \(GuiderParameter.text(lo))"
        case let (nil, hi?): accepted = "a finite number <= \(GuiderParameter.text(hi))"
        case (nil, nil): accepted = "a finite number"
        }
        throw TweedieError.badInput("\(flag) must be \(accepted), got \(v)")
    }

    /// Whole numbers without a decimal point ("0", not "0.0"), as the metadata writes them.
    public static func text(_ v: Float) -> String { v == v.rounded() && abs(v) < 1e7 ? "\(Int(v))" : "\(v)" }
}

/// A guider as `tweedie generate` knows it: the `--guidance` name, its parameters, and how to build it.
public struct GuiderDescription: Sendable {
    public let name: String
    public let parameters: [GuiderParameter]
    /// Builds the guider from the scale w and a value for every parameter key.
    public let build: @Sendable (_ scale: Float, _ values: [String: Float]) -> Guider

    public init(name: String, parameters: [GuiderParameter] = [],
                build: @escaping @Sendable (_ scale: Float, _ values: [String: Float]) -> Guider) {
        self.name = name
        self.parameters = parameters
        self.build = build
    }
}

/// Maps `--guidance` names to guiders. Built in: cfg and apg ("none" is no guider). A guider is added with its own
/// file (the class and its `GuiderDescription`) and one line here or a `register` call; its parameters become
/// `tweedie generate` flags, recipe keys in the PNG metadata and lines of `tweedie info` without further edits.
public enum GuiderRegistry {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var entries: [GuiderDescription] = [
        ClassifierFreeGuidance.description,
        AdaptiveProjectedGuidance.description,
    ]

    /// Adds a guider, or replaces the one of the same name.
    public static func register(_ description: GuiderDescription) {
        lock.lock(); defer { lock.unlock() }
        entries.removeAll { $0.name == description.name }
        entries.append(description)
    }

    /// Removes the guider called `name` (a plug-in's or a test's scoped registration); built-ins may go too.
    public static func remove(named name: String) {
        lock.lock(); defer { lock.unlock() }
        entries.removeAll { $0.name == name }
    }

    /// "none" and every registered name, in registration order.
    public static var names: [String] {
        lock.lock(); defer { lock.unlock() }
        return ["none"] + entries.map(\.name)
    }

    /// Every registered guider's parameters, in registration order (keys are unique across guiders).
    public static var parameters: [GuiderParameter] {
        lock.lock(); defer { lock.unlock() }
        return entries.flatMap(\.parameters)
    }

    /// The guider called `name` (nil for "none"); unknown names are `badInput` listing the valid ones.
    public static func description(named name: String) throws -> GuiderDescription? {
        if name == "none" { return nil }
        lock.lock(); defer { lock.unlock() }
        guard let d = entries.first(where: { $0.name == name }) else {
            throw TweedieError.badInput("--guidance \(name) is unknown; valid: "
                                        + (["none"] + entries.map(\.name)).joined(separator: ", "))
        }
        return d
    }
}
