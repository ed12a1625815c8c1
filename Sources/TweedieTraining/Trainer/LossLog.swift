import Foundation

/// The run's CSV loss log (`<out>/loss.csv`: step, loss, lr, grad_norm, seconds_per_step, elapsed_seconds).
/// On resume the rows after the checkpoint's step are dropped, so the log matches the restored run.
public final class LossLog {
    /// The file.
    public let path: String
    static let header = "step,loss,lr,grad_norm,seconds_per_step,elapsed_seconds"
    private let handle: FileHandle

    /// Opens (or creates) the log, keeping only rows with step <= `keepThrough`.
    public init(path: String, keepThrough: Int) throws {
        self.path = path
        var lines = [LossLog.header]
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            for line in text.split(separator: "\n").dropFirst() {
                if let step = Int(line.split(separator: ",").first ?? ""), step <= keepThrough { lines.append(String(line)) }
            }
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        guard let h = FileHandle(forWritingAtPath: path) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
        h.seekToEndOfFile()
        handle = h
    }

    /// Appends one row.
    public func append(step: Int, loss: Float, lr: Float, gradNorm: Float, secondsPerStep: Double, elapsed: Double) {
        let row = String(format: "%d,%.6f,%.6g,%.4f,%.4f,%.1f\n", step, loss, lr, gradNorm, secondsPerStep, elapsed)
        handle.write(Data(row.utf8))
    }

    deinit { try? handle.close() }

    /// Rows of a log file as (step, loss) pairs.
    public static func read(_ path: String) -> [(step: Int, loss: Float)] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").dropFirst().compactMap { line in
            let f = line.split(separator: ",")
            guard f.count >= 2, let s = Int(f[0]), let l = Float(f[1]) else { return nil }
            return (s, l)
        }
    }
}
