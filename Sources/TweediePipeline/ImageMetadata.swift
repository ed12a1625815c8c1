import Foundation
import TweedieCore
import TweedieImaging
import TweedieSamplers

/// The text chunks `tweedie generate` writes into its PNGs and reads back for `--from` and `tweedie info`:
/// `parameters` in the AUTOMATIC1111 web UI's format (a first line naming the class, then "Key: value, ..."), and
/// `tweedie` holding the `ImageRecipe` JSON.
public enum ImageMetadata {
    /// Key of the A1111-style summary chunk.
    public static let parametersKey = "parameters"
    /// Key of the recipe chunk.
    public static let recipeKey = "tweedie"

    /// The A1111-style text, e.g. "class: 3 (Dress)\nSteps: 20, Sampler: euler_a, Schedule type: karras, CFG scale:
    /// 3, Seed: 42, Size: 32x32, Model hash: 0123456789, Model: fashion32, Guidance: apg, ...".
    /// `labels` names the class (nil: unnamed).
    public static func parameters(_ r: ImageRecipe, label: String?) -> String {
        let s = r.settings
        var head = "unconditional"
        if let c = s.classID { head = "class: \(c)" + (label.map { " (\($0))" } ?? "") }
        var fields: [(String, String)] = [
            ("Steps", "\(s.steps)"), ("Sampler", s.sampler), ("Schedule type", s.schedule),
        ]
        if let sig = s.sigmas { fields.append(("Sigmas", sig.map(number).joined(separator: " "))) }
        if s.guidance != "none" { fields.append(("CFG scale", number(s.cfgScale))) }
        fields += [("Seed", "\(s.seed)"), ("Size", "\(r.width)x\(r.height)"),
                   ("Model hash", String(r.model.weightsSHA256.prefix(10))), ("Model", r.model.name),
                   ("Guidance", s.guidance)]
        // Every parameter of the guider in use (e.g. APG eta, momentum, norm threshold), by its registered label.
        if let guider = try? GuiderRegistry.description(named: s.guidance) {
            fields += guider.parameters.map { ($0.label, number(s.guidanceParameter($0.key))) }
        }
        if let iv = s.guidanceInterval, s.guidance != "none" {
            fields.append(("Guidance interval", "\(number(iv[0]))-\(number(iv[1]))"))
        }
        if let e = s.eta { fields.append(("Eta", number(e))) }
        fields.append(("RNG", s.rng))
        if let p = s.precision { fields.append(("Precision", p)) }
        if let l = s.latents { fields.append(("Latents", "\((l as NSString).lastPathComponent)[\(s.latentsOffset)]")) }
        if let loras = r.loras {
            // A1111's field: each file's stem and the first 10 hex digits of its hash (the strengths are below).
            fields.append(("Lora hashes", "\"" + loras.map {
                "\(($0.name as NSString).deletingPathExtension): \($0.sha256.prefix(10))"
            }.joined(separator: ", ") + "\""))
            fields.append(("Lora scales", loras.map { number($0.scale) }.joined(separator: " ")))
        }
        if let e = s.embedding {
            fields.append(("Embedding", "\((e as NSString).lastPathComponent)"
                           + (r.model.embeddingSHA256.map { " (\($0.prefix(10)))" } ?? "")))
        }
        fields.append(("Version", r.engine))
        return head + "\n" + fields.map { "\($0.0): \($0.1)" }.joined(separator: ", ")
    }

    /// Both chunks for an image.
    public static func textChunks(_ r: ImageRecipe, label: String?) throws -> [(key: String, value: String)] {
        [(parametersKey, parameters(r, label: label)), (recipeKey, try r.json())]
    }

    /// The recipe stored in the PNG at `path`; a PNG without one is `badInput`.
    public static func recipe(fromPNGAt path: String) throws -> ImageRecipe {
        let text = try PNGImage.read(path: path).text
        guard let json = textValue(recipeKey, in: text) else {
            throw TweedieError.badInput("\(path): no tweedie metadata chunk (not made by tweedie generate, or made "
                                        + "with --disable-image-metadata)")
        }
        return try ImageRecipe(json: json, source: path)
    }

    /// A human-readable account of a PNG's metadata for `tweedie info img.png`: size, the A1111 parameters, the
    /// recipe one field per line, and any other text chunks; ends with a newline.
    public static func describe(pngAt path: String) throws -> String {
        let (image, text) = try PNGImage.read(path: path)
        var lines = ["image: \(image.width)x\(image.height), \(image.channels) channel\(image.channels == 1 ? "" : "s")"]
        if let p = textValue(parametersKey, in: text) {
            lines.append("parameters:")
            lines += p.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }
        }
        if let json = textValue(recipeKey, in: text) {
            let r = try ImageRecipe(json: json, source: path)
            lines.append("tweedie:")
            lines += recipeLines(r).map { "  " + $0 }
        }
        for (key, value) in text where key != parametersKey && key != recipeKey {
            lines.append("\(key): \(value)")
        }
        if text.isEmpty { lines.append("no text metadata") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One "key: value" line per recipe field.
    static func recipeLines(_ r: ImageRecipe) -> [String] {
        let s = r.settings
        var out = ["engine: \(r.engine)", "model name: \(r.model.name)"]
        if let p = r.model.path { out.append("model path (stored, followed only with --trust-paths): \(p)") }
        out.append("weights sha256: \(r.model.weightsSHA256)")
        if let v = r.model.vaeSHA256 { out.append("vae sha256: \(v)") }
        out += ["size: \(r.width)x\(r.height)", "index: \(r.index)", "seed: \(s.seed)", "rng: \(s.rng)",
                "class: " + (s.classID.map(String.init) ?? "none"), "sampler: \(s.sampler)", "steps: \(s.steps)",
                "schedule: \(s.schedule)"]
        if let sig = s.sigmas { out.append("sigmas: " + sig.map(number).joined(separator: ",")) }
        if let e = s.eta { out.append("eta: \(number(e))") }
        out += ["guidance: \(s.guidance)", "cfg scale: \(number(s.cfgScale))"]
        out += GuiderRegistry.parameters.map { "\($0.key.replacingOccurrences(of: "_", with: " ")): "
                                               + number(s.guidanceParameter($0.key)) }
        if let iv = s.guidanceInterval { out.append("guidance interval: \(number(iv[0])),\(number(iv[1]))") }
        if let l = s.latents { out.append("latents: \(l) [\(s.latentsOffset)]") }
        for l in r.loras ?? [] { out.append("lora: \(l.name) at \(number(l.scale)) (sha256 \(l.sha256))") }
        if let e = s.embedding { out.append("embedding: \(e)") }
        if let h = r.model.embeddingSHA256 { out.append("embedding sha256: \(h)") }
        return out
    }

    /// A number without a trailing ".0" (3 rather than 3.0), otherwise the shortest round-trip form.
    static func number(_ v: Float) -> String { v == v.rounded() && abs(v) < 1e7 ? "\(Int(v))" : "\(v)" }
    static func number(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? "\(Int(v))" : "\(v)" }
}
