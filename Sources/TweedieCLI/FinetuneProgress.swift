import Foundation
import Tweedie
#if canImport(Glibc)
import Glibc
#endif

/// Progress of `tweedie finetune` on stderr, one update at a time: `bar` redraws one line (update, reward, CPU
/// seconds, peak RSS, ETA), `plain` writes the loop's line per update (for logs), `none` is silent; `auto` is the
/// bar on a terminal and plain lines otherwise (a fine-tune runs for minutes: its log matters).
final class FinetuneProgress {
    private let mode: GenerateProgress.Mode
    private let total: Int
    private let start = Date()
    private var first: Int?
    private var lastLength = 0

    /// Progress toward `total` updates.
    init(mode: GenerateProgress.Mode, total: Int) {
        self.mode = mode == .auto ? (GenerateProgress.stderrIsTerminal ? .bar : .plain) : mode
        self.total = total
    }

    /// Reports update `u`.
    func update(_ u: TuningUpdate) {
        if first == nil { first = u.step - 1 }
        switch mode {
        case .plain:
            fputs(u.line(of: total) + "\n", stderr)
        case .bar:
            let done = u.step - (first ?? 0)
            let eta = Date().timeIntervalSince(start) / Double(max(1, done)) * Double(total - u.step)
            let reward = u.metrics["reward"].map { String(format: "  reward %.4f", $0) } ?? ""
            let line = String(format: "update %d/%d%@  %.1f s/it  cpu %.1f s  peak RSS %.0f MB  ETA %.0fs", u.step,
                              total, reward, u.seconds, u.cpuSeconds, u.peakRSS, eta)
            fputs("\r" + line + String(repeating: " ", count: max(0, lastLength - line.count)), stderr)
            lastLength = line.count
        default:
            return
        }
        fflush(stderr)
    }

    /// A line of its own (checkpoints, the start): printed in plain and bar modes.
    func note(_ text: String) {
        guard mode == .bar || mode == .plain else { return }
        if lastLength > 0 { fputs("\n", stderr); lastLength = 0 }
        fputs(text + "\n", stderr)
    }

    /// Ends the bar's line.
    func finish() {
        guard lastLength > 0 else { return }
        fputs("\n", stderr)
        lastLength = 0
    }
}
