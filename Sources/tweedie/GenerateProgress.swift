import Foundation
import Synchronization
import Tweedie
#if canImport(Glibc)
import Glibc
#endif

/// Set by the SIGINT handler; the sampler's step callback reads it and stops after the current step.
private let interruptRequested = Atomic<Bool>(false)

/// Ctrl-C handling for a sampling run: the first SIGINT asks the run to stop after the current step (nothing is
/// written, exit code 130); the handler then restores the default action, so a second Ctrl-C kills at once.
enum GenerateInterrupt {
    /// Exit code of an interrupted run (128 + SIGINT, the shell convention).
    static let exitCode: Int32 = 130

    /// Installs the handler.
    static func install() {
        signal(SIGINT) { _ in
            interruptRequested.store(true, ordering: .relaxed)
            signal(SIGINT, SIG_DFL)
        }
    }

    /// Whether Ctrl-C was pressed since `install()`.
    static var requested: Bool { interruptRequested.load(ordering: .relaxed) }
}

/// Step progress on stderr ("step 3/20  0.12 s/it  ETA 2.0s"), redrawn in place; shown only when enabled (stderr
/// is a terminal and --quiet is off, or forced for tests).
final class GenerateProgress {
    private let enabled: Bool
    private let label: String
    private var start: Date?
    private var lastLength = 0

    /// Progress for a run described by `label` (e.g. "4 images").
    init(enabled: Bool, label: String) {
        self.enabled = enabled
        self.label = label
    }

    /// Whether progress should be drawn when not forced: stderr is a terminal.
    static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) != 0 }

    /// Marks the start of sampling (model loading is not timed).
    func begin() { start = Date() }

    /// Seconds since `begin()`.
    var elapsed: Double { start.map { Date().timeIntervalSince($0) } ?? 0 }

    /// Redraws the line after step `step` (0-based) of `total`.
    func update(step: Int, total: Int) {
        guard enabled else { return }
        let done = step + 1
        let perStep = elapsed / Double(done)
        let eta = perStep * Double(total - done)
        let rate = perStep >= 1 || perStep == 0 ? String(format: "%.2f s/it", perStep) : String(format: "%.2f it/s", 1 / perStep)
        let line = String(format: "%@: step %d/%d  %@  ETA %.1fs", label, done, total, rate, eta)
        let pad = String(repeating: " ", count: max(0, lastLength - line.count))
        lastLength = line.count
        fputs("\r" + line + pad, stderr)
        fflush(stderr)
    }

    /// Ends the progress line.
    func finish() {
        guard enabled, lastLength > 0 else { return }
        fputs("\n", stderr)
        lastLength = 0
    }
}
