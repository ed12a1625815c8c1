import TweedieCore

/// The checked reads every training and tuning checkpoint shares, so a damaged or foreign checkpoint fails the same
/// way everywhere: one `badInput` naming the file and the key or tensor at fault.
extension SafeTensorsFile {
    /// The integer stored under metadata `key`.
    public func metadataInt(_ key: String) throws -> Int {
        guard let s = metadata[key], let v = Int(s) else {
            throw TweedieError.badInput("\(path): checkpoint metadata lacks '\(key)'")
        }
        return v
    }

    /// The optimiser state stored as `optim/SLOT/PARAMETER`, keyed by slot and then by the parameter's position in
    /// `names` (each tensor shaped like its parameter and finite, as `tensor(_:shape:)` checks); a tensor naming no parameter is refused.
    public func optimizerState(names: [String], shapes: [[Int]]) throws -> [String: [Int: Tensor]] {
        let index = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
        var state: [String: [Int: Tensor]] = [:]
        for name in self.names where name.hasPrefix("optim/") {
            let parts = name.split(separator: "/", maxSplits: 2).map(String.init)
            guard parts.count == 3, let i = index[parts[2]] else {
                throw TweedieError.badInput("\(path): unexpected optimiser tensor '\(name)'")
            }
            state[parts[1], default: [:]][i] = try tensor(name, shape: shapes[i])
        }
        return state
    }
}
