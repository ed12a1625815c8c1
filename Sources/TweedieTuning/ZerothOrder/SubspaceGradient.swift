import TweedieCore

/// ZOODiP's Subspace Gradient: the parameter θ is recorded after every update into a ring buffer of τ snapshots;
/// every τ updates a PCA of the buffer finds the directions in which θ has hardly moved, and later gradient
/// estimates are projected off them (ĝ ← ĝ − (ĝVᵀ)V), which also lowers the effective dimension d_eff = d − |V|
/// of the estimator's normalisation.
///
/// Coordinates: everything here lives in the raw coordinates of θ. The snapshots are centred by their mean but not
/// z-scored, so the removed directions V are orthonormal vectors of the same space as ĝ and the projection is an
/// orthogonal projector. (The official code fits its PCA on standardised snapshots and then projects raw gradients
/// with those components, mixing two coordinate systems.)
///
/// Rule (official): with the components sorted by explained variance ratio r_k, let i be the first index whose
/// cumulative ratio exceeds 1 − ν; components 0...i are kept and the later in-span components removed. ν = 0.99
/// (argparse default) keeps one component; ν = 1e-3 (the shipped script) keeps those explaining 99.9 %. Directions
/// outside the span of the snapshots are never removed (only components with variance above rounding count).
public final class SubspaceGradient {
    /// Snapshots per PCA (τ).
    public let window: Int
    /// Variance fraction treated as noise (ν).
    public let nu: Double
    /// Length of θ.
    public let dimension: Int
    /// The removed directions V (orthonormal rows), from the last refit.
    public private(set) var removed: [[Float]] = []
    private var snapshots: [[Float]] = []
    private var recorded = 0

    /// A subspace of `dimension`-long parameters refitted every `window` updates with threshold `nu`.
    public init(dimension: Int, window: Int, nu: Double) {
        precondition(window >= 2 && nu > 0 && nu < 1 && dimension >= 1, "SubspaceGradient: τ \(window), ν \(nu)")
        self.dimension = dimension
        self.window = window
        self.nu = nu
    }

    /// d_eff = d − |V|.
    public var effectiveDimension: Int { dimension - removed.count }

    /// Records θ after an update; every `window`-th record refits V from the last `window` snapshots.
    public func record(_ theta: [Float]) {
        precondition(theta.count == dimension, "SubspaceGradient: θ of \(theta.count), expected \(dimension)")
        if snapshots.count == window { snapshots.removeFirst() }
        snapshots.append(theta)
        recorded += 1
        if recorded % window == 0 { refit() }
    }

    /// ĝ − (ĝVᵀ)V.
    public func project(_ g: [Float]) -> [Float] {
        var out = g.map(Double.init)
        for v in removed {
            var dot = 0.0
            for j in out.indices { dot += out[j] * Double(v[j]) }
            for j in out.indices { out[j] -= dot * Double(v[j]) }
        }
        return out.map { Float($0) }
    }

    /// The components of `snapshots` (rows) by the snapshot method: eigenvectors u of the τ x τ Gram matrix of the
    /// centred rows give the principal directions Xᵀu/√λ; returns (explained variance, unit direction) sorted by
    /// variance, in-span components only.
    public static func components(of snapshots: [[Float]]) -> [(variance: Double, direction: [Float])] {
        let t = snapshots.count, d = snapshots.first?.count ?? 0
        guard t >= 2 else { return [] }
        var mean = [Double](repeating: 0, count: d)
        for s in snapshots { for j in 0..<d { mean[j] += Double(s[j]) / Double(t) } }
        let x = snapshots.map { s in (0..<d).map { Double(s[$0]) - mean[$0] } }
        var gram = [Double](repeating: 0, count: t * t)
        for a in 0..<t {
            for b in a..<t {
                var dot = 0.0
                for j in 0..<d { dot += x[a][j] * x[b][j] }
                gram[a * t + b] = dot
                gram[b * t + a] = dot
            }
        }
        let (values, vectors) = SymmetricEigen.decompose(gram, n: t)
        let top = values.first ?? 0
        var out: [(Double, [Float])] = []
        for (lambda, u) in zip(values, vectors) where lambda > 1e-9 * top && lambda > 0 {
            var dir = [Double](repeating: 0, count: d)
            for a in 0..<t { for j in 0..<d { dir[j] += u[a] * x[a][j] } }
            let norm = dir.reduce(0) { $0 + $1 * $1 }.squareRoot()
            // Sample variance with τ − 1, as sklearn's explained_variance_.
            out.append((lambda / Double(t - 1), dir.map { Float($0 / norm) }))
        }
        return out
    }

    /// The number of leading components kept under threshold `nu`: 1 + the first index whose cumulative explained
    /// variance ratio exceeds 1 − ν.
    public static func keptCount(variances: [Double], nu: Double) -> Int {
        let total = variances.reduce(0, +)
        guard total > 0 else { return 0 }
        var cumulative = 0.0
        for (i, v) in variances.enumerated() {
            cumulative += v / total
            if cumulative > 1 - nu { return i + 1 }
        }
        return variances.count
    }

    private func refit() {
        let comps = Self.components(of: snapshots)
        let keep = Self.keptCount(variances: comps.map(\.variance), nu: nu)
        // Modified Gram-Schmidt: directions from small eigenvalues lose a little orthogonality to rounding, and the
        // projection is exactly idempotent only for an orthonormal V.
        var basis: [[Double]] = []
        for c in comps.dropFirst(keep) {
            var v = c.direction.map(Double.init)
            for b in basis {
                let dot = zip(v, b).reduce(0) { $0 + $1.0 * $1.1 }
                for j in v.indices { v[j] -= dot * b[j] }
            }
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            if norm > 1e-6 { basis.append(v.map { $0 / norm }) }
        }
        removed = basis.map { $0.map { Float($0) } }
    }

    /// Snapshots recorded so far (at most τ kept) and the count of all records: what a checkpoint must hold to
    /// resume the subspace exactly.
    public var state: (snapshots: [[Float]], recorded: Int, removed: [[Float]]) { (snapshots, recorded, removed) }

    /// Restores a state saved from `state`.
    public func restore(snapshots: [[Float]], recorded: Int, removed: [[Float]]) {
        self.snapshots = snapshots
        self.recorded = recorded
        self.removed = removed
    }
}
