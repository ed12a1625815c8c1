import Foundation

/// Finds the bundled `assets/fashion32` model when `-m` is not given: in the working directory, then in any folder
/// above the executable (a build lives in `<repo>/.build/<triple>/release/`), so the README's command works as is.
/// The bundled judge (`assets/classifier32/shape`) is found the same way.
enum BundledModel {
    static let relativePath = "assets/fashion32"
    static let judgePath = "assets/classifier32/shape"

    static func defaultPath() -> String? { find(relativePath) }

    /// The bundled folder `relative` (holding a config.json), if found.
    static func find(_ relative: String) -> String? {
        let fm = FileManager.default
        let cwd = URL(fileURLWithPath: fm.currentDirectoryPath).appendingPathComponent(relative)
        if fm.fileExists(atPath: cwd.appendingPathComponent("config.json").path) { return cwd.path }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            let candidate = dir.appendingPathComponent(relative)
            if fm.fileExists(atPath: candidate.appendingPathComponent("config.json").path) { return candidate.path }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }
}
