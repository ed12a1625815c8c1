import Foundation
import XCTest
import Tweedie
import TweedieTestSupport

/// The TWEEDIE_UPDATE_GOLDENS=1 mode of the golden tests (scripts/update-goldens). It re-runs every golden of the
/// manifest first and prints how far each moved; then it writes only when no existing golden moved beyond the
/// tolerances of `GoldenDiff`, or when TWEEDIE_ACCEPT_GOLDENS=1 (`scripts/update-goldens --accept`) says the moves
/// are intended. Under CI it refuses outright, so an automated run can never bless a regression.
enum GoldenUpdate {
    /// Threads and OpenBLAS kernel of this process, for the reports.
    static var machine: String { "\(Runtime.threads) thread(s), OpenBLAS \(SystemInfo.openBLASCore)" }

    static var accepting: Bool { ProcessInfo.processInfo.environment["TWEEDIE_ACCEPT_GOLDENS"] == "1" }

    /// What one golden's re-run did against its stored files.
    enum Move {
        case new, unchanged, within(GoldenDiff), beyond(String)

        var blocks: Bool { if case .beyond = self { return true } else { return false } }
    }

    /// Compares a fresh run with the stored golden.
    static func move(_ run: GoldenOutput, from stored: GoldenOutput?,
                     limits: GoldenDiff.Limits = GoldenDiff.Limits()) -> Move {
        guard let stored else { return .new }
        guard let d = try? GoldenDiff(run, against: stored, limits: limits) else {
            return .beyond("image count or size changed")
        }
        if d.identical { return .unchanged }
        return d.passes ? .within(d) : .beyond(d.summary)
    }

    /// Whether an update may write: only when no golden moved beyond tolerance, unless the moves are accepted.
    static func mayWrite(_ moves: [Move], accepting: Bool) -> Bool { accepting || !moves.contains { $0.blocks } }

    /// Re-runs `goldens`, prints every move, and rewrites them unless a move beyond tolerance was not accepted
    /// (then it writes nothing and fails the test, so scripts/update-goldens exits non-zero).
    static func update(_ goldens: [GoldenCase], file: StaticString = #filePath, line: UInt = #line) throws {
        if TestEnvironment.isCI {
            XCTFail("TWEEDIE_UPDATE_GOLDENS is refused when CI is set: goldens are updated by a person, on purpose",
                    file: file, line: line)
            return
        }
        var runs: [(GoldenCase, GoldenOutput, Move)] = []
        for g in goldens {
            guard g.runnable else {
                print("golden \(g.id): not run (this CPU has no oneDNN BF16 convolution); kept as stored")
                continue
            }
            let run = try GoldenRun.produce(g)
            let m = move(run, from: try GoldenStore.read(g), limits: GoldenDiff.limits(g))
            runs.append((g, run, m))
            switch m {
            case .new: print("golden \(g.id): new")
            case .unchanged: print("golden \(g.id): unchanged")
            case .within(let d): print("golden \(g.id): moved within tolerance: \(d.summary)")
            case .beyond(let why): print("golden \(g.id): MOVED BEYOND TOLERANCE: \(why)")
            }
        }
        let count = { (p: (Move) -> Bool) in runs.filter { p($0.2) }.count }
        let beyond = count { $0.blocks }
        print("goldens at \(machine): \(goldens.count) in all, \(count { if case .unchanged = $0 { true } else { false } }) "
              + "unchanged, \(count { if case .within = $0 { true } else { false } }) moved within tolerance, "
              + "\(beyond) moved beyond tolerance, \(count { if case .new = $0 { true } else { false } }) new")
        if !mayWrite(runs.map(\.2), accepting: accepting) {
            XCTFail("\(beyond) golden(s) moved beyond tolerance; nothing was written. If the change is intended, "
                    + "run scripts/update-goldens --accept", file: file, line: line)
            return
        }
        for (g, run, m) in runs {
            if case .unchanged = m { continue }
            try GoldenStore.write(run, as: g)
        }
        print("goldens written" + (beyond > 0 ? " (\(beyond) beyond tolerance, accepted)" : ""))
    }

    /// Deletes files under Goldens/ that no golden of the manifest owns.
    static func removeStrays(_ goldens: [GoldenCase]) throws {
        for stray in try GoldenStore.strays(goldens) {
            try FileManager.default.removeItem(at: GoldenStore.url(stray))
            print("removed \(stray): no golden in the manifest owns it")
        }
    }
}
