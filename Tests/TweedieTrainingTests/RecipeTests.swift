import Foundation
import XCTest
import TweedieCore
import TweedieSamplers
import TweedieTraining

/// Recipe files, their errors, and the loss plot.
final class RecipeTests: XCTestCase {
    func testRecipeFileWithModelConfigPathRoundTrips() throws {
        let dir = try makeScratchDirectory("recipe")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try TinyRun.modelConfig.write(toFile: dir + "/unet.json", atomically: true, encoding: .utf8)
        let text = """
            {"data": "fashion32", "model_config": "unet.json", "steps": 30, "batch": 8, "lr": 0.001,
             "prediction": "v", "lr_decay": "constant", "gradient_checkpointing": true, "seed": 5}
            """
        try text.write(toFile: dir + "/recipe.json", atomically: true, encoding: .utf8)
        let r = try TrainingRecipe(path: dir + "/recipe.json")
        XCTAssertEqual(r.steps, 30)
        XCTAssertEqual(r.batch, 8)
        XCTAssertEqual(r.learningRate, 0.001)
        XCTAssertEqual(r.prediction, .vPrediction)
        XCTAssertEqual(r.lrDecay, .constant)
        XCTAssertTrue(r.gradientCheckpointing)
        XCTAssertEqual(try r.modelConfig().blockOutChannels, [8, 16])
        // What a checkpoint stores reads back as the same recipe.
        let object = try JSONSerialization.jsonObject(with: Data(r.jsonText.utf8)) as! [String: Any]
        let again = try TrainingRecipe(json: object, source: "stored", baseDirectory: "/")
        XCTAssertEqual(again.steps, r.steps)
        XCTAssertEqual(again.seed, r.seed)
        XCTAssertEqual(try again.modelConfig().blockOutChannels, [8, 16])
    }

    func testRecipeErrorsNameTheKey() {
        func message(_ object: [String: Any]) -> String {
            do {
                _ = try TrainingRecipe(json: object, source: "r.json", baseDirectory: "/")
                return "no error"
            } catch let e as TweedieError { return e.message } catch { return "\(error)" }
        }
        XCTAssertEqual(message(["stepz": 3]), "r.json: unknown key 'stepz'")
        XCTAssertEqual(message(["steps": "many"]), "r.json: key 'steps' has the wrong type")
        XCTAssertTrue(message(["prediction": "x0"]).contains("prediction must be epsilon or v"))
        var r = TrainingRecipe()
        r.modelConfigJSON = TinyRun.modelConfig
        r.batch = 0
        XCTAssertThrowsError(try r.validate()) { XCTAssertTrue(($0 as? TweedieError)?.message.hasPrefix("--batch") ?? false) }
        XCTAssertThrowsError(try TrainingData.named("cifar")) {
            XCTAssertEqual(($0 as? TweedieError)?.exitCode, 2)
        }
    }

    func testLossPlotDrawsCurveAndTicks() throws {
        let points = (1...200).map { (step: $0 * 10, loss: Float(0.05 + 1 / Double($0))) }
        let image = try LossPlot.render(points, width: 400, height: 200)
        XCTAssertEqual(image.width, 400)
        let dark = stride(from: 0, to: image.pixels.count, by: 3).filter {
            image.pixels[$0] == 20 && image.pixels[$0 + 1] == 60 && image.pixels[$0 + 2] == 150
        }
        XCTAssertGreaterThan(dark.count, 300, "the smoothed curve spans the plot")
        XCTAssertThrowsError(try LossPlot.render([(step: 1, loss: 1)]))
    }
}
