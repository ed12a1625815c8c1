import Foundation
import XCTest
import TweedieCore
import TweedieModels
import TweedieTestSupport
import TweedieTuning

/// The export: the smaller folder computes what the masked model computes with hard 0/1 gates, a branch pruned
/// whole becomes its bias (not a skip), and one surviving unit per layer exports and loads.
final class PruningExportTests: XCTestCase {
    /// Masks `keep` on a fresh fixture, exports it, and returns (masked output, exported model, its config).
    private func export(_ config: String, dir: String, name: String,
                        keep: ([PrunableGroup]) -> [[Bool]]) throws -> (Tensor, DiffusionModel & PrunableModel, [String: Any]) {
        let m = try PruningFixtures.model(config, in: dir, name: name)
        let gates = try PruningGates(model: m)
        let k = keep(gates.groups)
        gates.setHardGates(k)
        let masked = try PruningFixtures.output(m)
        let out = (dir as NSString).appendingPathComponent(name + "-pruned")
        let summary = try PrunedExport.write(model: m, gates: gates, keep: k, base: name, to: out)
        let loaded = try XCTUnwrap(try ModelFolder.load(out) as? DiffusionModel & PrunableModel)
        XCTAssertEqual(loaded.parameterCount, summary.parametersAfter)
        XCTAssertEqual(summary.parametersBefore - summary.parametersAfter, summary.removed, "\(name): only units go")
        let text = try String(contentsOfFile: (out as NSString).appendingPathComponent("MODEL_CARD.md"), encoding: .utf8)
        XCTAssertTrue(text.contains("diffusers cannot load this folder"), text)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath:
            (out as NSString).appendingPathComponent("config.json")))) as! [String: Any]
        return (masked, loaded, json)
    }

    func testExportedModelEqualsTheMaskedOne() throws {
        let dir = try PruningFixtures.tempDir(self)
        for (config, name) in [(PruningFixtures.dit, "dit"), (PruningFixtures.unet, "unet")] {
            // Unit u of group i kept when (u + i) % 3 != 1: every group loses some, none all.
            let (masked, smaller, _) = try export(config, dir: dir, name: name) { groups in
                groups.enumerated().map { i, g in (0..<g.count).map { ($0 + i) % 3 != 1 || g.count == 1 } }
            }
            // Measured at most 1.3e-7 (dit) and 1.2e-7 (unet) over three OpenBLAS kernels: the same sums without
            // their zero terms.
            assertMeasured(relativeError(try PruningFixtures.output(smaller), masked), tolerance: 1e-6,
                           "pruned \(name) export vs hard-masked model")
        }
    }

    /// A group pruned whole: width 0, its consumer's bias kept and used (changing it changes the output, as it
    /// would not if the branch were skipped), and the output still that of the masked model.
    func testFullyPrunedBranchKeepsItsBias() throws {
        let dir = try PruningFixtures.tempDir(self)
        for (config, name) in [(PruningFixtures.dit, "dit"), (PruningFixtures.unet, "unet")] {
            var emptied: [String] = []
            let (masked, smaller, json) = try export(config, dir: dir, name: name) { groups in
                // Every head group and the first other group lose every unit.
                let first = groups.firstIndex { $0.kind != "head" }!
                emptied = groups.enumerated().filter { $0.element.kind == "head" || $0.offset == first }.map(\.element.consumer)
                return groups.map { g in [Bool](repeating: !emptied.contains(g.consumer), count: g.count) }
            }
            let widths = try XCTUnwrap(json[ModelFolder.layerWidthsKey] as? [String: Int])
            for c in emptied {
                XCTAssertEqual(widths[c], 0, "\(name): \(c) width")
                XCTAssertEqual(smaller.weights.tensors[c + ".weight"]?.count, 0, "\(name): \(c) has no columns")
                XCTAssertNotNil(smaller.weights.tensors[c + ".bias"], "\(name): \(c) keeps its bias")
            }
            let out = try PruningFixtures.output(smaller)
            // Measured 0 (dit and unet, three OpenBLAS kernels): the bias is what 0·W + b gave.
            assertMeasured(relativeError(out, masked), tolerance: 1e-6, "\(name) with branches pruned whole")
            let bias = emptied[0] + ".bias"
            smaller.weights.insert(bias, Tensor(shape: smaller.weights.tensors[bias]!.shape, repeating: 0))
            XCTAssertGreaterThan(relativeError(try PruningFixtures.output(smaller), out), 1e-3,
                                 "\(name): the emptied branch's bias reaches the output")
        }
    }

    /// Exactly one unit left in every group (EcoDiff's export crashes there): it exports, loads and computes as
    /// masked; pruning it again leaves one unit per group to rank.
    func testOneSurvivingUnitPerLayerExportsAndLoads() throws {
        let dir = try PruningFixtures.tempDir(self)
        for (config, name) in [(PruningFixtures.dit, "dit"), (PruningFixtures.unet, "unet")] {
            let (masked, smaller, json) = try export(config, dir: dir, name: name) { groups in
                groups.map { g in (0..<g.count).map { $0 == g.count - 1 } }
            }
            let widths = try XCTUnwrap(json[ModelFolder.layerWidthsKey] as? [String: Int])
            XCTAssertEqual(Set(widths.values), [1], name)
            // Measured at most 6.5e-8 (dit) and 1.3e-7 (unet) over three OpenBLAS kernels.
            assertMeasured(relativeError(try PruningFixtures.output(smaller), masked), tolerance: 1e-6,
                           "\(name) with one unit per layer")
            XCTAssertEqual(try PruningGates(model: smaller).unitCount, smaller.prunableGroups.count)
        }
    }

    func testGlobalRankingRemovesTheLowestScoresUpToTheRatio() {
        // Units of 10 and 30 parameters (90 in all), removed in score order 0.1, 0.2, 0.3, ... while that brings the
        // removed count nearer the target: 55 % (49.5) takes 10 + 30 + 10; 40 % (36) stops at 40, 50 being further.
        let scores: [[Float]] = [[0.3, 0.9, 0.1], [0.2, 0.8]]
        XCTAssertEqual(PruningRanking.keep(scores: scores, parametersPerUnit: [10, 30], ratio: 0.55),
                       [[false, true, false], [false, true]])
        XCTAssertEqual(PruningRanking.keep(scores: scores, parametersPerUnit: [10, 30], ratio: 0.4),
                       [[true, true, false], [false, true]])
        // 10 % (9): the unit of 10 only; never a unit scored above one that stays.
        XCTAssertEqual(PruningRanking.keep(scores: scores, parametersPerUnit: [10, 30], ratio: 0.1),
                       [[true, true, false], [true, true]])
    }

    /// A model with every unit already pruned away has nothing to rank.
    func testModelWithoutPrunableUnitsIsBadInput() throws {
        let dir = try PruningFixtures.tempDir(self)
        let (_, empty, _) = try export(PruningFixtures.dit, dir: dir, name: "dit") { groups in
            groups.map { [Bool](repeating: false, count: $0.count) }
        }
        XCTAssertThrowsError(try PruningGates(model: empty)) { error in
            XCTAssertEqual((error as? TweedieError)?.exitCode, 2)
            XCTAssertTrue((error as? TweedieError)?.message.contains("no prunable units") == true, "\(error)")
        }
    }
}
