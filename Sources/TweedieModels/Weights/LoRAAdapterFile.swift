import Foundation
import TweedieCore

/// LoRA adapters on disk in the layout diffusers' `save_lora_weights` writes and its `load_lora_adapter` (peft)
/// reads: tensors `<model>.<layer>.lora_A.weight` and `<model>.<layer>.lora_B.weight` (model prefix `unet` or
/// `transformer`), and the metadata `lora_adapter_metadata`, a JSON LoraConfig under the same prefix
/// (`unet.r`, `unet.lora_alpha`, `unet.target_modules`, `unet.alpha_pattern`). Files without the prefix (peft's
/// own `get_peft_model_state_dict`) or without the metadata (alpha then equals the rank, diffusers' reading)
/// load too. Tweedie's own facts go under `tweedie_*` metadata keys.
public enum LoRAAdapterFile {
    /// The key prefix diffusers uses for a model class: `transformer` for a DiT, `unet` otherwise.
    public static func modelPrefix(forClassName name: String?) -> String {
        name.map { $0.contains("Transformer") } == true ? "transformer" : "unet"
    }

    /// Writes `adapter` to `path` (temporary name, then renamed).
    public static func write(_ adapter: LoRAAdapter, to path: String) throws {
        let prefix = modelPrefix(forClassName: adapter.className)
        var tensors: [(String, Tensor)] = []
        for l in adapter.layers {
            tensors.append(("\(prefix).\(l.prefix).lora_A.weight", l.a))
            tensors.append(("\(prefix).\(l.prefix).lora_B.weight", l.b))
        }
        // The most common rank and alpha are the config's r and lora_alpha; other layers go in the patterns.
        func mode(_ xs: [Float]) -> Float {
            Dictionary(grouping: xs, by: { $0 }).max { a, b in a.value.count < b.value.count || (a.value.count
                == b.value.count && a.key > b.key) }?.key ?? 0
        }
        let r = Int(mode(adapter.layers.map { Float($0.rank) })), alpha = mode(adapter.layers.map(\.alpha))
        var rankPattern: [String: JSONOutput] = [:], alphaPattern: [String: JSONOutput] = [:]
        for l in adapter.layers {
            if l.rank != r { rankPattern[l.prefix] = .int(l.rank) }
            if l.alpha != alpha { alphaPattern[l.prefix] = .number(Double(l.alpha)) }
        }
        let config: [String: JSONOutput] = [
            "\(prefix).r": .int(r), "\(prefix).lora_alpha": .number(Double(alpha)),
            "\(prefix).target_modules": .array(adapter.layers.map { .string($0.prefix) }),
            "\(prefix).rank_pattern": .object(rankPattern), "\(prefix).alpha_pattern": .object(alphaPattern),
            "\(prefix).init_lora_weights": .bool(true), "\(prefix).lora_dropout": .number(0),
            "\(prefix).use_dora": .bool(false), "\(prefix).lora_bias": .bool(false),
        ]
        var metadata = ["format": "pt", "lora_adapter_metadata": JSONOutput.object(config).text]
        if let c = adapter.className { metadata["tweedie_class_name"] = c }
        for (k, v) in adapter.info { metadata["tweedie_" + k] = v }
        try SafeTensorsWriter.write(tensors, metadata: metadata, to: path)
    }

    /// Reads the adapter in `path`; a file that is not a LoRA (no lora_A/lora_B pairs), a factor without its
    /// partner, a tensor of another kind or factors of inconsistent shapes is `badInput` naming it.
    public static func read(_ path: String) throws -> LoRAAdapter {
        let file = try SafeTensorsFile(path: path)
        let known = ["unet.", "transformer.", "base_model.model."]
        var a: [String: Tensor] = [:], b: [String: Tensor] = [:]
        var keyPrefix: String?
        for name in file.names {
            let bare = known.first { name.hasPrefix($0) }.map { String(name.dropFirst($0.count)) } ?? name
            if keyPrefix == nil, bare != name { keyPrefix = String(name.dropLast(bare.count + 1)) }
            if bare.hasSuffix(".lora_A.weight") {
                a[String(bare.dropLast(".lora_A.weight".count))] = try file.tensor(name)
            } else if bare.hasSuffix(".lora_B.weight") {
                b[String(bare.dropLast(".lora_B.weight".count))] = try file.tensor(name)
            } else {
                throw TweedieError.badInput("\(path): tensor '\(name)' is not a LoRA factor (expected only "
                                            + "<layer>.lora_A.weight and <layer>.lora_B.weight)")
            }
        }
        guard !a.isEmpty || !b.isEmpty else {
            throw TweedieError.badInput("\(path): no LoRA factors (<layer>.lora_A.weight / .lora_B.weight)")
        }
        if let lone = Set(a.keys).symmetricDifference(b.keys).sorted().first {
            throw TweedieError.badInput("\(path): layer '\(lone)' has only its \(a[lone] == nil ? "lora_B" : "lora_A") factor")
        }
        let config = try adapterConfig(file.metadata["lora_adapter_metadata"], prefix: keyPrefix, path: path)
        var layers: [LoRAAdapter.Layer] = []
        for (prefix, fa) in a.sorted(by: { $0.key < $1.key }) {
            let fb = b[prefix]!
            let r = fa.shape.first ?? 0
            let linear = fa.shape.count == 2 && fb.shape.count == 2
            let conv = fa.shape.count == 4 && fb.shape.count == 4 && fb.shape[2] == 1 && fb.shape[3] == 1
            guard r >= 1, linear || conv, fb.shape[1] == r else {
                throw TweedieError.badInput("\(path): layer '\(prefix)' has lora_A \(fa.shape) and lora_B \(fb.shape) "
                                            + "(expected [r, in] and [out, r], or [r, in, k, k] and [out, r, 1, 1])")
            }
            let alpha = config.alphaPattern[prefix] ?? config.alpha ?? Float(r)
            layers.append(LoRAAdapter.Layer(prefix: prefix, a: fa, b: fb, alpha: alpha))
        }
        var info: [String: String] = [:]
        for (k, v) in file.metadata where k.hasPrefix("tweedie_") && k != "tweedie_class_name" {
            info[String(k.dropFirst("tweedie_".count))] = v
        }
        let className = file.metadata["tweedie_class_name"]
            ?? (keyPrefix == "transformer" ? "DiTTransformer2DModel" : nil)
        return LoRAAdapter(layers: layers, className: className, info: info)
    }

    /// lora_alpha and alpha_pattern of the metadata JSON (keys under `prefix.` when the tensors have one).
    private static func adapterConfig(_ text: String?, prefix: String?,
                                      path: String) throws -> (alpha: Float?, alphaPattern: [String: Float]) {
        guard let text else { return (nil, [:]) }
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw TweedieError.badInput("\(path): metadata 'lora_adapter_metadata' is not a JSON object")
        }
        let p = prefix.map { $0 + "." } ?? ""
        func value(_ key: String) -> Any? { object[p + key] ?? object[key] }
        let alpha = (value("lora_alpha") as? NSNumber).map { $0.floatValue }
        var pattern: [String: Float] = [:]
        for (k, v) in (value("alpha_pattern") as? [String: Any]) ?? [:] {
            if let n = v as? NSNumber { pattern[k.hasPrefix("^") ? String(k.dropFirst()) : k] = n.floatValue }
        }
        if let alpha, !(alpha.isFinite && alpha > 0) {
            throw TweedieError.badInput("\(path): lora_alpha \(alpha) must be a positive number")
        }
        return (alpha, pattern)
    }
}
