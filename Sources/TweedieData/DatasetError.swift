import TweedieCore

/// Errors for offline data sets that come from Debian packages: the message names the apt package to install.
public enum DatasetError {
    /// A data file that is absent, naming the path and the package that provides it.
    public static func missing(_ path: String, package: String) -> TweedieError {
        .badInput("\(path): not found; install it with `apt-get install \(package)`")
    }
}
