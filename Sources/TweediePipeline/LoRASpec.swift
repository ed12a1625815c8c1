import Foundation
import TweedieCore
import TweedieModels

/// One `--lora FILE[:SCALE]` of the command line: a LoRA file (diffusers' layout) and its strength (default 1).
public struct LoRASpec: Equatable, Sendable {
    /// The file.
    public var path: String
    /// The strength the update is merged at (0: the base model).
    public var scale: Float

    /// A file at a strength.
    public init(path: String, scale: Float = 1) {
        self.path = path
        self.scale = scale
    }

    /// Parses `FILE` or `FILE:SCALE` (the last colon separates the scale when what follows is a number); a
    /// negative or non-finite scale is `badInput` naming the flag.
    public init(parsing text: String, flag: String = "--lora") throws {
        var path = text, scale: Float = 1
        if let colon = text.lastIndex(of: ":"), let v = Float(text[text.index(after: colon)...]) {
            path = String(text[..<colon])
            scale = v
        }
        guard !path.isEmpty else { throw TweedieError.badInput("\(flag) \(text): no file given (FILE or FILE:SCALE)") }
        guard scale.isFinite, scale >= 0 else {
            throw TweedieError.badInput("\(flag) \(text): the scale must be a finite number >= 0, got \(scale)")
        }
        self.path = path
        self.scale = scale
    }

    /// What a merged LoRA was: the file's name and SHA-256 and the strength (what image metadata records).
    public struct Applied: Codable, Equatable, Sendable {
        public var name: String
        public var sha256: String
        public var scale: Float

        public init(name: String, sha256: String, scale: Float) {
            self.name = name; self.sha256 = sha256; self.scale = scale
        }
    }

    /// Reads the file and merges it into `weights` (a network of `className`) at `scale`; a file that does not
    /// fit is `badInput` naming the flag, the file and the first layer that does not fit, and leaves the weights
    /// as they were.
    @discardableResult
    public func merge(into weights: ModelWeights, className: String?, flag: String = "--lora") throws -> Applied {
        let adapter = try LoRAAdapterFile.read(path)
        try adapter.merge(into: weights, scale: scale, className: className, source: "\(flag) \(path)")
        return Applied(name: (path as NSString).lastPathComponent, sha256: try SHA256.hex(fileAt: path), scale: scale)
    }
}

extension SamplingPipeline {
    /// Merges the LoRA `spec` into the network (see `LoRASpec.merge`) and records it for the images' metadata.
    public func addLoRA(_ spec: LoRASpec) throws {
        loras.append(try spec.merge(into: network.weights, className: networkClassName))
    }
}
