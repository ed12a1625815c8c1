import Foundation
import Synchronization
import Tweedie
#if canImport(Glibc)
import Glibc
#endif

/// Set by the SIGINT/SIGTERM handler to the signal's number; the sampler's step callback reads it and stops after
/// the current step.
private let interruptSignal = Atomic<Int32>(0)

/// Ctrl-C (SIGINT) and SIGTERM handling for a run (generate, reconstruct, train, train-classifier): the first
/// signal asks the run to stop after the current step (generate and reconstruct write nothing, the trainers
/// checkpoint that step; exit code 128 + the signal: 130 for SIGINT, 143 for SIGTERM); the handler then restores
/// the default action, so a second signal kills at once.
enum GenerateInterrupt {
    /// Exit code of a run interrupted by SIGINT (128 + SIGINT, the shell convention).
    static let exitCode: Int32 = 130

    /// Installs the handler for SIGINT and SIGTERM.
    static func install() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig) { s in
                interruptSignal.store(s, ordering: .relaxed)
                signal(s, SIG_DFL)
            }
        }
    }

    /// Whether a signal arrived since `install()`.
    static var requested: Bool { interruptSignal.load(ordering: .relaxed) != 0 }

    /// The exit code for the signal that arrived (130 when none did).
    static var signalExitCode: Int32 {
        let s = interruptSignal.load(ordering: .relaxed)
        return s == 0 ? exitCode : 128 + s
    }
}

/// Step progress on stderr. `bar` redraws one line in place ("step 3/20  0.12 s/it  ETA 2.0s"), `plain` writes
/// one line per step for logs, `none` is silent; `auto` is `bar` when stderr is a terminal, else `none`.
final class GenerateProgress {
    /// `--progress` values.
    enum Mode: String, CaseIterable {
        case auto, bar, plain, none
    }

    private let mode: Mode
    private var label: String
    private var start: Date?
    private var chunkStart: Date?
    private var lastLength = 0

    /// Progress in `mode` (auto already resolved or not) for a run described by `label` (e.g. "4 images").
    init(mode: Mode, label: String) {
        self.mode = mode == .auto ? (GenerateProgress.stderrIsTerminal ? .bar : .none) : mode
        self.label = label
    }

    /// A redrawn line when `enabled`, else silent.
    convenience init(enabled: Bool, label: String) { self.init(mode: enabled ? .bar : .none, label: label) }

    /// Whether progress should be drawn when not forced: stderr is a terminal.
    static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) != 0 }

    /// Marks the start of sampling (model loading is not timed).
    func begin() { start = Date() }

    /// Marks the start of a chunk of a chunked run, now labelled `label`.
    func beginChunk(label: String) {
        self.label = label
        chunkStart = Date()
    }

    /// Seconds since `begin()`.
    var elapsed: Double { start.map { Date().timeIntervalSince($0) } ?? 0 }

    /// Reports step `step` (0-based) of `total`.
    func update(step: Int, total: Int) {
        guard mode == .bar || mode == .plain else { return }
        let done = step + 1
        let since = (chunkStart ?? start).map { Date().timeIntervalSince($0) } ?? 0
        let perStep = since / Double(done)
        let eta = perStep * Double(total - done)
        let rate = perStep >= 1 || perStep == 0 ? String(format: "%.2f s/it", perStep) : String(format: "%.2f it/s", 1 / perStep)
        let line = String(format: "%@: step %d/%d  %@  ETA %.1fs", label, done, total, rate, eta)
        if mode == .plain {
            fputs(line + "\n", stderr)
        } else {
            let pad = String(repeating: " ", count: max(0, lastLength - line.count))
            lastLength = line.count
            fputs("\r" + line + pad, stderr)
        }
        fflush(stderr)
    }

    /// Ends the progress line.
    func finish() {
        guard mode == .bar, lastLength > 0 else { return }
        fputs("\n", stderr)
        lastLength = 0
    }
}
