/// Gradient of `upsampleNearest2x(x)`: each input pixel collects the four output pixels it was copied to.
/// `gradOutput` is [N, C, 2H, 2W]; returns [N, C, H, W].
public func upsampleNearest2xBackward(gradOutput dy: Tensor) -> Tensor {
    precondition(dy.rank == 4 && dy.shape[2] % 2 == 0 && dy.shape[3] % 2 == 0,
                 "upsampleNearest2xBackward: gradient must be [N, C, 2H, 2W], got \(dy.shape)")
    let planes = dy.shape[0] * dy.shape[1], h = dy.shape[2] / 2, w = dy.shape[3] / 2
    return Tensor(shape: [dy.shape[0], dy.shape[1], h, w]) { out in
        guard let po = out.baseAddress else { return }
        dy.withUnsafeBufferPointer { pd in
            GradLoops.tasks(planes, work: 4 * h * w) { p in
                let src = pd.baseAddress! + p * 4 * h * w, dst = po + p * h * w
                for i in 0..<h {
                    let r0 = src + 2 * i * 2 * w, r1 = r0 + 2 * w
                    for j in 0..<w { dst[i * w + j] = (r0[2 * j] + r0[2 * j + 1]) + (r1[2 * j] + r1[2 * j + 1]) }
                }
            }
        }
    }
}

/// Gradient of `avgPool2d(x, kernel:)` (stride = kernel): every pixel of a window receives dy / kernel²; rows and
/// columns beyond the last full window (dropped by the forward) get zero. Returns `inputShape`.
public func avgPool2dBackward(gradOutput dy: Tensor, inputShape: [Int], kernel: Int = 2) -> Tensor {
    precondition(inputShape.count == 4 && dy.rank == 4 && dy.shape[0] == inputShape[0]
                 && dy.shape[1] == inputShape[1] && dy.shape[2] == inputShape[2] / kernel
                 && dy.shape[3] == inputShape[3] / kernel,
                 "avgPool2dBackward: gradient \(dy.shape) for input \(inputShape), kernel \(kernel)")
    let planes = inputShape[0] * inputShape[1], h = inputShape[2], w = inputShape[3]
    let ho = dy.shape[2], wo = dy.shape[3]
    let inv = 1 / Float(kernel * kernel)
    return Tensor(shape: inputShape) { out in
        guard let po = out.baseAddress else { return }
        dy.withUnsafeBufferPointer { pd in
            GradLoops.tasks(planes, work: h * w) { p in
                let src = pd.baseAddress! + p * ho * wo, dst = po + p * h * w
                for i in 0..<h {
                    let row = dst + i * w
                    guard i / kernel < ho else { row.update(repeating: 0, count: w); continue }
                    let s = src + (i / kernel) * wo
                    for j in 0..<w { row[j] = j / kernel < wo ? s[j / kernel] * inv : 0 }
                }
            }
        }
    }
}
