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

    /// Samples `offset..<offset + count` of the file, checked against one sample's shape `sampleShape` [C, h, w];
    /// only those samples are read, and a NaN or infinite value is `badInput` naming the file and element.
    public static func load(path: String, offset: Int, count: Int, sampleShape: [Int]) throws -> Tensor {
        let file = try SafeTensorsFile(path: path)
        guard let info = file.info(tensorName) else {
            throw TweedieError.badInput("--latents \(path): missing tensor '\(tensorName)'")
        }
        let shape = info.shape.count == 3 ? [1] + info.shape : info.shape
        guard shape.count == 4, Array(shape.dropFirst()) == sampleShape else {
            throw TweedieError.badInput("--latents \(path): tensor '\(tensorName)' has shape \(info.shape), the model "
                                        + "needs [N, \(sampleShape.map(String.init).joined(separator: ", "))]")
        }
        // Written without `offset + count`, which a hostile recipe could overflow.
        guard offset >= 0, count >= 1, count <= shape[0], offset <= shape[0] - count else {
            throw TweedieError.badInput("--latents \(path): holds \(shape[0]) samples, the run needs \(count) "
                                        + "from sample \(offset)")
        }
        // A rank-3 tensor is one sample: all of its rows.
        let rows = info.shape.count == 3 ? 0..<info.shape[0] : offset..<(offset + count)
        return try file.tensor(tensorName, rows: rows).reshaped([count] + sampleShape)
    }
}
