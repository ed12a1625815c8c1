/// The engine's version, recorded in every image it writes.
public enum EngineVersion {
    /// Semantic version of the engine.
    public static let number = "0.1.0"
    /// "tweedie <version>", as image metadata records it.
    public static var string: String { "tweedie \(number)" }
}
