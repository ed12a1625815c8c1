import TweedieCore
import TweedieModels

/// Initial noise from a safetensors file, diffusers' `latents=` convention: tensor `sample` holds unit-variance
/// noise [N, C, h, w] (or one [C, h, w] sample); the run scales it by the schedule's initial sigma.
public enum LatentsFile {
    /// Name of the tensor read from the file.
    public static let tensorName = "sample"

    /// Number of samples in the file's `sample` tensor (1 for a rank-3 tensor).
    public static func count(path: String) throws -> Int {
        let file = try SafeTensorsFile(path: path)
        guard let info = file.info(tensorName) else {
            throw TweedieError.badInput("--latents \(path): missing tensor '\(tensorName)'")
        }
        return info.shape.count == 4 ? info.shape[0] : 1
    }

    /// Samples `offset..<offset + count` of the file, checked against one sample's shape `sampleShape` [C, h, w].
    public static func load(path: String, offset: Int, count: Int, sampleShape: [Int]) throws -> Tensor {
        let file = try SafeTensorsFile(path: path)
        guard file.info(tensorName) != nil else {
            throw TweedieError.badInput("--latents \(path): missing tensor '\(tensorName)'")
        }
        var t = try file.tensor(tensorName)
        if t.rank == 3 { t = t.reshaped([1] + t.shape) }
        guard t.rank == 4, Array(t.shape.dropFirst()) == sampleShape else {
            throw TweedieError.badInput("--latents \(path): tensor '\(tensorName)' has shape \(t.shape), the model "
                                        + "needs [N, \(sampleShape.map(String.init).joined(separator: ", "))]")
        }
        guard offset >= 0, count >= 1, offset + count <= t.shape[0] else {
            throw TweedieError.badInput("--latents \(path): holds \(t.shape[0]) samples, the run needs samples "
                                        + "\(offset)..<\(offset + count)")
        }
        let per = t.count / t.shape[0]
        return Tensor(shape: [count] + sampleShape, data: Array(t.data[(offset * per)..<((offset + count) * per)]))
    }
}
