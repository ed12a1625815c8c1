import Foundation
import TweedieCore
import TweedieModels

/// Writes a pruned model: the gates set to the keep lists, the masked-out units cut from the tensors
/// (`Narrowing`), the folder written with its per-layer widths under `tweedie_layer_widths`, the base's scheduler
/// config and labels copied beside it, and a MODEL_CARD.md that says what was removed and that diffusers
/// cannot load the result. A group with no unit left keeps zero-size tensors: the model computes that branch as its
/// consumer's bias, which is what the masked model computed (not an identity skip).
public enum PrunedExport {
    /// The files a bare model folder at `folder` carries beside its weights (name in the export -> path), those
    /// present of scheduler_config.json and labels.json.
    public static func sidecars(of folder: String) -> [String: String] {
        var out: [String: String] = [:]
        for name in ["scheduler_config.json", "labels.json"] {
            let path = (folder as NSString).appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: path) { out[name] = path }
        }
        return out
    }

    /// What an export removed.
    public struct Summary: Sendable {
        /// Parameters of the whole model before and after.
        public var parametersBefore: Int, parametersAfter: Int
        /// Prunable parameters, and how many of them were removed.
        public var prunable: Int, removed: Int
        /// Units kept / total, per kind ("head", "neuron", "channel group").
        public var units: [String: (kept: Int, total: Int)]
        /// Consumers of the groups pruned whole (their branch is now a constant bias).
        public var emptied: [String]

        /// Removed share of the prunable parameters.
        public var removedShare: Double { Double(removed) / Double(max(prunable, 1)) }
    }

    /// Exports `model` (the loaded base, its gates in `gates`) with `keep` into `directory`; `base` names the
    /// base in the card, `sidecars` (name -> path) are copied in, and `card` lines are added to the model card.
    @discardableResult
    public static func write(model: LoadedModel, gates: PruningGates, keep: [[Bool]], base: String,
                             sidecars: [String: String] = [:], to directory: String, metadata: [String: String] = [:],
                             card: [String] = []) throws -> Summary {
        let before = gates.model.parameterCount
        gates.setHardGates(keep)
        let (tensors, widths) = try Narrowing.narrowed(gates.model)
        try ModelFolder.write(model, tensors: tensors, widths: widths, to: directory, metadata: metadata)
        for (name, from) in sidecars.sorted(by: { $0.key < $1.key }) {
            let data = try Data(contentsOf: URL(fileURLWithPath: from))
            try data.write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent(name)), options: .atomic)
        }
        var units: [String: (kept: Int, total: Int)] = [:]
        var removed = 0
        var emptied: [String] = []
        for (i, g) in gates.groups.enumerated() {
            let kept = keep[i].filter { $0 }.count
            units[g.kind, default: (0, 0)].kept += kept
            units[g.kind, default: (0, 0)].total += g.count
            removed += (g.count - kept) * gates.parametersPerUnit[i]
            if kept == 0 { emptied.append(g.consumer) }
        }
        let after = tensors.reduce(0) { $0 + $1.1.count }
        let summary = Summary(parametersBefore: before, parametersAfter: after, prunable: gates.prunableParameters,
                              removed: removed, units: units, emptied: emptied)
        let text = cardText(summary, name: (directory as NSString).lastPathComponent, base: base, extra: card)
        try Data(text.utf8).write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent("MODEL_CARD.md")),
                                  options: .atomic)
        return summary
    }

    /// The model card's Markdown.
    static func cardText(_ s: Summary, name: String, base: String, extra: [String]) -> String {
        func grouped(_ n: Int) -> String {
            let f = NumberFormatter()
            f.numberStyle = .decimal
            f.groupingSeparator = ","
            return f.string(from: NSNumber(value: n)) ?? String(n)
        }
        var lines = ["# \(name): a structurally pruned copy of `\(base)`", "",
                     "Made by `tweedie prune`. **diffusers cannot load this folder**: its config.json records per-layer "
                     + "widths under `\(ModelFolder.layerWidthsKey)` (attention heads, feed-forward neurons and resnet "
                     + "channels kept per layer), which differ from the uniform widths diffusers builds from the config. "
                     + "Tweedie reads the widths from the tensors' shapes, so `tweedie generate`, `bench`, `info` and "
                     + "`forward` run it like any other model folder.", "",
                     String(format: "- Removed %@ of %@ prunable parameters (%.1f %%); the model has %@ parameters "
                            + "instead of %@ (%.1f %% fewer).", grouped(s.removed), grouped(s.prunable),
                            100 * s.removedShare, grouped(s.parametersAfter), grouped(s.parametersBefore),
                            100 * (1 - Double(s.parametersAfter) / Double(max(s.parametersBefore, 1))))]
        for kind in s.units.keys.sorted() {
            let u = s.units[kind]!
            lines.append("- \(kind)s kept: \(u.kept) of \(u.total)")
        }
        if !s.emptied.isEmpty {
            lines.append("- Branches pruned whole (they now output their consumer's constant bias): "
                         + s.emptied.map { "`\($0)`" }.joined(separator: ", "))
        }
        return (lines + (extra.isEmpty ? [] : [""] + extra)).joined(separator: "\n") + "\n"
    }
}
