import Foundation
import TweedieCore
import TweedieModels

/// Maps `--reward` names to rewards. A spec is `NAME` or `NAME:ARGUMENT` (`classifier:3`). Built in:
/// colorfulness, smoothness and classifier:N; `register` adds a user's reward under its own name (one line next to
/// the reward's type), and `tweedie finetune` and `tweedie score` then accept it.
public enum RewardRegistry {
    /// Builds a reward from the spec's argument (nil when the spec has none) and the context.
    public typealias Factory = (_ argument: String?, _ context: RewardContext) throws -> DifferentiableReward

    private struct Entry {
        let name: String
        let help: String
        let make: Factory
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var entries: [Entry] = [
        Entry(name: "colorfulness", help: "smooth mean HSV saturation", make: { arg, _ in
            try noArgument(arg, "colorfulness")
            return ColorfulnessReward()
        }),
        Entry(name: "classifier", help: "classifier:N, log-probability of class N under the judge", make: { arg, ctx in
            guard let arg, let n = Int(arg) else {
                throw TweedieError.badInput("--reward classifier needs a class: classifier:N (e.g. classifier:3)")
            }
            guard let folder = ctx.judgeFolder else {
                throw TweedieError.badInput("--reward classifier:\(n): no judge folder (--judge DIR)")
            }
            return try ClassifierReward(judge: TweedieClassifier(folder: folder), target: n)
        }),
        Entry(name: "smoothness", help: "negative total variation", make: { arg, _ in
            try noArgument(arg, "smoothness")
            return SmoothnessReward()
        }),
    ]

    /// Adds a reward, or replaces the one of the same name.
    public static func register(_ name: String, help: String, _ make: @escaping Factory) {
        lock.lock(); defer { lock.unlock() }
        entries.removeAll { $0.name == name }
        entries.append(Entry(name: name, help: help, make: make))
    }

    /// Removes the reward called `name`.
    public static func remove(named name: String) {
        lock.lock(); defer { lock.unlock() }
        entries.removeAll { $0.name == name }
    }

    /// Registered names, in registration order.
    public static var names: [String] {
        lock.lock(); defer { lock.unlock() }
        return entries.map(\.name)
    }

    /// "name (help)" for every reward, for `--help` texts.
    public static var summary: String {
        lock.lock(); defer { lock.unlock() }
        return entries.map { "\($0.name) (\($0.help))" }.joined(separator: ", ")
    }

    /// The reward `spec` names; an unknown name is `badInput` listing the known ones.
    public static func make(_ spec: String, context: RewardContext = RewardContext()) throws -> DifferentiableReward {
        let parts = spec.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let name = parts[0], argument = parts.count > 1 ? parts[1] : nil
        lock.lock()
        let entry = entries.first { $0.name == name }
        let known = entries.map(\.name)
        lock.unlock()
        guard let entry else {
            throw TweedieError.badInput("--reward \(spec) is unknown; valid: " + known.map {
                $0 == "classifier" ? "classifier:N" : $0
            }.joined(separator: ", "))
        }
        return try entry.make(argument, context)
    }

    private static func noArgument(_ argument: String?, _ name: String) throws {
        if let argument { throw TweedieError.badInput("--reward \(name) takes no argument, got \(name):\(argument)") }
    }
}
