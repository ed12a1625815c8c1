import Synchronization

/// Runs `conv2d` through oneDNN: one primitive per shape, built on first use and kept; constant weights reordered
/// once (`OneDNNWeightCache`); the blocked copies of input, output and per-call weights in scratch buffers that grow
/// to the largest call and are then reused, so a steady-state call allocates nothing here.
///
/// One lock serialises the calls: they share the scratch buffers, and each call already spreads over every
/// thread through oneDNN's OpenMP team.
enum OneDNNConvolutions {
    private struct State: ~Copyable {
        var primitives: [ConvolutionShape: OneDNNConvolution?] = [:]
        var cache = OneDNNWeightCache()
        var source = Scratch(), destination = Scratch(), weights = Scratch()
        var weightsGradients: [ConvolutionShape: OneDNNWeightsGradient?] = [:]
    }
    private static let state = Mutex(State())

    /// out = conv(x) for the NCHW input `x` and PyTorch-layout `weight`; false when oneDNN has no kernel for the
    /// shape (nothing is written then). `constantWeights` says the weights will not be trained while in use, so
    /// their reordered copy may be kept.
    static func convolve(_ shape: ConvolutionShape, x: UnsafePointer<Float>, weight: [Float], constantWeights: Bool,
                         bias: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>) -> Bool {
        guard let runtime = OneDNNRuntime.shared else { return false }
        return state.withLock { s in
            guard let primitive = cached(&s.primitives, shape, { OneDNNConvolution(shape, runtime: runtime) }) else {
                return false
            }
            let prepared: UnsafeRawPointer
            if constantWeights, let cached = s.cache.lookup(weight, for: primitive) {
                prepared = cached
            } else {
                let buffer = s.weights.reserve(primitive.weightsBytes)
                weight.withUnsafeBufferPointer { primitive.prepareWeights($0.baseAddress!, into: buffer) }
                prepared = UnsafeRawPointer(buffer)
            }
            primitive.run(x, preparedWeights: prepared, bias: bias, out: out,
                          sourceScratch: s.source.reserve(primitive.sourceBytes),
                          destinationScratch: s.destination.reserve(primitive.destinationBytes))
            return true
        }
    }

    /// dW [O, I, kh, kw] and, when `shape.hasBias`, db [O] of the convolution `shape` from its input `x` and output
    /// gradient `dy` (both NCHW); false when oneDNN has no kernel for the shape (nothing is written then).
    static func weightsGradient(_ shape: ConvolutionShape, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                                dw: UnsafeMutablePointer<Float>, db: UnsafeMutablePointer<Float>?) -> Bool {
        guard let runtime = OneDNNRuntime.shared else { return false }
        return state.withLock { s in
            guard let primitive = cached(&s.weightsGradients, shape, { OneDNNWeightsGradient(shape, runtime: runtime) })
            else { return false }
            primitive.run(input: x, gradOutput: dy, weightGradient: dw, biasGradient: db,
                          sourceScratch: s.source.reserve(primitive.sourceBytes),
                          gradientScratch: s.destination.reserve(primitive.gradientBytes),
                          weightsScratch: s.weights.reserve(primitive.weightsBytes))
            return true
        }
    }

    /// The primitive for `shape` from `table`, built by `make` on first use; a shape oneDNN has no kernel for is
    /// remembered as nil, so it is asked only once.
    private static func cached<P>(_ table: inout [ConvolutionShape: P?], _ shape: ConvolutionShape,
                                  _ make: () -> P?) -> P? {
        if let known = table[shape] { return known }
        let made = make()
        table[shape] = .some(made)
        return made
    }

    /// The kernel oneDNN chose for `shape` ("brg:avx512_core", …), nil when it has none; builds the primitive.
    static func implementation(_ shape: ConvolutionShape) -> String? {
        guard let runtime = OneDNNRuntime.shared else { return nil }
        return state.withLock { s in
            if s.primitives[shape] == nil { s.primitives[shape] = .some(OneDNNConvolution(shape, runtime: runtime)) }
            return s.primitives[shape]!?.implementation
        }
    }

    /// Frees the cached weights (they are rebuilt on later calls).
    static func releaseCachedWeights() { state.withLock { $0.cache.removeAll() } }
}

/// A 64-byte-aligned buffer that only grows.
struct Scratch: ~Copyable {
    private var pointer: UnsafeMutableRawPointer?
    private var capacity = 0

    /// At least `bytes` bytes, reallocated only when the largest request so far grows.
    mutating func reserve(_ bytes: Int) -> UnsafeMutableRawPointer {
        if bytes > capacity || pointer == nil {
            pointer?.deallocate()
            capacity = max(bytes, 64)
            pointer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
        }
        return pointer!
    }

    deinit { pointer?.deallocate() }
}
