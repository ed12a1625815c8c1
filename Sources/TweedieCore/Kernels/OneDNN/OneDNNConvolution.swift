import CDNNL

/// The shape of one convolution call: what a oneDNN primitive is built for.
struct ConvolutionShape: Hashable {
    let batch, channels, height, width, outChannels, kh, kw, stride, padding: Int
    let hasBias: Bool
    /// The element type the kernel reads input and weights in (the output is Float32 either way).
    var precision: ComputePrecision = .float32
    var outHeight: Int { (height + 2 * padding - kh) / stride + 1 }
    var outWidth: Int { (width + 2 * padding - kw) / stride + 1 }
    var sourceDims: [Int] { [batch, channels, height, width] }
    var outputDims: [Int] { [batch, outChannels, outHeight, outWidth] }
    var weightDims: [Int] { [outChannels, channels, kh, kw] }

    /// A forward convolution descriptor of this shape (stride, symmetric padding, a Float32 bias when `hasBias`)
    /// over the given layouts, for `kind` (inference, or training as a backward primitive's hint); nil when
    /// oneDNN rejects it.
    func forwardDescriptor(_ kind: dnnl_prop_kind_t, source: dnnl_memory_desc_t, weights: dnnl_memory_desc_t,
                           output: dnnl_memory_desc_t) -> dnnl_convolution_desc_t? {
        var src = source, wei = weights, dst = output, bias = OneDNNRuntime.descriptor([outChannels], dnnl_a)
        let strides: [Int64] = [Int64(stride), Int64(stride)], pads: [Int64] = [Int64(padding), Int64(padding)]
        var desc = dnnl_convolution_desc_t()
        let status = withUnsafePointer(to: &bias) { pb in
            dnnl_convolution_forward_desc_init(&desc, kind, dnnl_convolution_direct, &src, &wei, hasBias ? pb : nil,
                                               &dst, strides, pads, pads)
        }
        return status == dnnl_success ? desc : nil
    }
}

/// One oneDNN forward convolution, built once per shape: the primitive with the layouts it prefers (`format_any`,
/// typically channel-blocked nChw16c / OIhw16i16o on AVX-512 and 8c on AVX2), the reorders between those and
/// Tweedie's NCHW tensors, and a memory object per operand that each call points at its buffers.
final class OneDNNConvolution {
    let shape: ConvolutionShape
    /// oneDNN's name for the kernel it chose (e.g. "brg:avx512_core", "jit:avx2").
    let implementation: String
    /// The weights' layout as the primitive reads them, and its size in bytes.
    let weightsDescriptor: dnnl_memory_desc_t
    let weightsBytes: Int
    /// Bytes of the blocked input and output buffers when they differ from NCHW (0 when no reorder is needed).
    let sourceBytes, destinationBytes: Int

    private let runtime: OneDNNRuntime
    private let convolution: dnnl_primitive_t
    private let sourceReorder, destinationReorder, weightsReorder: dnnl_primitive_t?
    private let userSource, source, userDestination, destination, userWeights, weights: dnnl_memory_t
    private let bias: dnnl_memory_t?

    /// nil when oneDNN has no implementation for the shape; the caller then runs im2col.
    init?(_ s: ConvolutionShape, runtime: OneDNNRuntime) {
        shape = s
        self.runtime = runtime
        let plainSource = OneDNNRuntime.descriptor(s.sourceDims, dnnl_nchw)
        let plainDestination = OneDNNRuntime.descriptor(s.outputDims, dnnl_nchw)
        let plainWeights = OneDNNRuntime.descriptor(s.weightDims, dnnl_oihw)
        // BF16 reads input and weights as bfloat16 (the reorders round them) and accumulates into a Float32 output.
        let type = s.precision == .bfloat16 ? dnnl_bf16 : dnnl_f32
        guard var desc = s.forwardDescriptor(dnnl_forward_inference,
                                             source: OneDNNRuntime.descriptor(s.sourceDims, dnnl_format_tag_any, type),
                                             weights: OneDNNRuntime.descriptor(s.weightDims, dnnl_format_tag_any, type),
                                             output: OneDNNRuntime.descriptor(s.outputDims, dnnl_format_tag_any))
        else { return nil }
        var pd: dnnl_primitive_desc_t?
        guard dnnl_primitive_desc_create(&pd, &desc, nil, runtime.engine, nil) == dnnl_success, let pd else { return nil }
        defer { dnnl_primitive_desc_destroy(pd) }
        var primitive: dnnl_primitive_t?
        guard dnnl_primitive_create(&primitive, pd) == dnnl_success, let primitive else { return nil }
        convolution = primitive
        var name: UnsafePointer<CChar>?
        dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name)
        implementation = name.map { String(cString: $0) } ?? "?"

        let chosenSource = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0)!.pointee
        let chosenDestination = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0)!.pointee
        weightsDescriptor = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0)!.pointee
        var w = weightsDescriptor
        weightsBytes = dnnl_memory_desc_get_size(&w)
        sourceReorder = runtime.reorder(plainSource, chosenSource)
        destinationReorder = runtime.reorder(chosenDestination, plainDestination)
        weightsReorder = runtime.reorder(plainWeights, weightsDescriptor)
        var cs = chosenSource, cd = chosenDestination
        sourceBytes = sourceReorder == nil ? 0 : dnnl_memory_desc_get_size(&cs)
        destinationBytes = destinationReorder == nil ? 0 : dnnl_memory_desc_get_size(&cd)
        guard let us = runtime.memory(plainSource), let src = runtime.memory(chosenSource),
              let ud = runtime.memory(plainDestination), let dst = runtime.memory(chosenDestination),
              let uw = runtime.memory(plainWeights), let wm = runtime.memory(weightsDescriptor) else { return nil }
        (userSource, source, userDestination, destination, userWeights, weights) = (us, src, ud, dst, uw, wm)
        bias = s.hasBias ? runtime.memory(OneDNNRuntime.descriptor([s.outChannels], dnnl_a)) : nil
    }

    /// Writes the weights [O, I, kh, kw] in the primitive's layout to `into` (`weightsBytes` bytes).
    func prepareWeights(_ plain: UnsafePointer<Float>, into: UnsafeMutableRawPointer) {
        guard let weightsReorder else {
            into.copyMemory(from: plain, byteCount: weightsBytes)
            return
        }
        bind(userWeights, plain)
        bind(weights, into)
        runtime.execute(weightsReorder, (TWEEDIE_DNNL_ARG_FROM, userWeights), (TWEEDIE_DNNL_ARG_TO, weights))
        runtime.wait()
    }

    /// out[N, O, Ho, Wo] = conv(x[N, I, H, W]) with weights already in the primitive's layout; `sourceScratch` and
    /// `destinationScratch` hold `sourceBytes` and `destinationBytes` for the blocked copies.
    func run(_ x: UnsafePointer<Float>, preparedWeights: UnsafeRawPointer, bias b: UnsafePointer<Float>?,
             out: UnsafeMutablePointer<Float>, sourceScratch: UnsafeMutableRawPointer,
             destinationScratch: UnsafeMutableRawPointer) {
        bind(userSource, x)
        if let sourceReorder {
            bind(source, sourceScratch)
            runtime.execute(sourceReorder, (TWEEDIE_DNNL_ARG_FROM, userSource), (TWEEDIE_DNNL_ARG_TO, source))
        }
        bind(weights, preparedWeights)
        bind(userDestination, out)
        if destinationReorder != nil { bind(destination, destinationScratch) }
        var biasArgument: OneDNNRuntime.Argument?
        if let bias, let b {
            bind(bias, b)
            biasArgument = (TWEEDIE_DNNL_ARG_BIAS, bias)
        }
        runtime.execute(convolution, (TWEEDIE_DNNL_ARG_SRC, sourceReorder == nil ? userSource : source),
                        (TWEEDIE_DNNL_ARG_WEIGHTS, weights),
                        (TWEEDIE_DNNL_ARG_DST, destinationReorder == nil ? userDestination : destination), biasArgument)
        if let destinationReorder {
            runtime.execute(destinationReorder, (TWEEDIE_DNNL_ARG_FROM, destination),
                            (TWEEDIE_DNNL_ARG_TO, userDestination))
        }
        runtime.wait()
    }
}
