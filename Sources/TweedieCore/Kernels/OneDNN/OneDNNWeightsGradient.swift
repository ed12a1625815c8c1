import CDNNL

/// One oneDNN convolution weights-gradient primitive (dW = Σ_n dY_n ⋆ x_n, and db = Σ dY), built once per shape:
/// the kernel in the layouts it prefers, the reorders from Tweedie's NCHW input and output gradient into them, and
/// the reorder of dW back to [O, I, kh, kw]. It replaces im2col + one SGEMM per sample in training, where those
/// GEMMs (few output channels, long planes) ran well below the GEMM rate.
final class OneDNNWeightsGradient {
    let shape: ConvolutionShape
    /// oneDNN's name for the kernel it chose (e.g. "jit:avx512_core").
    let implementation: String
    /// Bytes of the blocked copies of x, dY and dW (0 where the primitive reads or writes the plain layout).
    let sourceBytes, gradientBytes, weightsBytes: Int

    private let runtime: OneDNNRuntime
    private let primitive: dnnl_primitive_t
    private let sourceReorder, gradientReorder, weightsReorder: dnnl_primitive_t?
    private let userSource, source, userGradient, gradient, userWeights, weights: dnnl_memory_t
    private let bias: dnnl_memory_t?

    /// nil when oneDNN has no backward-weights kernel for the shape; the caller then keeps to im2col.
    init?(_ s: ConvolutionShape, runtime: OneDNNRuntime) {
        shape = s
        self.runtime = runtime
        var anySource = OneDNNRuntime.descriptor(s.sourceDims, dnnl_format_tag_any)
        var anyGradient = OneDNNRuntime.descriptor(s.outputDims, dnnl_format_tag_any)
        var anyWeights = OneDNNRuntime.descriptor(s.weightDims, dnnl_format_tag_any)
        var biasDescriptor = OneDNNRuntime.descriptor([s.outChannels], dnnl_a)
        let strides: [Int64] = [Int64(s.stride), Int64(s.stride)], pads: [Int64] = [Int64(s.padding), Int64(s.padding)]
        // oneDNN builds a backward primitive against the forward training primitive it would pair with (the hint).
        guard var forward = s.forwardDescriptor(dnnl_forward_training, source: anySource, weights: anyWeights,
                                                output: anyGradient) else { return nil }
        var hint: dnnl_primitive_desc_t?
        guard dnnl_primitive_desc_create(&hint, &forward, nil, runtime.engine, nil) == dnnl_success, let hint else {
            return nil
        }
        defer { dnnl_primitive_desc_destroy(hint) }
        var desc = dnnl_convolution_desc_t()
        let status = s.hasBias
            ? dnnl_convolution_backward_weights_desc_init(&desc, dnnl_convolution_direct, &anySource, &anyWeights,
                                                          &biasDescriptor, &anyGradient, strides, pads, pads)
            : dnnl_convolution_backward_weights_desc_init(&desc, dnnl_convolution_direct, &anySource, &anyWeights,
                                                          nil, &anyGradient, strides, pads, pads)
        guard status == dnnl_success else { return nil }
        var pd: dnnl_primitive_desc_t?
        guard dnnl_primitive_desc_create(&pd, &desc, nil, runtime.engine, hint) == dnnl_success, let pd else { return nil }
        defer { dnnl_primitive_desc_destroy(pd) }
        var made: dnnl_primitive_t?
        guard dnnl_primitive_create(&made, pd) == dnnl_success, let made else { return nil }
        primitive = made
        var name: UnsafePointer<CChar>?
        dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name)
        implementation = name.map { String(cString: $0) } ?? "?"

        let plainSource = OneDNNRuntime.descriptor(s.sourceDims, dnnl_nchw)
        let plainGradient = OneDNNRuntime.descriptor(s.outputDims, dnnl_nchw)
        let plainWeights = OneDNNRuntime.descriptor(s.weightDims, dnnl_oihw)
        let chosenSource = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0)!.pointee
        let chosenGradient = dnnl_primitive_desc_query_md(pd, dnnl_query_diff_dst_md, 0)!.pointee
        let chosenWeights = dnnl_primitive_desc_query_md(pd, dnnl_query_diff_weights_md, 0)!.pointee
        sourceReorder = runtime.reorder(plainSource, chosenSource)
        gradientReorder = runtime.reorder(plainGradient, chosenGradient)
        weightsReorder = runtime.reorder(chosenWeights, plainWeights)
        var cs = chosenSource, cg = chosenGradient, cw = chosenWeights
        sourceBytes = sourceReorder == nil ? 0 : dnnl_memory_desc_get_size(&cs)
        gradientBytes = gradientReorder == nil ? 0 : dnnl_memory_desc_get_size(&cg)
        weightsBytes = weightsReorder == nil ? 0 : dnnl_memory_desc_get_size(&cw)
        guard let us = runtime.memory(plainSource), let src = runtime.memory(chosenSource),
              let ug = runtime.memory(plainGradient), let g = runtime.memory(chosenGradient),
              let uw = runtime.memory(plainWeights), let w = runtime.memory(chosenWeights) else { return nil }
        (userSource, source, userGradient, gradient, userWeights, weights) = (us, src, ug, g, uw, w)
        bias = s.hasBias ? runtime.memory(biasDescriptor) : nil
    }

    /// dW [O, I, kh, kw] (overwritten) and, when the shape has a bias, db [O] from x [N, I, H, W] and dY
    /// [N, O, Ho, Wo]; the scratch buffers hold `sourceBytes`, `gradientBytes` and `weightsBytes`.
    func run(input x: UnsafePointer<Float>, gradOutput dy: UnsafePointer<Float>, weightGradient dw: UnsafeMutablePointer<Float>,
             biasGradient db: UnsafeMutablePointer<Float>?, sourceScratch: UnsafeMutableRawPointer,
             gradientScratch: UnsafeMutableRawPointer, weightsScratch: UnsafeMutableRawPointer) {
        bind(userSource, x)
        if let sourceReorder {
            bind(source, sourceScratch)
            runtime.execute(sourceReorder, (TWEEDIE_DNNL_ARG_FROM, userSource), (TWEEDIE_DNNL_ARG_TO, source))
        }
        bind(userGradient, dy)
        if let gradientReorder {
            bind(gradient, gradientScratch)
            runtime.execute(gradientReorder, (TWEEDIE_DNNL_ARG_FROM, userGradient), (TWEEDIE_DNNL_ARG_TO, gradient))
        }
        bind(userWeights, dw)
        if weightsReorder != nil { bind(weights, weightsScratch) }
        var biasArgument: OneDNNRuntime.Argument?
        if let bias, let db {
            bind(bias, db)
            biasArgument = (TWEEDIE_DNNL_ARG_DIFF_BIAS, bias)
        }
        runtime.execute(primitive, (TWEEDIE_DNNL_ARG_SRC, sourceReorder == nil ? userSource : source),
                        (TWEEDIE_DNNL_ARG_DIFF_DST, gradientReorder == nil ? userGradient : gradient),
                        (TWEEDIE_DNNL_ARG_DIFF_WEIGHTS, weightsReorder == nil ? userWeights : weights), biasArgument)
        if let weightsReorder {
            runtime.execute(weightsReorder, (TWEEDIE_DNNL_ARG_FROM, weights), (TWEEDIE_DNNL_ARG_TO, userWeights))
        }
        runtime.wait()
    }
}
