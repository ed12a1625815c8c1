/// Reverse-mode automatic differentiation: a tape of vector-Jacobian-product closures over the engine's kernels.
///
/// Every differentiable op (`tape.conv2d`, `tape.groupNorm`, …) runs the same forward kernel the models use, returns
/// a `Variable`, and — when one of its operands requires a gradient — appends a pullback closure that maps the
/// output's gradient to gradients of its operands. `backward` walks the tape once in reverse. A tape is
/// single-threaded, records one forward pass and is consumed by one backward pass (build a new tape per step).
///
///     let tape = Tape()
///     let x = tape.leaf(image, requiresGrad: true), w = tape.leaf(weight, requiresGrad: true)
///     let loss = tape.mseLoss(tape.conv2d(x, w, nil, padding: 1), tape.constant(target))
///     let g = tape.gradients(of: loss, wrt: [x, w])   // [dL/dx, dL/dw]
///     // or: loss.backward(); x.grad, w.grad
///
/// Ops (extensions in Autodiff/Ops): linear, conv2d (any stride/padding), groupNorm, layerNorm, silu, gelu, sigmoid,
/// softmax, attention, upsampleNearest2x, avgPool2d, pad2d, embedding, concat, split, chunk, reshape, permute,
/// nchwToNLC, nlcToNCHW, add, sub, mul, scale (and `+ - *` on Variables), addChannelBias, addRows, modulate, gate,
/// dropout, sum, mean, mseLoss; `record`/`recordMany` add custom ops and `checkpoint` recomputes regions.
/// Values of kernels without parameters to learn (timestep and positional embeddings) enter as `constant`s.
public final class Tape {
    /// Maps the gradient of a node's output to gradients of its operands, accumulated through `accumulate`.
    /// Pullbacks capture only what they need (operand tensors, ids), never the tape, so no cycles form.
    public typealias Pullback = (_ outputGradient: Tensor, _ tape: Tape) -> Void

    /// The pullback of an op with several outputs (split, checkpointed regions): it receives the gradients of all
    /// its outputs in order, nil for outputs no gradient reached.
    public typealias MultiPullback = (_ outputGradients: [Tensor?], _ tape: Tape) -> Void

    enum Backprop {
        case single(Pullback)
        /// Stored on the last output node; `first` is the id of the first output.
        case multi(first: Int, MultiPullback)
    }

    struct Node {
        let shape: [Int]
        let requiresGrad: Bool
        var pullback: Backprop?
    }

    private(set) var nodes: [Node] = []
    private var grads: [Tensor?] = []
    private var consumed = false

    /// An empty tape.
    public init() {}

    /// Number of recorded nodes (leaves, constants and op outputs).
    public var count: Int { nodes.count }

    // MARK: Recording

    /// An input of the computation; gradients are kept for leaves that require them.
    public func leaf(_ value: Tensor, requiresGrad: Bool = false) -> Variable {
        append(value, requiresGrad: requiresGrad, pullback: nil)
    }

    /// A value that never receives a gradient (timestep or positional embeddings, targets, masks).
    public func constant(_ value: Tensor) -> Variable { leaf(value, requiresGrad: false) }

    /// Records the output of a custom op. The output requires a gradient when any operand does; only then is
    /// `pullback` kept. Operands must live on this tape.
    public func record(_ value: Tensor, inputs: [Variable], pullback: @escaping Pullback) -> Variable {
        var needs = false
        for v in inputs {
            precondition(v.tape === self, "Tape: operand \(v.id) belongs to another tape")
            needs = needs || nodes[v.id].requiresGrad
        }
        return append(value, requiresGrad: needs, pullback: needs ? .single(pullback) : nil)
    }

    /// Records an op with several outputs and one pullback that sees all their gradients at once.
    public func recordMany(_ values: [Tensor], inputs: [Variable], pullback: @escaping MultiPullback) -> [Variable] {
        var needs = false
        for v in inputs {
            precondition(v.tape === self, "Tape: operand \(v.id) belongs to another tape")
            needs = needs || nodes[v.id].requiresGrad
        }
        let first = nodes.count
        return values.enumerated().map { i, value in
            let last = i == values.count - 1
            return append(value, requiresGrad: needs, pullback: needs && last ? .multi(first: first, pullback) : nil)
        }
    }

    private func append(_ value: Tensor, requiresGrad: Bool, pullback: Backprop?) -> Variable {
        precondition(!consumed, "Tape: recording after backward; use a new tape for each pass")
        nodes.append(Node(shape: value.shape, requiresGrad: requiresGrad, pullback: pullback))
        grads.append(nil)
        return Variable(value: value, id: nodes.count - 1, tape: self)
    }

    // MARK: Gradient accumulation (used by pullbacks)

    /// Whether node `id` wants a gradient; pullbacks skip work for operands that don't.
    public func needsGradient(_ id: Int) -> Bool { nodes[id].requiresGrad }

    /// Adds `g` into node `id`'s gradient. The first contribution is stored without a copy; later ones are added
    /// in place into that buffer.
    public func accumulate(_ id: Int, _ g: Tensor) {
        guard nodes[id].requiresGrad else { return }
        precondition(g.count == nodes[id].shape.reduce(1, *),
                     "Tape: gradient \(g.shape) for node \(id) of shape \(nodes[id].shape)")
        guard var current = takeGradient(id) else {
            grads[id] = g.shape == nodes[id].shape ? g : g.reshaped(nodes[id].shape)
            return
        }
        current.withUnsafeMutableBufferPointer { dst in
            g.withUnsafeBufferPointer { src in addInPlace(dst.baseAddress!, src.baseAddress!, dst.count) }
        }
        grads[id] = current
    }

    /// Gives `body` node `id`'s gradient buffer (zero-filled on first use) to add into with `+=`, so pullbacks
    /// that scatter (slices, embeddings) need no temporary tensor.
    public func accumulate(_ id: Int, _ body: (UnsafeMutableBufferPointer<Float>) -> Void) {
        guard nodes[id].requiresGrad else { return }
        var current = takeGradient(id) ?? Tensor(shape: nodes[id].shape)
        current.withUnsafeMutableBufferPointer { body($0) }
        grads[id] = current
    }

    /// Moves the gradient out so the caller holds the only reference and in-place writes do not copy.
    func takeGradient(_ id: Int) -> Tensor? {
        let g = grads[id]
        grads[id] = nil
        return g
    }

    // MARK: Backward

    /// Backpropagates from a scalar (one-element) `loss`, seeded with 1.
    public func backward(_ loss: Variable) {
        precondition(loss.value.count == 1, "Tape.backward: loss must have one element, got \(loss.shape)")
        backward(seeds: [(loss, Tensor(shape: loss.shape, repeating: 1))])
    }

    /// Backpropagates the vector-Jacobian product of several outputs with the given cotangents (same shapes).
    /// Gradients of leaves and of `retaining` are kept; other intermediate gradients are freed once used, and
    /// pullbacks are released, so the tape can be used for only one backward pass.
    public func backward(seeds: [(Variable, Tensor)], retaining: [Variable] = []) {
        precondition(!consumed, "Tape.backward: this tape was already backpropagated")
        consumed = true
        var keep = [Bool](repeating: false, count: nodes.count)
        for v in retaining { keep[v.id] = true }
        for (v, g) in seeds {
            precondition(v.tape === self, "Tape.backward: seed belongs to another tape")
            precondition(g.shape == v.shape, "Tape.backward: seed \(g.shape) for output \(v.shape)")
            accumulate(v.id, g)
        }
        // From the very top: a multi-output pullback sits on its last output, which may lie above every seed.
        var id = nodes.count - 1
        while id >= 0 {
            switch nodes[id].pullback {
            case .single(let pullback)?:
                nodes[id].pullback = nil
                if let g = grads[id] {
                    if !keep[id] { grads[id] = nil }
                    pullback(g, self)
                }
            case .multi(let first, let pullback)?:
                nodes[id].pullback = nil
                let gs = (first...id).map { grads[$0] }
                if gs.contains(where: { $0 != nil }) {
                    for j in first...id where !keep[j] { grads[j] = nil }
                    pullback(gs, self)
                }
            case nil:
                break
            }
            id -= 1
        }
    }

    /// The gradient of a leaf (or retained node) after `backward`; nil when no path from the loss reached it.
    public func gradient(_ v: Variable) -> Tensor? {
        precondition(v.tape === self, "Tape.gradient: variable belongs to another tape")
        return grads[v.id]
    }

    /// Adds the gradient of `v` (if one reached it) into `buffer` in place: accumulation over micro-batches or
    /// sampler trajectories into preallocated parameter-gradient buffers.
    public func addGradient(of v: Variable, into buffer: inout Tensor) {
        guard let g = gradient(v) else { return }
        precondition(g.count == buffer.count, "Tape.addGradient: gradient \(g.shape) into buffer \(buffer.shape)")
        buffer.withUnsafeMutableBufferPointer { dst in
            g.withUnsafeBufferPointer { src in addInPlace(dst.baseAddress!, src.baseAddress!, dst.count) }
        }
    }

    /// Backpropagates from scalar `loss` and returns d loss / d v for each of `wrt` (zeros where no path exists).
    /// `wrt` may name intermediate variables as well as leaves.
    public func gradients(of loss: Variable, wrt: [Variable]) -> [Tensor] {
        precondition(loss.value.count == 1, "Tape.gradients: loss must have one element, got \(loss.shape)")
        backward(seeds: [(loss, Tensor(shape: loss.shape, repeating: 1))], retaining: wrt)
        return wrt.map { grads[$0.id] ?? Tensor(shape: $0.shape) }
    }
}

/// dst += src over `n` floats, threaded for large buffers.
func addInPlace(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ n: Int) {
    parallelChunks(n) { r in for i in r { dst[i] += src[i] } }
}
