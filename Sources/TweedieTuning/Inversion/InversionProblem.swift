import Foundation
import TweedieCore
import TweedieModels
import TweedieNoise

/// The ε-MSE objective of textual inversion for a class-conditional model: the concept's new class row θ (one row
/// per class table, flattened into one vector) is scored by how well the frozen network, conditioned on it,
/// predicts the noise added to the concept's reference images. One update's randomness (which images, their
/// timesteps and noise) is a function of (seed, step) alone, so every evaluation of a step sees the same x_t, t,
/// noise and images, as ZOODiP's forward difference needs, and a resumed run redraws exactly what it would have.
public final class InversionProblem {
    /// The network; its tables hold the concept's row at `conceptID`.
    public let model: ClassEmbeddingTables
    /// The class id of the concept's row.
    public let conceptID: Int
    /// Reference images [N, C, H, W] in [-1, 1].
    public let images: Tensor
    /// Training-schedule ᾱ_t of the model.
    public let alphasCumprod: [Double]
    /// What the network predicts (the regression target follows it).
    public let prediction: PredictionType
    /// Timesteps drawn uniformly from this band (all of the schedule, or PUTS's band).
    public let band: Range<Int>
    /// Images per update (drawn without replacement from the references).
    public let batch: Int
    /// Seed of the draws.
    public let seed: UInt64
    /// Network calls made so far (forward passes; a backward pass is counted apart).
    public private(set) var forwardPasses = 0

    /// One update's draws.
    public struct Draw {
        public let imageIndices: [Int]
        public let timesteps: [Int]
        /// x_t [B, C, H, W] and the regression target (ε, or v for v-prediction).
        public let noisy: Tensor
        public let target: Tensor
    }

    /// A problem over `images` for `model`, whose concept row is `conceptID`.
    public init(model: ClassEmbeddingTables, conceptID: Int, images: Tensor, alphasCumprod: [Double],
                prediction: PredictionType, band: Range<Int>, batch: Int, seed: UInt64) throws {
        guard prediction != .sample else {
            throw TweedieError.badInput("invert: the model predicts the sample (prediction_type sample); epsilon or "
                                        + "v_prediction models only")
        }
        guard !band.isEmpty, band.lowerBound >= 0, band.upperBound <= alphasCumprod.count else {
            throw TweedieError.badInput("invert: timestep band \(band) outside the schedule's \(alphasCumprod.count) steps")
        }
        self.model = model
        self.conceptID = conceptID
        self.images = images
        self.alphasCumprod = alphasCumprod
        self.prediction = prediction
        self.band = band
        self.batch = min(max(1, batch), images.shape[0])
        self.seed = seed
    }

    /// Length of θ: the widths of all class tables.
    public var dimension: Int { model.classEmbeddingWidths.reduce(0, +) }

    /// θ split into one row per class table.
    public func rows(_ theta: [Float]) -> [Tensor] {
        var offset = 0
        return model.classEmbeddingWidths.map { w in
            defer { offset += w }
            return Tensor(shape: [w], data: Array(theta[offset..<(offset + w)]))
        }
    }

    /// The draws of update `step`.
    public func draw(step: Int) throws -> Draw {
        let key = SplitMix64.mix(seed ^ SplitMix64.mix(UInt64(truncatingIfNeeded: step) &+ 0x1D_0001))
        // Images: a partial Fisher-Yates shuffle keyed by the step.
        var order = Array(0..<images.shape[0])
        for i in 0..<batch {
            let j = i + Int(CounterRandom.uniform(seed: key, index: i) * Float(order.count - i))
            order.swapAt(i, min(j, order.count - 1))
        }
        let chosen = Array(order.prefix(batch))
        let timesteps = (0..<batch).map { b in
            band.lowerBound + min(band.count - 1, Int(CounterRandom.uniform(seed: key, index: 1000 + b) * Float(band.count)))
        }
        let per = images.count / images.shape[0]
        let shape = [batch] + images.shape.dropFirst()
        let noise = try PhiloxNoise(seed: key).normal(shape: shape, purpose: .custom(7))
        var noisy = Tensor(shape: shape), target = Tensor(shape: shape)
        images.withUnsafeBufferPointer { x0 in
            noise.withUnsafeBufferPointer { eps in
                noisy.withUnsafeMutableBufferPointer { xt in
                    target.withUnsafeMutableBufferPointer { y in
                        for b in 0..<batch {
                            let abar = alphasCumprod[timesteps[b]]
                            let a = Float(abar.squareRoot()), s = Float((1 - abar).squareRoot())
                            for j in 0..<per {
                                let x = x0[chosen[b] * per + j], e = eps[b * per + j]
                                xt[b * per + j] = a * x + s * e
                                y[b * per + j] = prediction == .epsilon ? e : a * e - s * x
                            }
                        }
                    }
                }
            }
        }
        return Draw(imageIndices: chosen, timesteps: timesteps, noisy: noisy, target: target)
    }

    /// The loss at θ for `draw`, by one forward pass with constant weights (nothing kept for a backward pass).
    public func loss(_ theta: [Float], _ draw: Draw) throws -> Double {
        model.setClassRow(conceptID, rows(theta))
        let out = try prediction(try model.forward(draw.noisy, timesteps: draw.timesteps.map(Float.init),
                                                   classLabels: [Int](repeating: conceptID, count: batch)))
        forwardPasses += 1
        var sum = 0.0
        out.withUnsafeBufferPointer { o in
            draw.target.withUnsafeBufferPointer { y in
                for j in 0..<o.count { let d = Double(o[j] - y[j]); sum += d * d }
            }
        }
        return sum / Double(out.count)
    }

    /// The loss at θ and its gradient d loss / d θ by reverse mode through the frozen network (the class tables
    /// enter as leaves; only the concept's row of their gradients is kept).
    public func lossAndGradient(_ theta: [Float], _ draw: Draw) throws -> (loss: Double, gradient: [Float]) {
        model.setClassRow(conceptID, rows(theta))
        let tape = Tape()
        var leaves: [String: Variable] = [:]
        for name in model.classEmbeddingTables {
            leaves[name] = tape.leaf(model.weights.tensors[name]!, requiresGrad: true)
        }
        let scope = ForwardScope(tape: tape, weights: model.weights, given: leaves)
        var out = try model.forward(scope, sample: tape.constant(draw.noisy), timesteps: draw.timesteps.map(Float.init),
                                    classLabels: [Int](repeating: conceptID, count: batch))
        if out.shape[1] != draw.target.shape[1] { out = tape.split(out, sizes: [draw.target.shape[1], out.shape[1] - draw.target.shape[1]], axis: 1)[0] }
        forwardPasses += 1
        let loss = tape.mseLoss(out, tape.constant(draw.target))
        let grads = tape.gradients(of: loss, wrt: model.classEmbeddingTables.map { leaves[$0]! })
        var g: [Float] = []
        for (grad, w) in zip(grads, model.classEmbeddingWidths) {
            g += Array(grad.data[(conceptID * w)..<((conceptID + 1) * w)])
        }
        return (Double(loss.value.data[0]), g)
    }

    /// The noise prediction of a raw output (a learned-variance DiT's extra channels dropped).
    private func prediction(_ out: Tensor) throws -> Tensor {
        let c = images.shape[1]
        guard out.shape[1] != c else { return out }
        return TweedieCore.split(out, sizes: [c, out.shape[1] - c], axis: 1)[0]
    }
}
