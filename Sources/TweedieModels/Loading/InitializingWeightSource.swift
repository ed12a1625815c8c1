import TweedieCore
#if canImport(Glibc)
import Glibc
#endif

/// A weight source that creates every tensor a network asks for, with PyTorch's default initialisation, so a model
/// can be built from its config alone (the start of training). Each tensor's values depend only on the seed and
/// its name (a counter-based stream), never on the order layers ask, and `parameters` lists what was created in
/// request order under diffusers' names.
public final class InitializingWeightSource: WeightSource {
    /// How one tensor is filled.
    public enum Fill: Equatable {
        /// U(−bound, bound): conv/linear weights (kaiming-uniform with a = √5 gives bound 1/√fan_in) and biases.
        case uniform(bound: Float)
        /// N(0, std²): embedding tables (nn.Embedding).
        case normal(std: Float)
        /// A constant: norm scales (1) and shifts (0).
        case constant(Float)
    }

    /// Picks the fill of tensor `name` with `shape`; `weightShape` is the shape of the sibling `<prefix>.weight`
    /// created before it (nil when none), which a bias needs for its fan-in.
    public typealias Rule = (_ name: String, _ shape: [Int], _ weightShape: [Int]?) -> Fill

    /// Describes the source in error messages.
    public let path: String
    /// Seed of every tensor's stream.
    public let seed: UInt64
    /// Everything created so far, in request order.
    public private(set) var parameters: [(String, Tensor)] = []
    private var index: [String: Int] = [:]
    private let rule: Rule

    /// A source drawing from `seed`; `rule` defaults to `pytorchDefault`.
    public init(seed: UInt64, rule: @escaping Rule = InitializingWeightSource.pytorchDefault) {
        self.seed = seed
        self.rule = rule
        path = "<initialiser seed \(seed)>"
    }

    public var names: [String] { parameters.map(\.0) }

    public func info(_ name: String) -> SafeTensorInfo? {
        index[name].map { SafeTensorInfo(dtype: "F32", shape: parameters[$0].1.shape) }
    }

    public func lookup(_ name: String, expected shape: [Int]) -> SafeTensorInfo? {
        info(name) ?? SafeTensorInfo(dtype: "F32", shape: shape)
    }

    public func tensor(_ name: String, shape: [Int]) throws -> Tensor {
        if let i = index[name] {
            guard parameters[i].1.shape == shape else {
                throw TweedieError.badInput("\(path): tensor '\(name)' requested as \(shape) and as "
                                            + "\(parameters[i].1.shape)")
            }
            return parameters[i].1
        }
        let sibling = name.hasSuffix(".bias") ? String(name.dropLast(5)) + ".weight" : nil
        let weightShape = sibling.flatMap { index[$0] }.map { parameters[$0].1.shape }
        let t = Self.fill(rule(name, shape, weightShape), shape: shape, seed: Self.streamSeed(seed, name))
        index[name] = parameters.count
        parameters.append((name, t))
        return t
    }

    /// PyTorch's module defaults: conv/linear weights kaiming-uniform (bound 1/√fan_in, fan_in = product of all
    /// but the first dimension), their biases U(±1/√fan_in of the weight), GroupNorm/LayerNorm scale 1 and shift 0,
    /// embedding tables (a name whose module ends in "embedding", e.g. `class_embedding.weight`) N(0, 1).
    public static func pytorchDefault(name: String, shape: [Int], weightShape: [Int]?) -> Fill {
        let module = name.split(separator: ".").dropLast().last.map(String.init) ?? ""
        if name.hasSuffix(".bias") {
            guard let w = weightShape, w.count >= 2 else { return .constant(0) }
            return .uniform(bound: 1 / Float(w.dropFirst().reduce(1, *)).squareRoot())
        }
        if shape.count == 1 { return .constant(1) }
        if shape.count == 2 && module.hasSuffix("embedding") { return .normal(std: 1) }
        return .uniform(bound: 1 / Float(max(1, shape.dropFirst().reduce(1, *))).squareRoot())
    }

    /// The stream of tensor `name`: FNV-1a of its UTF-8 bytes mixed with the seed.
    static func streamSeed(_ seed: UInt64, _ name: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in name.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return h ^ (seed &* 0x9E37_79B9_7F4A_7C15)
    }

    static func fill(_ fill: Fill, shape: [Int], seed: UInt64) -> Tensor {
        switch fill {
        case .constant(let c):
            return Tensor(shape: shape, repeating: c)
        case .uniform(let bound):
            return Tensor(shape: shape) { out in
                for i in 0..<out.count { out[i] = bound * (2 * CounterRandom.uniform(seed: seed, index: i) - 1) }
            }
        case .normal(let std):
            return Tensor(shape: shape) { out in
                for i in 0..<out.count {
                    // Box-Muller on two uniforms of the stream; 1 − u keeps the logarithm finite.
                    let u1 = 1 - CounterRandom.uniform(seed: seed, index: 2 * i)
                    let u2 = CounterRandom.uniform(seed: seed, index: 2 * i + 1)
                    out[i] = std * (-2 * logf(u1)).squareRoot() * cosf(2 * .pi * u2)
                }
            }
        }
    }
}
