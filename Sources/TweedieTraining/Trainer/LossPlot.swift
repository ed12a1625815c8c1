import Foundation
import TweedieCore
import TweedieImaging

/// A small line plot of the training loss for model cards: log-scale loss against step, the logged values in a
/// light colour and their centred running mean in a dark one, with numbered ticks drawn in a built-in 3x5 pixel font.
public enum LossPlot {
    /// Renders `points` (step, loss) as an RGB image of `width` x `height` pixels.
    public static func render(_ points: [(step: Int, loss: Float)], width: Int = 720, height: Int = 360,
                              smoothing: Int = 10) throws -> PNGImage {
        let valid = points.filter { $0.loss.isFinite && $0.loss > 0 }
        guard valid.count >= 2 else { throw TweedieError.badInput("loss plot: fewer than two logged losses") }
        var canvas = Canvas(width: width, height: height)
        let left = 56, right = width - 16, top = 16, bottom = height - 34
        let maxStep = Double(valid.map(\.step).max()!), minStep = Double(valid.map(\.step).min()!)
        let logs = valid.map { log10(Double($0.loss)) }
        let lo = floor(logs.min()! * 4) / 4, hi = ceil(logs.max()! * 4) / 4 + (logs.max()! == logs.min()! ? 0.25 : 0)
        func px(_ step: Double) -> Int {
            left + Int((step - minStep) / max(1, maxStep - minStep) * Double(right - left))
        }
        func py(_ logLoss: Double) -> Int { bottom - Int((logLoss - lo) / (hi - lo) * Double(bottom - top)) }

        // Grid and y ticks at 1, 2 and 5 times each power of ten inside the range.
        for e in Int(floor(lo))...Int(ceil(hi)) {
            for m in [1.0, 2.0, 5.0] {
                let v = m * pow(10, Double(e)), l = log10(v)
                guard l >= lo - 1e-9 && l <= hi + 1e-9 else { continue }
                let y = py(l)
                canvas.line(left, y, right, y, (228, 228, 228))
                canvas.text(label(v), rightAlignedAt: left - 5, y: y - 5, (60, 60, 60))
            }
        }
        // x ticks at a round step interval giving about six ticks.
        let span = max(1, maxStep - minStep)
        let raw = span / 6, magnitude = pow(10, floor(log10(raw)))
        let interval = [1.0, 2.0, 5.0, 10.0].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        var tick = ceil(minStep / interval) * interval
        while tick <= maxStep + 1e-9 {
            let x = px(tick)
            canvas.line(x, top, x, bottom, (236, 236, 236))
            canvas.line(x, bottom, x, bottom + 4, (60, 60, 60))
            let text = label(tick)
            canvas.text(text, rightAlignedAt: x + text.count * 4, y: bottom + 9, (60, 60, 60))
            tick += interval
        }
        canvas.line(left, top, left, bottom, (60, 60, 60))
        canvas.line(left, bottom, right, bottom, (60, 60, 60))

        var prev: (Int, Int)? = nil
        for (p, l) in zip(valid, logs) {
            let q = (px(Double(p.step)), py(l))
            if let prev { canvas.line(prev.0, prev.1, q.0, q.1, (160, 190, 230)) }
            prev = q
        }
        prev = nil
        // A centred running mean: it follows fast early drops without the lag of a trailing window.
        let values = valid.map { Double($0.loss) }, half = max(1, smoothing / 2)
        for (i, p) in valid.enumerated() {
            let window = values[max(0, i - half)...min(values.count - 1, i + half)]
            let q = (px(Double(p.step)), py(log10(window.reduce(0, +) / Double(window.count))))
            if let prev {
                canvas.line(prev.0, prev.1, q.0, q.1, (20, 60, 150))
                canvas.line(prev.0, prev.1 + 1, q.0, q.1 + 1, (20, 60, 150))
            }
            prev = q
        }
        return canvas.image
    }

    /// A compact number: 1500 -> "1.5k", 0.05 -> "0.05".
    static func label(_ v: Double) -> String {
        if v >= 1000 {
            let k = v / 1000
            return (k == k.rounded() ? String(Int(k)) : String(format: "%.1f", k)) + "k"
        }
        if v >= 1 { return String(Int(v.rounded())) }
        var s = String(format: "%.4f", v)
        while s.hasSuffix("0") { s.removeLast() }
        return s
    }
}

/// An RGB pixel buffer with the few drawing primitives the plot needs.
struct Canvas {
    let width: Int, height: Int
    var pixels: [UInt8]

    init(width: Int, height: Int) {
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 255, count: width * height * 3)
    }

    var image: PNGImage { PNGImage(width: width, height: height, channels: 3, pixels: pixels) }

    mutating func set(_ x: Int, _ y: Int, _ c: (UInt8, UInt8, UInt8)) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let i = (y * width + x) * 3
        pixels[i] = c.0; pixels[i + 1] = c.1; pixels[i + 2] = c.2
    }

    /// Bresenham's line.
    mutating func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ c: (UInt8, UInt8, UInt8)) {
        var x = x0, y = y0
        let dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
        var err = dx + dy
        while true {
            set(x, y, c)
            if x == x1 && y == y1 { break }
            let e2 = 2 * err
            if e2 >= dy { err += dy; x += sx }
            if e2 <= dx { err += dx; y += sy }
        }
    }

    /// 3x5 glyphs (rows top to bottom, 3 bits each) for digits, '.', 'k' and '-', drawn at scale 2.
    static let glyphs: [Character: [UInt8]] = [
        "0": [7, 5, 5, 5, 7], "1": [2, 6, 2, 2, 7], "2": [7, 1, 7, 4, 7], "3": [7, 1, 7, 1, 7],
        "4": [5, 5, 7, 1, 1], "5": [7, 4, 7, 1, 7], "6": [7, 4, 7, 5, 7], "7": [7, 1, 1, 1, 1],
        "8": [7, 5, 7, 5, 7], "9": [7, 5, 7, 1, 7], ".": [0, 0, 0, 0, 2], "k": [4, 5, 6, 5, 5], "-": [0, 0, 7, 0, 0],
    ]

    /// Draws `text` ending at x = `rightAlignedAt`, top at `y`.
    mutating func text(_ text: String, rightAlignedAt x: Int, y: Int, _ c: (UInt8, UInt8, UInt8)) {
        var cx = x - text.count * 8 + 2
        for ch in text {
            if let rows = Canvas.glyphs[ch] {
                for (r, bits) in rows.enumerated() {
                    for b in 0..<3 where bits & (4 >> b) != 0 {
                        for dy in 0..<2 { for dx in 0..<2 { set(cx + b * 2 + dx, y + r * 2 + dy, c) } }
                    }
                }
            }
            cx += 8
        }
    }
}
