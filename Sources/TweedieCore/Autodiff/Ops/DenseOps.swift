// Differentiable dense layers: linear and 2-D convolution (strided convolutions are the downsamplers).

extension Tape {
    /// Differentiable `linear`: y = x·Wᵀ + b over the last dimension (x [..., in], weight [out, in], bias [out]).
    public func linear(_ x: Variable, _ weight: Variable, _ bias: Variable? = nil) -> Variable {
        let y = TweedieCore.linear(x.value, weight: weight.value, bias: bias?.value)
        // Each operand is kept only if the other's gradient needs it (frozen weights keep no activations).
        let xv = weight.requiresGrad ? x.value : nil, wv = x.requiresGrad ? weight.value : nil
        let xShape = x.shape, wShape = weight.shape
        let xid = x.id, wid = weight.id, bid = bias?.id
        return record(y, inputs: [x, weight] + (bias.map { [$0] } ?? [])) { g, tape in
            let r = linearGradients(g, input: xv, inputShape: xShape, weight: wv, weightShape: wShape,
                                    needBias: bid.map(tape.needsGradient) ?? false)
            if let gx = r.input { tape.accumulate(xid, gx) }
            if let gw = r.weight { tape.accumulate(wid, gw) }
            if let bid, let gb = r.bias { tape.accumulate(bid, gb) }
        }
    }

    /// Differentiable `conv2d` (NCHW, weight [O, I, kh, kw], bias [O], zero padding on all sides).
    public func conv2d(_ x: Variable, _ weight: Variable, _ bias: Variable? = nil, stride: Int = 1,
                       padding: Int = 0) -> Variable {
        let y = TweedieCore.conv2d(x.value, weight: weight.value, bias: bias?.value, stride: stride,
                                   padding: padding, constantWeights: !weight.requiresGrad)
        let xv = weight.requiresGrad ? x.value : nil, wv = x.requiresGrad ? weight.value : nil
        let xShape = x.shape, wShape = weight.shape
        let xid = x.id, wid = weight.id, bid = bias?.id
        return record(y, inputs: [x, weight] + (bias.map { [$0] } ?? [])) { g, tape in
            let r = conv2dGradients(g, input: xv, inputShape: xShape, weight: wv, weightShape: wShape,
                                    stride: stride, padding: padding, needBias: bid.map(tape.needsGradient) ?? false)
            if let gx = r.input { tape.accumulate(xid, gx) }
            if let gw = r.weight { tape.accumulate(wid, gw) }
            if let bid, let gb = r.bias { tape.accumulate(bid, gb) }
        }
    }
}
