import TweedieCore
import TweedieSamplers

/// The metadata form of `GenerationSettings`: snake_case keys, spelled out so names like `classID` survive the round
/// trip, with every registered guider parameter as a top-level key of its own (a new guider's keys appear without
/// edits here). Parameters absent from older metadata take their defaults; the other keys are required.
extension GenerationSettings {
    private struct Key: CodingKey {
        let stringValue: String
        init(_ s: String) { stringValue = s }
        init?(stringValue s: String) { stringValue = s }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        func required<T: Decodable>(_ k: String) throws -> T { try c.decode(T.self, forKey: Key(k)) }
        func optional<T: Decodable>(_ k: String) throws -> T? { try c.decodeIfPresent(T.self, forKey: Key(k)) }
        self.init()
        sampler = try required("sampler")
        steps = try required("steps")
        schedule = try required("schedule")
        sigmas = try optional("sigmas")
        eta = try optional("eta")
        guidance = try required("guidance")
        cfgScale = try required("cfg_scale")
        for p in GuiderRegistry.parameters {
            if let v: Float = try optional(p.key) { guidanceParameters[p.key] = v }
        }
        guidanceInterval = try optional("guidance_interval")
        rng = try required("rng")
        seed = try required("seed")
        classID = try optional("class")
        batchCount = try required("batch_count")
        startIndex = try required("start_index")
        latents = try optional("latents")
        latentsOffset = try required("latents_offset")
        embedding = try optional("embedding")
        precision = try optional("precision")
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(sampler, forKey: Key("sampler"))
        try c.encode(steps, forKey: Key("steps"))
        try c.encode(schedule, forKey: Key("schedule"))
        try c.encodeIfPresent(sigmas, forKey: Key("sigmas"))
        try c.encodeIfPresent(eta, forKey: Key("eta"))
        try c.encode(guidance, forKey: Key("guidance"))
        try c.encode(cfgScale, forKey: Key("cfg_scale"))
        for p in GuiderRegistry.parameters { try c.encode(guidanceParameter(p.key), forKey: Key(p.key)) }
        try c.encodeIfPresent(guidanceInterval, forKey: Key("guidance_interval"))
        try c.encode(rng, forKey: Key("rng"))
        try c.encode(seed, forKey: Key("seed"))
        try c.encodeIfPresent(classID, forKey: Key("class"))
        try c.encode(batchCount, forKey: Key("batch_count"))
        try c.encode(startIndex, forKey: Key("start_index"))
        try c.encodeIfPresent(latents, forKey: Key("latents"))
        try c.encode(latentsOffset, forKey: Key("latents_offset"))
        try c.encodeIfPresent(embedding, forKey: Key("embedding"))
        try c.encodeIfPresent(precision, forKey: Key("precision"))
    }
}
