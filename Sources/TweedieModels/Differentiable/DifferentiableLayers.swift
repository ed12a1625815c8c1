import TweedieCore

/// A network's parameters on one tape, looked up by diffusers name. The differentiable model checks the table
/// against its parameter list before a forward pass, so a lookup inside the layers cannot miss.
struct TapeParameters {
    let values: [String: Variable]

    subscript(_ name: String) -> Variable {
        guard let v = values[name] else { preconditionFailure("parameter '\(name)' missing after validation") }
        return v
    }

    /// A parameter the architecture may leave out (biases switched off in the config).
    func optional(_ name: String) -> Variable? { values[name] }
}

/// The layers of diffusers' UNet2DModel written over the tape, mirroring the inference layers in Layers/ op by op
/// (same kernels, same order), so values agree with the inference model to rounding.
enum TapeLayers {
    static func conv(_ t: Tape, _ p: TapeParameters, _ prefix: String, _ x: Variable, stride: Int = 1,
                     padding: Int = 0) -> Variable {
        t.conv2d(x, p[prefix + ".weight"], p[prefix + ".bias"], stride: stride, padding: padding)
    }

    static func linear(_ t: Tape, _ p: TapeParameters, _ prefix: String, _ x: Variable) -> Variable {
        t.linear(x, p[prefix + ".weight"], p[prefix + ".bias"])
    }

    static func groupNorm(_ t: Tape, _ p: TapeParameters, _ prefix: String, _ x: Variable, groups: Int,
                          eps: Float) -> Variable {
        t.groupNorm(x, groups: groups, weight: p[prefix + ".weight"], bias: p[prefix + ".bias"], eps: eps)
    }

    static func activation(_ t: Tape, _ act: Activation, _ x: Variable) -> Variable {
        switch act {
        case .silu: return t.silu(x)
        case .gelu: return t.gelu(x, approximate: false)
        case .geluTanh: return t.gelu(x, approximate: true)
        }
    }

    /// (a + b) / divisor, as diffusers' residual sums with `output_scale_factor`.
    static func addDivided(_ t: Tape, _ a: Variable, _ b: Variable, _ divisor: Float) -> Variable {
        divisor == 1 ? t.add(a, b) : t.scale(t.add(a, b), 1 / divisor)
    }

    /// Static shape of one ResnetBlock2D.
    struct Resnet {
        var inChannels: Int
        var outChannels: Int
        var groups: Int
        var eps: Float
        var act: Activation
        var conditioning: ResnetBlock2D.TimeConditioning
        var outputScale: Float
        var resample: ResnetBlock2D.Resample = .none
    }

    /// diffusers' ResnetBlock2D; `temb` is act(time embedding) [N, T].
    static func resnet(_ t: Tape, _ p: TapeParameters, _ prefix: String, _ s: Resnet, _ x: Variable,
                       temb: Variable) -> Variable {
        var input = x
        var h = activation(t, s.act, groupNorm(t, p, prefix + ".norm1", x, groups: s.groups, eps: s.eps))
        switch s.resample {
        case .none: break
        case .up:
            input = t.upsampleNearest2x(input)
            h = t.upsampleNearest2x(h)
        case .down:
            input = t.avgPool2d(input, kernel: 2)
            h = t.avgPool2d(h, kernel: 2)
        }
        h = conv(t, p, prefix + ".conv1", h, padding: 1)
        let proj = linear(t, p, prefix + ".time_emb_proj", temb)
        switch s.conditioning {
        case .default:
            h = groupNorm(t, p, prefix + ".norm2", t.addChannelBias(h, proj), groups: s.groups, eps: s.eps)
        case .scaleShift:
            h = groupNorm(t, p, prefix + ".norm2", h, groups: s.groups, eps: s.eps)
            let parts = t.chunk(proj, 2, axis: 1)
            let height = h.shape[2], width = h.shape[3]
            h = t.nlcToNCHW(t.modulate(t.nchwToNLC(h), shift: parts[1], scale: parts[0]),
                            height: height, width: width)
        }
        h = conv(t, p, prefix + ".conv2", activation(t, s.act, h), padding: 1)
        if s.inChannels != s.outChannels { input = conv(t, p, prefix + ".conv_shortcut", input) }
        return addDivided(t, input, h, s.outputScale)
    }

    /// Static shape of one spatial self-attention.
    struct Attention {
        var heads: Int
        /// Group count of the norm before it; nil for none.
        var groups: Int?
        var eps: Float
        var rescale: Float
    }

    /// diffusers' Attention over the H·W tokens with residual connection and `rescale_output_factor`.
    static func attention(_ t: Tape, _ p: TapeParameters, _ prefix: String, _ s: Attention,
                          _ x: Variable) -> Variable {
        let h = x.shape[2], w = x.shape[3]
        let normed = s.groups.map { groupNorm(t, p, prefix + ".group_norm", x, groups: $0, eps: s.eps) } ?? x
        let tokens = t.nchwToNLC(normed)
        let a = t.attention(q: linear(t, p, prefix + ".to_q", tokens), k: linear(t, p, prefix + ".to_k", tokens),
                            v: linear(t, p, prefix + ".to_v", tokens), heads: s.heads)
        return addDivided(t, t.nlcToNCHW(linear(t, p, prefix + ".to_out.0", a), height: h, width: w), x, s.rescale)
    }

    /// Downsample2D: stride-2 3x3 convolution; padding 0 pads bottom and right by one first.
    static func downsample(_ t: Tape, _ p: TapeParameters, _ prefix: String, _ x: Variable,
                           padding: Int) -> Variable {
        let input = padding == 0 ? t.pad2d(x, left: 0, right: 1, top: 0, bottom: 1) : x
        return conv(t, p, prefix + ".conv", input, stride: 2, padding: padding)
    }

    /// Upsample2D: nearest 2x, then a 3x3 convolution.
    static func upsample(_ t: Tape, _ p: TapeParameters, _ prefix: String, _ x: Variable) -> Variable {
        conv(t, p, prefix + ".conv", t.upsampleNearest2x(x), padding: 1)
    }
}
