import Foundation

/// The run's CSV log (`<out>/log.csv`): step, loss, the objective's metrics, grad_norm, lr, then seconds of the
/// update (wall and process CPU), the run's elapsed wall time and the peak RSS so far. On resume the rows after the
/// checkpoint's step are dropped, so the log continues the restored run.
public final class TuningLog {
    /// The file.
    public let path: String
    /// Column names.
    public let header: [String]
    private let handle: FileHandle

    /// Opens (or creates) the log with the objective's `metrics` columns, keeping rows with step <= `keepThrough`.
    /// A log whose header differs is started afresh (another method or reward wrote it).
    public init(path: String, metrics: [String], keepThrough: Int) throws {
        self.path = path
        header = ["step", "loss"] + metrics + ["grad_norm", "lr", "update_seconds", "update_cpu_seconds",
                                               "elapsed_seconds", "peak_rss_mb"]
        var lines = [header.joined(separator: ",")]
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            let rows = text.split(separator: "\n")
            if rows.first.map(String.init) == lines[0] {
                for line in rows.dropFirst() {
                    if let step = Int(line.split(separator: ",").first ?? ""), step <= keepThrough {
                        lines.append(String(line))
                    }
                }
            }
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        guard let h = FileHandle(forWritingAtPath: path) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
        h.seekToEndOfFile()
        handle = h
    }

    /// Appends one row; `values` are the metric columns in header order.
    public func append(step: Int, loss: Double, metrics values: [Double], gradNorm: Float, lr: Float,
                       seconds: Double, cpuSeconds: Double, elapsed: Double, peakRSS: Double) {
        var fields = [String(step), String(format: "%.6f", loss)] + values.map { String(format: "%.6f", $0) }
        fields += [String(format: "%.5f", gradNorm), String(format: "%.6g", lr), String(format: "%.3f", seconds),
                   String(format: "%.3f", cpuSeconds), String(format: "%.1f", elapsed), String(format: "%.1f", peakRSS)]
        handle.write(Data((fields.joined(separator: ",") + "\n").utf8))
    }

    deinit { try? handle.close() }

    /// The rows of a log as dictionaries by column name.
    public static func read(_ path: String) -> [[String: Double]] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        let lines = text.split(separator: "\n")
        guard let head = lines.first?.split(separator: ",").map(String.init) else { return [] }
        return lines.dropFirst().map { line in
            Dictionary(zip(head, line.split(separator: ",").map { Double($0) ?? .nan }), uniquingKeysWith: { a, _ in a })
        }
    }
}
