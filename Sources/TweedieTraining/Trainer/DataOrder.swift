import TweedieCore

/// The order samples are drawn in: a fresh permutation of 0..<count per epoch, each a pure function of
/// (seed, epoch), so the stream is fully described by its position (samples consumed) and resumes exactly.
public struct DataOrder {
    /// Number of samples in the data set.
    public let count: Int
    /// Seed of the permutations.
    public let seed: UInt64
    /// Samples handed out so far.
    public private(set) var position: Int
    private var epoch = -1
    private var permutation: [Int] = []

    /// An order over `count` samples starting at `position`.
    public init(count: Int, seed: UInt64, position: Int = 0) {
        precondition(count > 0, "DataOrder: empty data set")
        self.count = count
        self.seed = seed
        self.position = position
    }

    /// The next `n` sample indices (crossing into the next epoch's permutation when needed).
    public mutating func next(_ n: Int) -> [Int] {
        (0..<n).map { _ in
            let e = position / count
            if e != epoch {
                permutation = DataOrder.permutation(count: count, seed: seed, epoch: e)
                epoch = e
            }
            defer { position += 1 }
            return permutation[position % count]
        }
    }

    /// Fisher-Yates over a counter-based stream keyed by (seed, epoch).
    static func permutation(count: Int, seed: UInt64, epoch: Int) -> [Int] {
        var p = Array(0..<count)
        let key = seed &+ UInt64(epoch) &* 0xD1B5_4A32_D192_ED03
        for i in stride(from: count - 1, to: 0, by: -1) {
            let j = Int(CounterRandom.uniform(seed: key, index: i) * Float(i + 1))
            p.swapAt(i, min(j, i))
        }
        return p
    }
}
