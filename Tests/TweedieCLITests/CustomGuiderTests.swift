import XCTest
import TweedieTestSupport
import Tweedie

/// A guider written outside the engine with public API only: classifier-free guidance whose difference is clipped
/// per element to `[-clip_limit, clip_limit]`. One class and one `GuiderDescription`; registering it is the one line
/// that makes it a `--guidance` name with a `--clip-limit` flag, a metadata key and an `info` line.
final class ClippedDifferenceGuidance: Guider {
    let scale: Float, limit: Float
    init(scale: Float, limit: Float) { self.scale = scale; self.limit = limit }

    static let description = GuiderDescription(
        name: "clipped_cfg",
        parameters: [GuiderParameter(key: "clip_limit", label: "Clip limit", defaultValue: 1, minimum: 0,
                                     help: "Largest |cond - uncond| per element (default 1).")],
        build: { w, v in ClippedDifferenceGuidance(scale: w, limit: v["clip_limit"] ?? 1) })

    func needsUnconditional(step: Int, total: Int) -> Bool { true }
    func reset() {}
    func combine(conditional c: Tensor, unconditional u: Tensor, step: Int, total: Int) -> Tensor {
        let d = lincomb(c, 1, u, -1)
        let clipped = Tensor(shape: d.shape, data: d.data.map { min(max($0, -limit), limit) })
        return lincomb(u, 1, clipped, scale)
    }
}

final class CustomGuiderTests: XCTestCase {
    override func setUp() { GuiderRegistry.register(ClippedDifferenceGuidance.description) }
    override func tearDown() { GuiderRegistry.remove(named: "clipped_cfg") }

    func testRegisteredGuiderIsANameWithValidatedParameters() throws {
        XCTAssertEqual(GuiderRegistry.names, ["none", "cfg", "apg", "clipped_cfg"])
        var s = GenerationSettings()
        s.guidance = "clipped_cfg"
        s.guidanceParameters["clip_limit"] = 0.25
        try s.validate()
        let g = try XCTUnwrap(try s.makeGuider() as? ClippedDifferenceGuidance)
        XCTAssertEqual([g.scale, g.limit], [3, 0.25])
        s.guidanceParameters["clip_limit"] = -1
        XCTAssertThrowsError(try s.validate()) {
            XCTAssertEqual(($0 as? TweedieError)?.message, "--clip-limit must be a finite number >= 0, got -1.0")
        }
        s.guidanceParameters["clip_limit"] = .nan
        XCTAssertThrowsError(try s.validate())
    }

    func testItsFlagIsRewrittenAndParsedLikeTheBuiltIns() throws {
        let args = GuiderFlags.rewrite(["generate", "--clip-limit", "0.5", "--apg-momentum", "-0.7",
                                        "--guidance-rescale=0.3", "--steps", "4", "--", "--clip-limit"])
        XCTAssertEqual(args, ["generate", "--guidance-param", "clip_limit=0.5", "--guidance-param", "apg_momentum=-0.7",
                              "--guidance-param", "guidance_rescale=0.3", "--steps", "4", "--", "--clip-limit"])
        XCTAssertEqual(try GuiderFlags.values(["clip_limit=0.5", "apg_momentum=-0.7"]),
                       ["clip_limit": 0.5, "apg_momentum": -0.7])
        XCTAssertThrowsError(try GuiderFlags.values(["clip_limit=abc"])) {
            XCTAssertEqual(($0 as? TweedieError)?.message, "--clip-limit: 'abc' is not a number")
        }
        XCTAssertThrowsError(try GuiderFlags.values(GuiderFlags.rewrite(["--clip-limit"]).dropFirst().map { $0 })) {
            XCTAssertEqual(($0 as? TweedieError)?.message, "--clip-limit needs a value")
        }
        XCTAssertThrowsError(try GuiderFlags.values(["nope=1"]))
        XCTAssert(GuiderFlags.help.contains("--clip-limit Largest"), GuiderFlags.help)
    }

    func testItsParameterTravelsThroughThePNGRecipe() throws {
        var s = GenerationSettings()
        s.guidance = "clipped_cfg"
        s.guidanceParameters["clip_limit"] = 0.5
        let recipe = ImageRecipe(model: .init(name: "m", weightsSHA256: String(repeating: "0", count: 64),
                                              vaeSHA256: nil),
                                 settings: s, width: 8, height: 8, index: 0)
        let json = try recipe.json()
        XCTAssert(json.contains("\"clip_limit\":0.5"), json)
        XCTAssertEqual(try ImageRecipe(json: json, source: "x.png"), recipe)
        let text = ImageMetadata.parameters(recipe, label: nil)
        XCTAssert(text.contains("Guidance: clipped_cfg, Clip limit: 0.5"), text)
        // Metadata written before the guider existed lacks its key and takes the default.
        let older = json.replacingOccurrences(of: "\"clip_limit\":0.5,", with: "")
        XCTAssertEqual(try ImageRecipe(json: older, source: "old.png").settings.guidanceParameter("clip_limit"), 1)
    }
}
