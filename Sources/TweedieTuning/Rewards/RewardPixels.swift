import TweedieCore

/// Conversions of model-range images ([-1, 1]) for rewards that read pixels as a PNG would hold them.
public enum RewardPixels {
    /// (x + 1) / 2 clamped to [0, 1], on the tape: values a PNG would clip get no gradient, so a reward cannot
    /// be raised by pushing pixels past the range the image can show.
    public static func unit(_ images: Variable) -> Variable {
        let t = images.tape
        return t.clamp(t.scale(t.add(images, t.constant(Tensor(shape: images.shape, repeating: 1))), 0.5), 0, 1)
    }

    /// `images` [N, C, H, W] checked for rank 4 and, when given, `channels`; `who` names the reward.
    public static func check(_ shape: [Int], channels: Int? = nil, who: String) throws {
        guard shape.count == 3, shape.allSatisfy({ $0 >= 1 }) else {
            throw TweedieError.badInput("reward \(who): samples must be [C, H, W], got \(shape)")
        }
        if let channels, shape[0] != channels {
            throw TweedieError.badInput("reward \(who): needs \(channels)-channel images, the model makes \(shape[0])")
        }
    }
}
