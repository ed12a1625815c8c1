import Foundation
import XCTest
import TweedieCore
import TweedieModels
import TweedieSamplers
import TweedieTuning

/// A tiny class-conditional UNet (8x8 RGB, 3 classes + a null class, attention at the lower level) with PyTorch's
/// default initialisation drawn from `seed`: fast enough to backpropagate whole sampling chains in a unit test.
enum TinyModel {
    static let configJSON = """
        {"_class_name": "UNet2DModel", "in_channels": 3, "out_channels": 3, "sample_size": 8,
         "block_out_channels": [8, 16], "down_block_types": ["DownBlock2D", "AttnDownBlock2D"],
         "up_block_types": ["AttnUpBlock2D", "UpBlock2D"], "layers_per_block": 1, "norm_num_groups": 4,
         "attention_head_dim": 8, "num_class_embeds": 4}
        """
    static let nullClass = 3

    static func unet(seed: UInt64 = 1) throws -> UNet2DModel {
        let config = try UNet2DConfig(json: JSONConfig(data: Data(configJSON.utf8), path: "<tiny>"))
        let weights = try UNet2DModel.initialParameters(config: config, seed: seed)
        return try UNet2DModel(config: config, store: WeightStore(source: TensorTableSource(weights)), configPath: "<tiny>")
    }

    /// diffusers' DDPMScheduler defaults; `clip` turns clip_sample on (the bundled models' setting).
    static func scheduler(clip: Bool = false) -> SchedulerConfig {
        var s = SchedulerConfig()
        s.clipSample = clip
        return s
    }

    /// Classes 0, 1, 2, 0, ... by trajectory.
    static let classOf: (Int) -> Int? = { $0 % 3 }
}

/// The repository root (for the bundled judge).
enum RepositoryPaths {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static var judge: String { root.appendingPathComponent("assets/classifier32/shape").path }
}

/// A deterministic tensor of values in [lo, hi).
func uniformTensor(_ shape: [Int], seed: UInt64, _ lo: Float, _ hi: Float) -> Tensor {
    var rng = SplitMix64(seed: seed)
    return Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in lo + (hi - lo) * rng.unitFloat() })
}

/// A scratch directory removed by the caller.
func scratchDirectory(_ tag: String) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tweedie-\(tag)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.path
}

/// ⟨w, images⟩ with a fixed random w: a reward linear in the pixels, whose value the finite differences of a
/// sampling chain can sum in Double.
struct LinearTestReward: DifferentiableReward {
    let weight: Tensor
    let name = "linear-test"
    func check(sampleShape: [Int]) throws {}
    func reward(_ images: Variable) throws -> Variable {
        let t = images.tape
        return t.sum(t.mul(images, t.constant(weight)))
    }
    func value(_ images: Tensor) -> Double {
        zip(images.data, weight.data).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }
}

/// The error of the analytic gradient `g` of `f` at `x` against finite differences, relative to the largest
/// difference quotient: max |a − n| / max |n|. Elementwise over `indices` (central differences, step `h`), and
/// along `directions` random ±1 directions over the whole tensor (five-point differences), whose derivative sums
/// many elements and so rises above the float32 noise of a network's output.
func finiteDifferenceError(_ x: Tensor, _ g: Tensor, indices: [Int] = [], directions: Int = 0, h: Float,
                           _ f: (Tensor) throws -> Double) rethrows -> Double {
    var pairs: [(analytic: Double, numeric: Double)] = []
    func along(_ v: Tensor) throws -> Double {
        func at(_ k: Float) throws -> Double {
            var y = x
            for j in 0..<v.count where v.data[j] != 0 { y.data[j] += k * h * v.data[j] }
            return try f(y)
        }
        let d1 = try at(1) - at(-1), d2 = try at(2) - at(-2)
        return (8 * d1 - d2) / (12 * Double(h))
    }
    for j in indices {
        var v = Tensor(shape: x.shape)
        v.data[j] = 1
        pairs.append((Double(g.data[j]), try along(v)))
    }
    for d in 0..<directions {
        var rng = SplitMix64(seed: 1000 + UInt64(d))
        let v = Tensor(shape: x.shape, data: (0..<x.count).map { _ in rng.next() & 1 == 0 ? -1 : 1 })
        pairs.append((zip(g.data, v.data).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }, try along(v)))
    }
    let scale = pairs.map { abs($0.numeric) }.max() ?? 0
    if ProcessInfo.processInfo.environment["FD_DEBUG"] != nil { for p in pairs { print("fd", p.analytic, p.numeric) } }
    return pairs.map { abs($0.analytic - $0.numeric) }.max().map { $0 / max(scale, 1e-30) } ?? 0
}
