import Foundation
import TweedieCore

/// The class labels a network takes: how many ids its embedding accepts, which one (if any) means "no class" for
/// classifier-free guidance, and their names. See `ModelSource` for where the null class and names come from.
public struct ClassSpace: Equatable, Sendable {
    /// Ids the network accepts are 0..<tableSize (Int.max: any id >= 0); 0 for an unconditional network.
    public let tableSize: Int
    /// The id fed for "no class"; nil when the network has none (then guidance is impossible).
    public let nullClass: Int?
    /// Class names by id.
    public let labels: [Int: String]

    /// A space of `tableSize` ids with an optional null id and names.
    public init(tableSize: Int, nullClass: Int?, labels: [Int: String] = [:]) {
        self.tableSize = tableSize
        self.nullClass = nullClass
        self.labels = labels
    }

    /// An unconditional network's space.
    public static let unconditional = ClassSpace(tableSize: 0, nullClass: nil)

    /// Whether the network takes class labels at all.
    public var isConditional: Bool { tableSize > 0 }

    /// Number of real (non-null) classes; Int.max for a timestep-style class embedding.
    public var classCount: Int {
        guard tableSize != Int.max else { return Int.max }
        return tableSize - (nullClass.map { $0 < tableSize ? 1 : 0 } ?? 0)
    }

    /// Whether `id` is a real class of this network.
    public func isValid(_ id: Int) -> Bool { id >= 0 && id < tableSize && id != nullClass }

    /// The class image `index` gets when none is asked for: the real classes in turn.
    public func defaultClass(forImage index: Int) -> Int {
        guard tableSize != Int.max else { return index }
        let count = classCount
        let k = index % max(1, count)
        // Real classes are 0..<tableSize without the null id.
        if let n = nullClass, n <= k { return k + 1 }
        return k
    }

    /// The first name of class `id` (DiT's id2label entries list synonyms separated by commas).
    public func name(of id: Int) -> String? {
        labels[id].map { String($0.split(separator: ",").first ?? Substring($0)).trimmingCharacters(in: .whitespaces) }
    }

    /// The class whose name (or one of its comma-separated synonyms) is `label`, case-insensitively.
    public func classID(forLabel label: String) throws -> Int {
        let wanted = label.trimmingCharacters(in: .whitespaces).lowercased()
        for (id, names) in labels.sorted(by: { $0.key < $1.key }) {
            let synonyms = names.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            if synonyms.contains(wanted) { return id }
        }
        guard !labels.isEmpty else {
            throw TweedieError.badInput("--label \(label): the model names no classes (no labels or id2label); use --class")
        }
        let known = labels.sorted { $0.key < $1.key }.prefix(12).map { name(of: $0.key) ?? "" }
        throw TweedieError.badInput("--label \(label) is unknown; labels: " + known.joined(separator: ", ")
                                    + (labels.count > 12 ? ", ..." : ""))
    }

    /// A one-line description of the valid ids for error messages.
    public var rangeDescription: String {
        if tableSize == Int.max { return "any id >= 0" }
        if let n = nullClass, n == tableSize - 1 { return "0...\(tableSize - 2) (\(n) is the null class)" }
        if let n = nullClass, n < tableSize { return "0...\(tableSize - 1) except the null class \(n)" }
        return "0...\(tableSize - 1)"
    }
}
