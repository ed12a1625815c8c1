import TweedieCore

/// A denoiser recorded on a tape, D(x, σ) → x̂0 with x a tape variable in sigma space, so a loss on x̂0
/// differentiates back to x (DPS). It may throw (network shape checks).
public typealias ThrowingTapeDenoiser = (_ tape: Tape, _ x: Variable, _ sigma: Float) throws -> Variable

extension VPDenoiser {
    /// This wrapper's conversions on the tape around a raw network `network(tape, scaledX, timesteps)`: the input
    /// scaled by 1/√(σ² + 1), the timestep from the same sigma table, the learned variance split off, and the
    /// epsilon / v / sample prediction turned into x̂0. `clipDenoised` is not applied (DPS clamps on its own).
    public func tapeDenoiser(network: @escaping (Tape, Variable, [Float]) throws -> Variable) -> ThrowingTapeDenoiser {
        let prediction = self.prediction, learned = self.learnedSigma
        return { tape, x, sigma in
            let s = Double(sigma)
            let n = x.shape[0]
            let scaledX = tape.scale(x, Float(1 / (s * s + 1).squareRoot()))
            var out = try network(tape, scaledX, [Float](repeating: self.timestep(forSigma: sigma), count: n))
            if learned { out = tape.chunk(out, 2, axis: 1)[0] }
            guard out.shape == x.shape else {
                throw TweedieError.runtime("tape denoiser: network output \(out.shape) does not match input \(x.shape)")
            }
            switch prediction {
            case .epsilon: return tape.sub(x, tape.scale(out, sigma))
            case .vPrediction:
                return tape.add(tape.scale(x, Float(1 / (s * s + 1))), tape.scale(out, Float(-s / (s * s + 1).squareRoot())))
            case .sample: return out
            }
        }
    }
}
