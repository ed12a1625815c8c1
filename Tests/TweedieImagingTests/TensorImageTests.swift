import TweedieCore
import TweedieImaging
import XCTest

final class TensorImageTests: XCTestCase {
    /// Bytes from diffusers' VaeImageProcessor.postprocess + numpy_to_pil (scripts/make_imaging_fixtures.py):
    /// the first six inputs land exactly on k + 0.5, where NumPy rounds to even (half-away would differ).
    func testQuantisationMatchesDiffusersIncludingTies() throws {
        let bits: [UInt32] = [0xBEFC_FCFC, 0xBEF8_F8F8, 0xBEF4_F4F4, 0xBEF0_F0F0, 0xBEEC_ECEC, 0xBEE8_E8E8,
                              0xBF80_0000, 0x3F80_0000, 0xBFC0_0000, 0x4000_0000, 0x0000_0000]
        let expected: [UInt8] = [64, 66, 66, 68, 68, 70, 0, 255, 0, 255, 128]
        let x = Tensor(shape: [1, 1, 1, bits.count], data: bits.map(Float.init(bitPattern:)))
        let (images, clipped) = try PNGImage.images(from: x, range: .minusOneToOne)
        XCTAssertEqual(images.count, 1)
        XCTAssertEqual(images[0].pixels, expected)
        XCTAssertEqual(clipped, 2.0 / 11.0, accuracy: 1e-12)  // -1.5 and 2.0
    }

    func testLayoutClippingAndNaN() throws {
        // [N=2, C=3, H=1, W=2] in [0, 1]: channel planes interleave into RGB pixels.
        let data: [Float] = [0, 1, /* G */ 0.5, 0.25, /* B */ 1.2, -0.1,
                             .nan, 0.2, /* G */ 0.4, 0.6, /* B */ 0.8, 1.0]
        let (images, clipped) = try PNGImage.images(from: Tensor(shape: [2, 3, 1, 2], data: data), range: .zeroToOne)
        XCTAssertEqual(images[0].pixels, [0, 128, 255, 255, 64, 0])
        XCTAssertEqual(images[1].pixels, [0, 102, 204, 51, 153, 255])
        XCTAssertEqual(clipped, 3.0 / 12.0, accuracy: 1e-12)
        // Per image: 1.2 and -0.1 in image 0, the NaN in image 1, each out of C x H x W = 6 values.
        let (same, each) = try PNGImage.imagesWithClipping(from: Tensor(shape: [2, 3, 1, 2], data: data),
                                                           range: .zeroToOne)
        XCTAssertEqual(same, images)
        XCTAssertEqual(each, [2.0 / 6.0, 1.0 / 6.0])
        Support.assertBadInput("[3, 2, 2]") { _ = try PNGImage.imagesWithClipping(from: Tensor(shape: [3, 2, 2])) }
    }

    func testImageToTensorAndBackIsExact() throws {
        let images = (0..<3).map { Support.pattern(width: 5, height: 4, channels: 3, seed: $0) }
        for range in [PixelRange.minusOneToOne, .zeroToOne] {
            let t = try PNGImage.tensor(from: images, range: range)
            XCTAssertEqual(t.shape, [3, 3, 4, 5])
            let (back, clipped) = try PNGImage.images(from: t, range: range)
            XCTAssertEqual(back, images)
            XCTAssertEqual(clipped, 0)
        }
        let t = images[1].tensor(range: .minusOneToOne)
        XCTAssertEqual(t.shape, [1, 3, 4, 5])
        // Pixel (x 2, y 1), green: byte / 255 * 2 - 1.
        XCTAssertEqual(t.data[1 * 20 + 1 * 5 + 2], Float(images[1][x: 2, y: 1, c: 1]) / 255 * 2 - 1)
        XCTAssertEqual(images[1].tensor(range: .zeroToOne).data[0], Float(images[1].pixels[0]) / 255)
    }

    func testChannelConversionOnLoadAndShapeErrors() throws {
        let gray = Support.pattern(width: 2, height: 2, channels: 1)
        let rgba = Support.pattern(width: 2, height: 2, channels: 4)
        let t = try PNGImage.tensor(from: [gray, rgba], range: .zeroToOne, channels: 3)
        XCTAssertEqual(t.shape, [2, 3, 2, 2])
        XCTAssertEqual(t.data[0], t.data[4])  // gray replicated into R and G
        Support.assertBadInput("image 1") { _ = try PNGImage.tensor(from: [gray, rgba]) }
        Support.assertBadInput("image 1") {
            _ = try PNGImage.tensor(from: [gray, Support.pattern(width: 3, height: 2, channels: 1)])
        }
        Support.assertBadInput("[1, 5, 2, 2]") { _ = try PNGImage.images(from: Tensor(shape: [1, 5, 2, 2])) }
        Support.assertBadInput("[3, 2, 2]") { _ = try PNGImage.images(from: Tensor(shape: [3, 2, 2])) }
    }
}
