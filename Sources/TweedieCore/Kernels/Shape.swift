/// Joins tensors along `axis` (negative counts from the end); all other dimensions must agree.
public func concat(_ tensors: [Tensor], axis: Int) -> Tensor {
    precondition(!tensors.isEmpty, "concat: no tensors")
    let first = tensors[0]
    let ax = normalizedAxis(axis, rank: first.rank, "concat")
    for t in tensors {
        precondition(t.rank == first.rank && (0..<t.rank).allSatisfy { $0 == ax || t.shape[$0] == first.shape[$0] },
                     "concat: shape \(t.shape) does not match \(first.shape) off axis \(ax)")
    }
    var shape = first.shape
    shape[ax] = tensors.reduce(0) { $0 + $1.shape[ax] }
    let outer = first.shape[..<ax].reduce(1, *)
    let inner = first.shape[(ax + 1)...].reduce(1, *)
    let rowLength = shape[ax] * inner
    return Tensor(shape: shape) { out in
        guard let po = out.baseAddress else { return }
        var offset = 0
        for t in tensors {
            let piece = t.shape[ax] * inner
            t.withUnsafeBufferPointer { pt in
                guard let src = pt.baseAddress else { return }
                for o in 0..<outer { (po + o * rowLength + offset).update(from: src + o * piece, count: piece) }
            }
            offset += piece
        }
    }
}

/// Cuts `x` along `axis` into consecutive pieces of the given sizes, which must add up to that dimension.
public func split(_ x: Tensor, sizes: [Int], axis: Int) -> [Tensor] {
    let ax = normalizedAxis(axis, rank: x.rank, "split")
    precondition(sizes.allSatisfy { $0 >= 0 } && sizes.reduce(0, +) == x.shape[ax],
                 "split: sizes \(sizes) do not add up to dimension \(ax) of \(x.shape)")
    let outer = x.shape[..<ax].reduce(1, *)
    let inner = x.shape[(ax + 1)...].reduce(1, *)
    let rowLength = x.shape[ax] * inner
    var start = 0
    return x.withUnsafeBufferPointer { px in
        sizes.map { size in
            var shape = x.shape
            shape[ax] = size
            let piece = size * inner, offset = start * inner
            start += size
            return Tensor(shape: shape) { out in
                guard let po = out.baseAddress, let src = px.baseAddress else { return }
                for o in 0..<outer { (po + o * piece).update(from: src + o * rowLength + offset, count: piece) }
            }
        }
    }
}

/// Splits `x` along `axis` like `torch.chunk`: pieces of ceil(dim / parts) elements, the last one shorter,
/// so fewer than `parts` pieces come back when the dimension does not fill them all.
public func chunk(_ x: Tensor, _ parts: Int, axis: Int) -> [Tensor] {
    precondition(parts > 0, "chunk: \(parts) parts")
    let ax = normalizedAxis(axis, rank: x.rank, "chunk")
    let dim = x.shape[ax]
    let size = (dim + parts - 1) / parts
    guard size > 0 else { return [x] }
    let sizes = stride(from: 0, to: dim, by: size).map { min(size, dim - $0) }
    return split(x, sizes: sizes, axis: ax)
}

/// [N, C, H, W] → [N, H·W, C]: image feature maps as token sequences.
public func nchwToNLC(_ x: Tensor) -> Tensor {
    precondition(x.rank == 4, "nchwToNLC: input must be NCHW, got \(x.shape)")
    let (n, c, hw) = (x.shape[0], x.shape[1], x.shape[2] * x.shape[3])
    return batchedTranspose(x, batch: n, rows: c, cols: hw, shape: [n, hw, c])
}

/// [N, H·W, C] → [N, C, H, W]: token sequences back into image feature maps.
public func nlcToNCHW(_ x: Tensor, height: Int, width: Int) -> Tensor {
    precondition(x.rank == 3 && x.shape[1] == height * width,
                 "nlcToNCHW: input \(x.shape) is not [N, \(height)·\(width), C]")
    let (n, l, c) = (x.shape[0], x.shape[1], x.shape[2])
    return batchedTranspose(x, batch: n, rows: l, cols: c, shape: [n, c, height, width])
}

/// Transposes each [rows, cols] matrix of a batch, in cache-sized tiles spread over the workers.
func batchedTranspose(_ x: Tensor, batch: Int, rows: Int, cols: Int, shape: [Int]) -> Tensor {
    let tile = 32
    let rowTiles = (rows + tile - 1) / tile
    return Tensor(shape: shape) { out in
        guard let po = out.baseAddress else { return }
        x.withUnsafeBufferPointer { px in
            parallelFor(batch * rowTiles, grain: max(1, 64 * 1024 / max(1, tile * cols))) { task in
                let b = task / rowTiles, r0 = (task % rowTiles) * tile, r1 = min(rows, r0 + tile)
                let src = px.baseAddress! + b * rows * cols, dst = po + b * rows * cols
                var c0 = 0
                while c0 < cols {
                    let c1 = min(cols, c0 + tile)
                    for r in r0..<r1 {
                        for c in c0..<c1 { dst[c * rows + r] = src[r * cols + c] }
                    }
                    c0 = c1
                }
            }
        }
    }
}

/// Resolves a possibly negative axis against `rank`.
func normalizedAxis(_ axis: Int, rank: Int, _ op: String) -> Int {
    let ax = axis < 0 ? axis + rank : axis
    precondition(ax >= 0 && ax < rank, "\(op): axis \(axis) out of range for rank \(rank)")
    return ax
}
