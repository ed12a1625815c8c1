import TweedieCore
import TweedieModels

/// The layers a fine-tuning run puts LoRA on. `attention` is the official AlignProp choice (peft's target_modules
/// to_q, to_k, to_v, to_out.0); `linear` adds every other linear layer (time and class embeddings, DiT's
/// feed-forward and modulation); `all` also the convolutions.
public enum LoRATargets: String, CaseIterable, Sendable {
    case attention, linear, all

    /// The attention projections' last name components.
    static let projections: Set<String> = ["to_q", "to_k", "to_v", "to_out.0"]

    /// `--lora-targets` values, for messages.
    public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }

    /// Parses `--lora-targets`; an unknown value is `badInput` listing the valid ones.
    public init(parsing text: String) throws {
        guard let t = LoRATargets(rawValue: text) else {
            throw TweedieError.badInput("--lora-targets \(text) is unknown; valid: \(Self.names)")
        }
        self = t
    }

    /// The matching layer prefixes of `weights`, in load order.
    public func layers(of weights: ModelWeights) -> [String] {
        weights.denseLayers.filter { prefix in
            guard let w = weights.tensors[prefix + ".weight"] else { return false }
            switch self {
            case .attention:
                let parts = prefix.split(separator: ".")
                let tail = parts.count >= 2 && parts.last == "0" ? parts.suffix(2).joined(separator: ".")
                    : String(parts.last ?? "")
                return Self.projections.contains(tail)
            case .linear: return w.shape.count == 2
            case .all: return true
            }
        }
    }

    /// Attaches fresh LoRA factors (rank `rank`, peft's `alpha`, A drawn from `seed`, B zero) to every target
    /// layer of `weights` and returns them as the parameters to tune (A then B per layer, in load order). Every
    /// layer's rank is checked before anything is attached, so a rank too large for some layer (`badInput`
    /// naming it) leaves the model untouched.
    public func attach(to weights: ModelWeights, rank: Int, alpha: Float, seed: UInt64) throws -> TuningParameters {
        let targets = layers(of: weights)
        guard !targets.isEmpty else {
            throw TweedieError.badInput("--lora-targets \(rawValue): the model has no such layers (try --lora-targets all)")
        }
        guard alpha.isFinite, alpha > 0 else { throw TweedieError.badInput("--lora-alpha: must be positive, got \(alpha)") }
        for prefix in targets {
            let w = weights.tensors[prefix + ".weight"]!
            guard rank >= 1, rank <= min(w.shape[0], w.shape[1]) else {
                throw TweedieError.badInput("--lora-rank \(rank): layer '\(prefix)' of shape \(w.shape) allows at most "
                                            + "\(min(w.shape[0], w.shape[1]))")
            }
        }
        var pairs: [(String, Tensor)] = []
        for (i, prefix) in targets.enumerated() {
            try LoRAWeights.attach(to: weights, layer: prefix, rank: rank, alpha: alpha,
                                   seed: SplitMix64.mix(seed &+ UInt64(i)))
            for f in [".lora_A.weight", ".lora_B.weight"] { pairs.append((prefix + f, weights.tensors[prefix + f]!)) }
        }
        return try TuningParameters(pairs)
    }
}
