import TweedieCore

/// diffusers' ResnetBlock2D: norm1 -> act -> [resample] -> conv1 -> time conditioning -> norm2 -> act -> conv2,
/// plus the (optionally 1x1-projected, equally resampled) input, divided by `output_scale_factor`.
public struct ResnetBlock2D {
    /// How the time embedding enters: added before norm2 ("default") or as scale/shift after it ("scale_shift").
    public enum TimeConditioning: String { case `default`, scaleShift = "scale_shift" }
    /// Resampling inside the block (diffusers' `up=True` / `down=True` without an FIR kernel).
    public enum Resample { case none, up, down }

    /// diffusers name of the block.
    public let prefix: String
    let norm1: GroupNorm
    let conv1: Conv2d
    let timeProj: Linear?
    let norm2: GroupNorm
    let conv2: Conv2d
    let shortcut: Conv2d?
    let act: Activation
    let conditioning: TimeConditioning
    let resample: Resample
    let outputScale: Float

    /// Static settings shared by the resnets of one network.
    public struct Settings {
        var groups: Int
        var eps: Float
        var act: Activation
        var conditioning: TimeConditioning
        /// Width of the time embedding, nil for the VAE's unconditioned resnets.
        var tembChannels: Int?
        var outputScale: Float = 1
    }

    /// Channels between conv1 and conv2 (the output width unless pruned by whole norm groups).
    public let innerChannels: Int
    /// Channels per group of norm2 (the config's `out / norm_num_groups`).
    public let channelsPerGroup: Int

    /// Loads the block at `prefix` mapping `inChannels` to `outChannels`.
    public init(_ l: WeightLoader, _ prefix: String, in inChannels: Int, out outChannels: Int,
                settings s: Settings, resample: Resample = .none) throws {
        norm1 = try GroupNorm(l, prefix + ".norm1", channels: inChannels, groups: s.groups, eps: s.eps)
        // The inner width comes from the tensors: pruning removes whole norm2 groups, so each kept group keeps its
        // statistics and the narrowed block computes what the gated one did.
        let perGroup = outChannels / s.groups
        let inner = l.storedDimension(prefix + ".conv1.weight", axis: 0, expected: [outChannels, inChannels, 3, 3])
        // 0 channels: the block's inner path was pruned whole and contributes conv2's bias (`prunedMap`).
        guard inner >= 0, inner % perGroup == 0 else {
            throw TweedieError.badInput("\(l.store.source.path): tensor '\(prefix).conv1.weight' has \(inner) output "
                                        + "channels, not whole groups of \(perGroup)")
        }
        conv1 = try Conv2d(l, prefix + ".conv1", in: inChannels, out: inner, kernel: 3, padding: 1)
        if let t = s.tembChannels {
            let width = s.conditioning == .scaleShift ? 2 * inner : inner
            timeProj = try Linear(l, prefix + ".time_emb_proj", in: t, out: width)
        } else {
            timeProj = nil
        }
        // One (empty) group when pruned whole: its zero-size tensors load, and it never runs.
        norm2 = try GroupNorm(l, prefix + ".norm2", channels: inner, groups: max(inner / perGroup, 1), eps: s.eps)
        conv2 = try Conv2d(l, prefix + ".conv2", in: inner, out: outChannels, kernel: 3, padding: 1)
        innerChannels = inner
        channelsPerGroup = perGroup
        shortcut = inChannels != outChannels
            ? try Conv2d(l, prefix + ".conv_shortcut", in: inChannels, out: outChannels, kernel: 1) : nil
        self.prefix = prefix
        act = s.act
        conditioning = s.conditioning
        self.resample = resample
        outputScale = s.outputScale
    }

    /// x [N, Cin, H, W]; `activatedTemb` is act(temb) [N, T] (shared by all resnets of a network, so it is
    /// computed once by the caller), nil when the block has no time projection.
    public func callAsFunction(_ s: ForwardScope, _ x: Variable, activatedTemb: Variable?) -> Variable {
        let t = s.tape
        if innerChannels == 0 { return pruned(s, x) }
        var input = x
        var h = act(t, norm1(s, x))
        switch resample {
        case .none: break
        case .up:
            input = t.upsampleNearest2x(input)
            h = t.upsampleNearest2x(h)
        case .down:
            input = t.avgPool2d(input, kernel: 2)
            h = t.avgPool2d(h, kernel: 2)
        }
        h = conv1(s, h)
        var proj: Variable? = nil
        if let timeProj {
            guard let activatedTemb else { preconditionFailure("ResnetBlock2D: time embedding missing") }
            proj = timeProj(s, activatedTemb)
        }
        switch conditioning {
        case .default:
            if let proj { h = t.addChannelBias(h, proj) }
            h = norm2(s, h)
        case .scaleShift:
            h = norm2(s, h)
            if let proj {
                let parts = t.chunk(proj, 2, axis: 1)
                h = t.scaleShiftChannels(h, scale: parts[0], shift: parts[1])
            }
        }
        h = conv2(s, act(t, h))
        if let shortcut { input = shortcut(s, input) }
        return t.addDivided(input, h, divisor: outputScale)
    }

    /// The block with its inner path pruned whole: the (resampled, projected) input plus conv2's bias.
    private func pruned(_ s: ForwardScope, _ x: Variable) -> Variable {
        let t = s.tape
        var input = x
        switch resample {
        case .none: break
        case .up: input = t.upsampleNearest2x(input)
        case .down: input = t.avgPool2d(input, kernel: 2)
        }
        if let shortcut { input = shortcut(s, input) }
        return t.addDivided(input, s.prunedMap(conv2.prefix, shape: input.shape), divisor: outputScale)
    }
}
