#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Sinusoidal timestep embedding [N, dim], operation for operation the Float32 arithmetic of diffusers'
/// `get_timestep_embedding`: frequencies exp(−ln(maxPeriod)·i / (dim/2 − downscaleFreqShift)), arguments
/// t·freq·scale, then [sin | cos] (or [cos | sin] with `flipSinToCos`); an odd `dim` gets a zero last column.
public func timestepEmbedding(_ timesteps: [Float], dim: Int, flipSinToCos: Bool, downscaleFreqShift: Float,
                              scale: Float = 1, maxPeriod: Float = 10000) -> Tensor {
    precondition(dim >= 0, "timestepEmbedding: dim \(dim)")
    let half = dim / 2
    // PyTorch rounds each step to Float32 (the Python scalars included), and its exp is correctly rounded
    // here; exp is therefore taken in Double and rounded.
    let logPeriod = Float(-log(Double(maxPeriod)))
    let denominator = Float(half) - downscaleFreqShift
    let frequencies = (0..<half).map { i in Float(exp(Double(logPeriod * Float(i) / denominator))) }
    return Tensor(shape: [timesteps.count, dim]) { out in
        guard let po = out.baseAddress else { return }
        for (row, t) in timesteps.enumerated() {
            let dst = po + row * dim
            let (sinAt, cosAt) = flipSinToCos ? (half, 0) : (0, half)
            for i in 0..<half {
                let arg = Double(scale * (t * frequencies[i]))
                dst[sinAt + i] = Float(sin(arg))
                dst[cosAt + i] = Float(cos(arg))
            }
            if dim % 2 == 1 { dst[dim - 1] = 0 }
        }
    }
}

/// Fixed 2-D sin-cos position embedding [gridSize², embedDim] of diffusers' `get_2d_sincos_pos_embed`
/// (as its patch embedders store it, in Float32). Token i·gridSize + j (row i, column j): the first half
/// of the channels encodes the column coordinate, the second half the row coordinate — diffusers' grid puts
/// w first — each coordinate being index / (gridSize / baseSize) / interpolationScale in Float32.
/// `embedDim` must be a multiple of 4.
public func sincos2DPositionalEmbedding(embedDim: Int, gridSize: Int, baseSize: Int,
                                        interpolationScale: Float) -> Tensor {
    precondition(embedDim % 4 == 0, "sincos2DPositionalEmbedding: embedDim \(embedDim) is not a multiple of 4")
    precondition(gridSize >= 0 && baseSize > 0, "sincos2DPositionalEmbedding: grid \(gridSize), base \(baseSize)")
    let density = Float(Double(gridSize) / Double(baseSize))
    let coordinates = (0..<gridSize).map { i in Double(Float(i) / density / interpolationScale) }
    // One axis' embedding uses embedDim/2 channels: sin and cos of embedDim/4 frequencies, in Float64
    // as diffusers computes them.
    let axisDim = embedDim / 2, quarter = embedDim / 4
    let omega = (0..<quarter).map { i in 1 / pow(10000, Double(i) / (Double(axisDim) / 2)) }
    return Tensor(shape: [gridSize * gridSize, embedDim]) { out in
        guard let po = out.baseAddress else { return }
        for i in 0..<gridSize {
            for j in 0..<gridSize {
                let dst = po + (i * gridSize + j) * embedDim
                for (offset, position) in [(0, coordinates[j]), (axisDim, coordinates[i])] {
                    for f in 0..<quarter {
                        let arg = position * omega[f]
                        dst[offset + f] = Float(sin(arg))
                        dst[offset + quarter + f] = Float(cos(arg))
                    }
                }
            }
        }
    }
}

/// Row lookup: the rows of `table` [V, D] at `indices`, as [indices.count, D]. Every index must be in 0..<V.
public func embedding(_ indices: [Int], table: Tensor) -> Tensor {
    precondition(table.rank == 2, "embedding: table must be [V, D], got \(table.shape)")
    let (v, d) = (table.shape[0], table.shape[1])
    return Tensor(shape: [indices.count, d]) { out in
        guard let po = out.baseAddress else { return }
        table.withUnsafeBufferPointer { pt in
            for (row, index) in indices.enumerated() {
                precondition(index >= 0 && index < v, "embedding: index \(index) outside a table of \(v) rows")
                (po + row * d).update(from: pt.baseAddress! + index * d, count: d)
            }
        }
    }
}
