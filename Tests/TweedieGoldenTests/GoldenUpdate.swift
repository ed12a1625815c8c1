import Foundation
import Tweedie

/// The TWEEDIE_UPDATE_GOLDENS=1 mode of the golden tests (scripts/update-goldens): rewrites the goldens and says,
/// per golden, whether and how far it moved.
enum GoldenUpdate {
    /// Threads and OpenBLAS kernel of this process, for the reports.
    static var machine: String { "\(Runtime.threads) thread(s), OpenBLAS \(SystemInfo.openBLASCore)" }

    /// Re-runs and rewrites `goldens`, printing one line per golden and a summary.
    static func rewrite(_ goldens: [GoldenCase]) throws {
        var unchanged = 0, within = 0, beyond = 0, new = 0
        for g in goldens {
            let before = try GoldenStore.read(g)
            let after = try GoldenRun.produce(g)
            try GoldenStore.write(after, as: g)
            guard let before else {
                new += 1
                print("golden \(g.id): new")
                continue
            }
            guard let d = try? GoldenDiff(after, against: before) else {
                beyond += 1
                print("golden \(g.id): replaced (image count or size changed)")
                continue
            }
            if d.identical {
                unchanged += 1
                print("golden \(g.id): unchanged")
            } else {
                if d.passes { within += 1 } else { beyond += 1 }
                print("golden \(g.id): moved, before vs after: \(d.summary)"
                      + (d.passes ? " (within tolerance)" : " (BEYOND TOLERANCE)"))
            }
        }
        print("goldens updated (\(goldens.first?.guidance ?? "-")) at \(machine): \(goldens.count) in all, "
              + "\(unchanged) unchanged, \(within) moved within tolerance, \(beyond) moved beyond tolerance, \(new) new")
    }

    /// Deletes files under Goldens/ that no golden of the manifest owns.
    static func removeStrays(_ goldens: [GoldenCase]) throws {
        for stray in try GoldenStore.strays(goldens) {
            try FileManager.default.removeItem(at: GoldenStore.url(stray))
            print("removed \(stray): no golden in the manifest owns it")
        }
    }
}
