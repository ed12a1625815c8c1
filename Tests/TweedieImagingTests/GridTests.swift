import TweedieImaging
import XCTest

final class GridTests: XCTestCase {
    func testFiveImagesTileIntoThreeByTwoWithBorders() throws {
        let tiles = (0..<5).map { k in PNGImage(width: 3, height: 2, channels: 3, repeating: UInt8(10 * (k + 1))) }
        let grid = try PNGImage.grid(tiles)
        // 3 columns, 2 rows, 2-pixel frame: 3*3 + 4*2 = 17 wide, 2*2 + 3*2 = 10 high.
        XCTAssertEqual([grid.width, grid.height, grid.channels], [17, 10, 3])
        for k in 0..<5 {
            let x0 = 2 + (k % 3) * 5, y0 = 2 + (k / 3) * 4
            for y in y0..<y0 + 2 { for x in x0..<x0 + 3 { XCTAssertEqual(grid[x: x, y: y, c: 1], UInt8(10 * (k + 1))) } }
        }
        XCTAssertEqual(grid[x: 0, y: 0, c: 0], 0)
        XCTAssertEqual(grid[x: 5, y: 3, c: 2], 0)   // between tiles 0 and 1
        XCTAssertEqual(grid[x: 13, y: 7, c: 0], 0)  // empty sixth cell
        let filled = grid.pixels.filter { $0 != 0 }.count
        XCTAssertEqual(filled, 5 * 3 * 2 * 3)
    }

    func testGridShapesAndAlphaBorder() throws {
        let one = try PNGImage.grid([PNGImage(width: 4, height: 4, channels: 1, repeating: 9)])
        XCTAssertEqual([one.width, one.height], [8, 8])
        let four = try PNGImage.grid((0..<4).map { _ in PNGImage(width: 1, height: 1, channels: 4) }, borderValue: 255)
        XCTAssertEqual([four.width, four.height], [8, 8])
        XCTAssertEqual(four[x: 0, y: 0, c: 3], 255)
        XCTAssertEqual(four[x: 2, y: 2, c: 3], 0)   // tile keeps its own alpha
        let row = try PNGImage.grid((0..<3).map { _ in PNGImage(width: 2, height: 2, channels: 3) }, columns: 3)
        XCTAssertEqual([row.width, row.height], [14, 6])
        Support.assertBadInput("image 1") {
            _ = try PNGImage.grid([PNGImage(width: 2, height: 2, channels: 3), PNGImage(width: 2, height: 3, channels: 3)])
        }
        Support.assertBadInput("no images") { _ = try PNGImage.grid([]) }
    }
}
